package podtopologyspread

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// TestScore runs PreScore, Score and NormalizeScore over the test nodes
// (nA1, nA2 in zone a; nB1, nB2 in zone b; nX with no zone label). The
// expected raw scores are sums of count*log(domains+2) + maxSkew-1,
// rounded; the normalized ones 100*(max+min-raw)/max, truncated.
func TestScore(t *testing.T) {
	const sa = corev1.ScheduleAnyway
	rs1 := func(name string) *corev1.Pod { return makePod(name).ownedBy("apps/v1", "ReplicaSet", "rs1").obj() }
	webPods := map[string][]*corev1.Pod{"nA1": times(2, "wa", web), "nB1": {web("wb")}}

	tests := []struct {
		name     string
		args     string
		pod      *corev1.Pod
		existing map[string][]*corev1.Pod
		// feasible are the nodes passed to PreScore and scored; all when nil.
		feasible []string
		wantSkip bool
		wantRaw  map[string]int64
		want     map[string]int64
	}{
		{
			name:     "pod without constraints or controller",
			pod:      web("p"),
			existing: webPods,
			wantSkip: true,
		},
		{
			name:     "pod with DoNotSchedule constraints only",
			pod:      makePod("p", "app", "web").spread(tsc(1, zoneKey, corev1.DoNotSchedule, "app", "web")).obj(),
			existing: webPods,
			wantSkip: true,
		},
		{
			name:     "zone constraint: 2 domains weigh log(4); nodes without zone label are ignored",
			pod:      makePod("p", "app", "web").spread(tsc(1, zoneKey, sa, "app", "web")).obj(),
			existing: webPods,
			// a: 2*1.386 = 2.77; b: 1.386.
			wantRaw: map[string]int64{"nA1": 3, "nA2": 3, "nB1": 1, "nB2": 1, "nX": 0},
			want:    map[string]int64{"nA1": 33, "nA2": 33, "nB1": 100, "nB2": 100, "nX": 0},
		},
		{
			name:     "hostname constraint: 5 domains weigh log(7), counted per node",
			pod:      makePod("p", "app", "web").spread(tsc(1, hostKey, sa, "app", "web")).obj(),
			existing: webPods,
			// nA1: 2*1.946 = 3.89; nB1: 1.946.
			wantRaw: map[string]int64{"nA1": 4, "nA2": 0, "nB1": 2, "nB2": 0, "nX": 0},
			want:    map[string]int64{"nA1": 0, "nA2": 100, "nB1": 50, "nB2": 100, "nX": 100},
		},
		{
			name:     "maxSkew-1 added blunts the differences",
			pod:      makePod("p", "app", "web").spread(tsc(3, hostKey, sa, "app", "web")).obj(),
			existing: webPods,
			wantRaw:  map[string]int64{"nA1": 6, "nA2": 2, "nB1": 4, "nB2": 2, "nX": 2},
			want:     map[string]int64{"nA1": 33, "nA2": 100, "nB1": 66, "nB2": 100, "nX": 100},
		},
		{
			name:     "zone and hostname: ignored nodes are not hostname domains",
			pod:      makePod("p", "app", "web").spread(tsc(1, zoneKey, sa, "app", "web"), tsc(1, hostKey, sa, "app", "web")).obj(),
			existing: webPods,
			// zone: log(4) = 1.386; hostname: 4 domains (nX is ignored),
			// log(6) = 1.792. nA1: 2*1.792 + 2*1.386 = 6.36.
			wantRaw: map[string]int64{"nA1": 6, "nA2": 3, "nB1": 3, "nB2": 1, "nX": 0},
			want:    map[string]int64{"nA1": 16, "nA2": 66, "nB1": 66, "nB2": 100, "nX": 0},
		},
		{
			name:     "pods on infeasible nodes count in the feasible nodes' domains",
			pod:      makePod("p", "app", "web").spread(tsc(1, zoneKey, sa, "app", "web")).obj(),
			existing: webPods,
			feasible: []string{"nA2", "nB2"},
			wantRaw:  map[string]int64{"nA2": 3, "nB2": 1},
			want:     map[string]int64{"nA2": 33, "nB2": 100},
		},
		{
			name:     "only the feasible nodes' domains count: one domain weighs log(3)",
			pod:      makePod("p", "app", "web").spread(tsc(1, zoneKey, sa, "app", "web")).obj(),
			existing: webPods,
			feasible: []string{"nA1", "nA2"},
			// 2*1.0986 = 2.2.
			wantRaw: map[string]int64{"nA1": 2, "nA2": 2},
			want:    map[string]int64{"nA1": 100, "nA2": 100},
		},
		{
			name:     "no matching pods anywhere: every node is as good",
			pod:      makePod("p", "app", "db").spread(tsc(1, zoneKey, sa, "app", "db")).obj(),
			existing: webPods,
			wantRaw:  map[string]int64{"nA1": 0, "nA2": 0, "nB1": 0, "nB2": 0, "nX": 0},
			want:     map[string]int64{"nA1": 100, "nA2": 100, "nB1": 100, "nB2": 100, "nX": 0},
		},
		{
			name:     "nodeAffinityPolicy Honor: nodes the pod may not go to do not count",
			pod:      makePod("p", "app", "web").nodeSelector(zoneKey, "a").spread(tsc(1, zoneKey, sa, "app", "web")).obj(),
			existing: webPods,
			feasible: []string{"nA1", "nA2", "nB1", "nB2"},
			wantRaw:  map[string]int64{"nA1": 3, "nA2": 3, "nB1": 0, "nB2": 0},
			want:     map[string]int64{"nA1": 0, "nA2": 0, "nB1": 100, "nB2": 100},
		},
		{
			name: "system defaults spread a controller's pods over hostname and zone",
			pod:  makePod("p").ownedBy("apps/v1", "ReplicaSet", "rs1").obj(),
			existing: map[string][]*corev1.Pod{
				"nA1": times(2, "ra", rs1),
				"nB1": {rs1("rb"), makePod("not-mine", "app", "web").obj()},
			},
			// hostname: 5 domains, log(7) = 1.946, +2; zone: a, b and
			// "" (nX), log(5) = 1.609, +4. nX is not ignored (system
			// defaults) but has no zone score.
			wantRaw: map[string]int64{"nA1": 13, "nA2": 9, "nB1": 10, "nB2": 8, "nX": 2},
			want:    map[string]int64{"nA1": 15, "nA2": 46, "nB1": 38, "nB2": 53, "nX": 100},
		},
		{
			name: "listed defaults require every topology label",
			args: `{"defaultingType": "List", "defaultConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}]}`,
			pod:  makePod("p").ownedBy("apps/v1", "ReplicaSet", "rs1").obj(),
			existing: map[string][]*corev1.Pod{
				"nA1": times(2, "ra", rs1),
				"nB1": {rs1("rb")},
			},
			wantRaw: map[string]int64{"nA1": 3, "nA2": 3, "nB1": 1, "nB2": 1, "nX": 0},
			want:    map[string]int64{"nA1": 33, "nA2": 33, "nB1": 100, "nB2": 100, "nX": 0},
		},
		{
			name:     "system defaults need a controller",
			pod:      makePod("p", "app", "web").obj(),
			existing: webPods,
			wantSkip: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			nodes := cluster(tc.existing, nil)
			feasible := []*framework.NodeInfo(nodes)
			if tc.feasible != nil {
				feasible = nil
				for _, name := range tc.feasible {
					ni, err := nodes.Get(name)
					if err != nil {
						t.Fatal(err)
					}
					feasible = append(feasible, ni)
				}
			}
			pl := newPlugin(t, tc.args, &fakeHandle{lister: nodes})
			cs := framework.NewCycleState()
			st := pl.PreScore(ctx, cs, tc.pod, feasible)
			if tc.wantSkip {
				if !st.IsSkip() {
					t.Fatalf("PreScore = %v, want Skip", st)
				}
				return
			}
			if !st.IsSuccess() {
				t.Fatalf("PreScore = %v", st)
			}
			raw := map[string]int64{}
			var scores []framework.NodeScore
			for _, ni := range feasible {
				s, st := pl.Score(ctx, cs, tc.pod, ni)
				if !st.IsSuccess() {
					t.Fatalf("Score(%s) = %v", ni.Name(), st)
				}
				raw[ni.Name()] = s
				scores = append(scores, framework.NodeScore{Name: ni.Name(), Score: s})
			}
			if !reflect.DeepEqual(raw, tc.wantRaw) {
				t.Errorf("raw scores = %v, want %v", raw, tc.wantRaw)
			}
			if st := pl.NormalizeScore(ctx, cs, tc.pod, scores); !st.IsSuccess() {
				t.Fatalf("NormalizeScore = %v", st)
			}
			got := map[string]int64{}
			for _, s := range scores {
				got[s.Name] = s.Score
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("normalized scores = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPreScoreWithoutLister(t *testing.T) {
	pl := newPlugin(t, "", nil)
	pod := makePod("p", "app", "web").spread(tsc(1, zoneKey, corev1.ScheduleAnyway, "app", "web")).obj()
	if st := pl.PreScore(context.Background(), framework.NewCycleState(), pod, nil); st.Code() != framework.Error {
		t.Errorf("PreScore without a Handle = %v, want Error", st)
	}
}
