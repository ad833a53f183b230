package interpodaffinity

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// TestScore runs PreScore, Score and NormalizeScore over the test nodes
// (n1, n2 in z1; n3 in z2; n4 without zone or region).
func TestScore(t *testing.T) {
	tests := []struct {
		name     string
		args     string
		pod      *corev1.Pod
		existing map[string][]*corev1.Pod
		// wantSkip: PreScore returns Skip (no Score for this pod).
		wantSkip bool
		wantRaw  map[string]int64
		want     map[string]int64
	}{
		{
			name:     "no affinity anywhere",
			pod:      makePod("p", "app", "web").obj(),
			existing: map[string][]*corev1.Pod{"n1": {makePod("db", "app", "db").obj()}},
			wantSkip: true,
		},
		{
			name:     "preferred affinity to a zone",
			pod:      makePod("p").preferredAffinity(5, term(zoneKey, "app", "db")).obj(),
			existing: map[string][]*corev1.Pod{"n1": {makePod("db", "app", "db").obj()}},
			wantRaw:  map[string]int64{"n1": 5, "n2": 5, "n3": 0, "n4": 0},
			want:     map[string]int64{"n1": 100, "n2": 100, "n3": 0, "n4": 0},
		},
		{
			name:     "preferred anti-affinity to a zone",
			pod:      makePod("p").preferredAntiAffinity(4, term(zoneKey, "app", "db")).obj(),
			existing: map[string][]*corev1.Pod{"n1": {makePod("db", "app", "db").obj()}},
			wantRaw:  map[string]int64{"n1": -4, "n2": -4, "n3": 0, "n4": 0},
			want:     map[string]int64{"n1": 0, "n2": 0, "n3": 100, "n4": 100},
		},
		{
			name: "affinity and anti-affinity over several topologies",
			pod: makePod("p").
				preferredAffinity(8, term(zoneKey, "app", "db")).
				preferredAffinity(3, term(hostKey, "app", "cache")).
				preferredAntiAffinity(2, term(hostKey, "app", "web")).
				obj(),
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("db", "app", "db").obj()},
				"n2": {makePod("cache", "app", "cache").obj()},
				"n3": {makePod("web", "app", "web").obj()},
			},
			wantRaw: map[string]int64{"n1": 8, "n2": 11, "n3": -2, "n4": 0},
			// (x+2)/13 of 100, truncated.
			want: map[string]int64{"n1": 76, "n2": 100, "n3": 0, "n4": 15},
		},
		{
			name:     "weights add up per matching pod",
			pod:      makePod("p").preferredAffinity(10, term(regionKey, "app", "db")).obj(),
			existing: map[string][]*corev1.Pod{"n1": {makePod("db1", "app", "db").obj()}, "n3": {makePod("db2", "app", "db").obj()}},
			wantRaw:  map[string]int64{"n1": 20, "n2": 20, "n3": 20, "n4": 0},
			want:     map[string]int64{"n1": 100, "n2": 100, "n3": 100, "n4": 0},
		},
		{
			name: "preferred terms only select their namespaces",
			pod:  makePod("p").preferredAffinity(5, term(zoneKey, "app", "db")).obj(),
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("db", "app", "db").namespace("other").obj()},
				"n3": {makePod("db", "app", "db").obj()},
			},
			wantRaw: map[string]int64{"n1": 0, "n2": 0, "n3": 5, "n4": 0},
			want:    map[string]int64{"n1": 0, "n2": 0, "n3": 100, "n4": 0},
		},
		{
			name: "existing pod's preferred affinity to the incoming pod (symmetry)",
			pod:  makePod("p", "app", "web").obj(),
			existing: map[string][]*corev1.Pod{
				"n3": {makePod("friend").preferredAffinity(10, term(zoneKey, "app", "web")).obj()},
			},
			wantRaw: map[string]int64{"n1": 0, "n2": 0, "n3": 10, "n4": 0},
			want:    map[string]int64{"n1": 0, "n2": 0, "n3": 100, "n4": 0},
		},
		{
			name: "existing pod's preferred anti-affinity to the incoming pod",
			pod:  makePod("p", "app", "web").obj(),
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("foe").preferredAntiAffinity(10, term(hostKey, "app", "web")).obj()},
			},
			wantRaw: map[string]int64{"n1": -10, "n2": 0, "n3": 0, "n4": 0},
			want:    map[string]int64{"n1": 0, "n2": 100, "n3": 100, "n4": 100},
		},
		{
			name: "existing pod's required affinity counts with hardPodAffinityWeight 1",
			pod:  makePod("p", "app", "web").obj(),
			existing: map[string][]*corev1.Pod{
				"n3": {makePod("friend").requiredAffinity(term(zoneKey, "app", "web")).obj()},
			},
			wantRaw: map[string]int64{"n1": 0, "n2": 0, "n3": 1, "n4": 0},
			want:    map[string]int64{"n1": 0, "n2": 0, "n3": 100, "n4": 0},
		},
		{
			name: "hardPodAffinityWeight from the arguments",
			args: `{"hardPodAffinityWeight": 6}`,
			pod:  makePod("p", "app", "web").preferredAffinity(3, term(hostKey, "app", "db")).obj(),
			existing: map[string][]*corev1.Pod{
				"n2": {makePod("db", "app", "db").obj()},
				"n3": {makePod("friend").requiredAffinity(term(zoneKey, "app", "web")).obj()},
			},
			wantRaw: map[string]int64{"n1": 0, "n2": 3, "n3": 6, "n4": 0},
			want:    map[string]int64{"n1": 0, "n2": 50, "n3": 100, "n4": 0},
		},
		{
			name: "hardPodAffinityWeight 0 ignores existing pods' required affinity",
			args: `{"hardPodAffinityWeight": 0}`,
			pod:  makePod("p", "app", "web").obj(),
			existing: map[string][]*corev1.Pod{
				"n3": {makePod("friend").requiredAffinity(term(zoneKey, "app", "web")).obj()},
			},
			wantSkip: true,
		},
		{
			name: "existing pods' preferences ignored for a pod without its own",
			args: `{"ignorePreferredTermsOfExistingPods": true}`,
			pod:  makePod("p", "app", "web").obj(),
			existing: map[string][]*corev1.Pod{
				"n3": {makePod("friend").preferredAffinity(10, term(zoneKey, "app", "web")).obj()},
			},
			wantSkip: true,
		},
		{
			name: "existing pods' preferences still count for a pod with its own",
			args: `{"ignorePreferredTermsOfExistingPods": true}`,
			pod:  makePod("p", "app", "web").preferredAffinity(1, term(hostKey, "app", "db")).obj(),
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("db", "app", "db").obj()},
				"n3": {makePod("friend").preferredAffinity(10, term(zoneKey, "app", "web")).obj()},
			},
			wantRaw: map[string]int64{"n1": 1, "n2": 0, "n3": 10, "n4": 0},
			want:    map[string]int64{"n1": 10, "n2": 0, "n3": 100, "n4": 0},
		},
		{
			name: "all nodes equal",
			pod:  makePod("p").preferredAffinity(5, term(regionKey, "app", "db")).obj(),
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("db", "app", "db").obj()},
			},
			wantRaw: map[string]int64{"n1": 5, "n2": 5, "n3": 5, "n4": 0},
			want:    map[string]int64{"n1": 100, "n2": 100, "n3": 100, "n4": 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			nodes := cluster(tc.existing)
			pl := newPlugin(t, tc.args, &fakeHandle{lister: nodes})
			cs := framework.NewCycleState()
			st := pl.PreScore(ctx, cs, tc.pod, nodes)
			if tc.wantSkip {
				if !st.IsSkip() {
					t.Fatalf("PreScore = %v, want Skip", st)
				}
				return
			}
			if !st.IsSuccess() {
				t.Fatalf("PreScore = %v", st)
			}
			var scores []framework.NodeScore
			raw := map[string]int64{}
			for _, ni := range nodes {
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

// TestScoreNamespaceSelector checks preferred terms with a namespaceSelector,
// with and without a namespace lister.
func TestScoreNamespaceSelector(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
	tm := term(zoneKey, "app", "db")
	tm.NamespaceSelector = sel
	pod := makePod("p").preferredAffinity(5, tm).obj()
	existing := map[string][]*corev1.Pod{"n3": {makePod("db", "app", "db").namespace("other").obj()}}

	t.Run("without namespace labels", func(t *testing.T) {
		nodes := cluster(existing)
		pl := newPlugin(t, "", &fakeHandle{lister: nodes})
		if st := pl.PreScore(context.Background(), framework.NewCycleState(), pod, nodes); !st.IsSkip() {
			t.Errorf("PreScore = %v, want Skip (the selector matches no namespace)", st)
		}
	})
	t.Run("with a namespace lister", func(t *testing.T) {
		nodes := cluster(existing)
		pl := newPlugin(t, "", &nsHandle{fakeHandle: fakeHandle{lister: nodes}, namespaces: fakeNamespaces{namespace("other", "team", "a")}})
		cs := framework.NewCycleState()
		if st := pl.PreScore(context.Background(), cs, pod, nodes); !st.IsSuccess() {
			t.Fatalf("PreScore = %v", st)
		}
		n3, _ := nodes.Get("n3")
		if s, _ := pl.Score(context.Background(), cs, pod, n3); s != 5 {
			t.Errorf("Score(n3) = %d, want 5", s)
		}
	})
}

func TestPreScoreWithoutLister(t *testing.T) {
	pl := newPlugin(t, "", nil)
	pod := makePod("p").preferredAffinity(5, term(zoneKey, "app", "db")).obj()
	if st := pl.PreScore(context.Background(), framework.NewCycleState(), pod, nil); st.Code() != framework.Error {
		t.Errorf("PreScore without a Handle = %v, want Error", st)
	}
}
