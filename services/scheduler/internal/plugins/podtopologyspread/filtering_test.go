package podtopologyspread

import (
	"context"
	"math/rand"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

var (
	errSkew  = framework.NewStatus(framework.Unschedulable, ErrReasonConstraintsNotMatch)
	errLabel = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeLabelNotMatch)
)

func web(name string) *corev1.Pod { return makePod(name, "app", "web").obj() }

func TestFilter(t *testing.T) {
	const dns = corev1.DoNotSchedule
	zoneWeb := tsc(1, zoneKey, dns, "app", "web")
	hostWeb := tsc(1, hostKey, dns, "app", "web")
	taintB := func(n *corev1.Node) {
		if n.Labels[zoneKey] == "b" {
			n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
		}
	}
	listArgs := `{"defaultingType": "List", "defaultConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule"}]}`

	tests := []struct {
		name          string
		args          string
		pod           *corev1.Pod
		existing      map[string][]*corev1.Pod
		editNode      func(*corev1.Node)
		wantPreFilter framework.Code
		// want holds the rejected nodes; the others must pass.
		want map[string]*framework.Status
	}{
		{
			name:          "pod without constraints",
			pod:           web("p"),
			existing:      map[string][]*corev1.Pod{"nA1": {web("w")}},
			wantPreFilter: framework.Skip,
		},
		{
			name: "zone skew: the crowded zone is rejected, nodes without zone label are unresolvable",
			pod:  makePod("p", "app", "web").spread(zoneWeb).obj(),
			existing: map[string][]*corev1.Pod{
				"nA1": times(2, "wa", web),
				"nB1": {web("wb")},
			},
			want: map[string]*framework.Status{"nA1": errSkew, "nA2": errSkew, "nX": errLabel},
		},
		{
			name:     "hostname skew counts every node with a hostname label",
			pod:      makePod("p", "app", "web").spread(hostWeb).obj(),
			existing: map[string][]*corev1.Pod{"nA1": {web("w")}},
			want:     map[string]*framework.Status{"nA1": errSkew},
		},
		{
			name:     "maxSkew allows that much imbalance",
			pod:      makePod("p", "app", "web").spread(tsc(2, hostKey, dns, "app", "web")).obj(),
			existing: map[string][]*corev1.Pod{"nA1": {web("w")}, "nA2": times(2, "w2", web)},
			want:     map[string]*framework.Status{"nA2": errSkew},
		},
		{
			name: "a pod its own selector does not select adds nothing",
			pod:  makePod("p", "app", "db").spread(zoneWeb).obj(),
			existing: map[string][]*corev1.Pod{
				"nA1": times(2, "wa", web),
				"nB1": {web("wb")},
			},
			want: map[string]*framework.Status{"nX": errLabel},
		},
		{
			name: "pods of other namespaces and terminating pods do not count",
			pod:  makePod("p", "app", "web").spread(hostWeb).obj(),
			existing: map[string][]*corev1.Pod{
				"nA1": times(3, "other", func(n string) *corev1.Pod { return makePod(n, "app", "web").namespace("other").obj() }),
				"nA2": times(3, "gone", func(n string) *corev1.Pod { return makePod(n, "app", "web").terminating().obj() }),
				"nB1": {web("w")},
			},
			want: map[string]*framework.Status{"nB1": errSkew},
		},
		{
			name: "fewer domains than minDomains: the global minimum is 0",
			pod:  makePod("p", "app", "web").spread(func() corev1.TopologySpreadConstraint { c := zoneWeb; c.MinDomains = ptr[int32](3); return c }()).obj(),
			existing: map[string][]*corev1.Pod{
				"nA1": {web("wa")},
				"nB1": {web("wb")},
			},
			want: map[string]*framework.Status{"nA1": errSkew, "nA2": errSkew, "nB1": errSkew, "nB2": errSkew, "nX": errLabel},
		},
		{
			name: "enough domains for minDomains",
			pod:  makePod("p", "app", "web").spread(func() corev1.TopologySpreadConstraint { c := zoneWeb; c.MinDomains = ptr[int32](2); return c }()).obj(),
			existing: map[string][]*corev1.Pod{
				"nA1": {web("wa")},
				"nB1": {web("wb")},
			},
			want: map[string]*framework.Status{"nX": errLabel},
		},
		{
			name:     "nodeAffinityPolicy Honor: only the nodes the pod's nodeSelector accepts count",
			pod:      makePod("p", "app", "web").nodeSelector(zoneKey, "a").spread(zoneWeb).obj(),
			existing: map[string][]*corev1.Pod{"nA1": {web("wa")}},
			want:     map[string]*framework.Status{"nX": errLabel},
		},
		{
			name: "nodeAffinityPolicy Honor with required node affinity",
			pod: makePod("p", "app", "web").requiredNodeAffinity(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: zoneKey, Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}},
			}}).spread(zoneWeb).obj(),
			existing: map[string][]*corev1.Pod{"nA1": {web("wa")}},
			want:     map[string]*framework.Status{"nX": errLabel},
		},
		{
			name: "nodeAffinityPolicy Ignore: every node counts",
			pod: makePod("p", "app", "web").nodeSelector(zoneKey, "a").spread(func() corev1.TopologySpreadConstraint {
				c := zoneWeb
				c.NodeAffinityPolicy = ptr(corev1.NodeInclusionPolicyIgnore)
				return c
			}()).obj(),
			existing: map[string][]*corev1.Pod{"nA1": {web("wa")}},
			want:     map[string]*framework.Status{"nA1": errSkew, "nA2": errSkew, "nX": errLabel},
		},
		{
			name:     "nodeTaintsPolicy Ignore (default): tainted nodes count",
			pod:      makePod("p", "app", "web").spread(zoneWeb).obj(),
			existing: map[string][]*corev1.Pod{"nA1": {web("wa")}},
			editNode: taintB,
			want:     map[string]*framework.Status{"nA1": errSkew, "nA2": errSkew, "nX": errLabel},
		},
		{
			name: "nodeTaintsPolicy Honor: untolerated tainted nodes do not count",
			pod: makePod("p", "app", "web").spread(func() corev1.TopologySpreadConstraint {
				c := zoneWeb
				c.NodeTaintsPolicy = ptr(corev1.NodeInclusionPolicyHonor)
				return c
			}()).obj(),
			existing: map[string][]*corev1.Pod{"nA1": {web("wa")}},
			editNode: taintB,
			want:     map[string]*framework.Status{"nX": errLabel},
		},
		{
			name: "nodeTaintsPolicy Honor: tolerated tainted nodes count",
			pod: makePod("p", "app", "web").tolerate(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpExists}).spread(func() corev1.TopologySpreadConstraint {
				c := zoneWeb
				c.NodeTaintsPolicy = ptr(corev1.NodeInclusionPolicyHonor)
				return c
			}()).obj(),
			existing: map[string][]*corev1.Pod{"nA1": {web("wa")}},
			editNode: taintB,
			want:     map[string]*framework.Status{"nA1": errSkew, "nA2": errSkew, "nX": errLabel},
		},
		{
			name: "matchLabelKeys counts only the pods with the pod's values",
			pod: makePod("p", "app", "web", "version", "v2").spread(func() corev1.TopologySpreadConstraint {
				c := zoneWeb
				c.MatchLabelKeys = []string{"version"}
				return c
			}()).obj(),
			existing: map[string][]*corev1.Pod{
				"nA1": times(2, "v1", func(n string) *corev1.Pod { return makePod(n, "app", "web", "version", "v1").obj() }),
				"nB1": {makePod("v2", "app", "web", "version", "v2").obj()},
			},
			want: map[string]*framework.Status{"nB1": errSkew, "nB2": errSkew, "nX": errLabel},
		},
		{
			name: "all constraints apply; a node must have every topology label to count",
			pod:  makePod("p", "app", "web").spread(zoneWeb, hostWeb).obj(),
			existing: map[string][]*corev1.Pod{
				"nA1": {web("wa")},
				"nB1": {web("wb")},
				"nX":  times(5, "wx", web),
			},
			want: map[string]*framework.Status{"nA1": errSkew, "nB1": errSkew, "nX": errLabel},
		},
		{
			name:          "ScheduleAnyway constraints are not filtered on",
			pod:           makePod("p", "app", "web").spread(tsc(1, zoneKey, corev1.ScheduleAnyway, "app", "web")).obj(),
			existing:      map[string][]*corev1.Pod{"nA1": times(3, "w", web)},
			wantPreFilter: framework.Skip,
		},
		{
			name:          "system default constraints are ScheduleAnyway",
			pod:           makePod("p", "app", "web").ownedBy("apps/v1", "ReplicaSet", "rs1").obj(),
			existing:      map[string][]*corev1.Pod{"nA1": times(3, "w", func(n string) *corev1.Pod { return makePod(n).ownedBy("apps/v1", "ReplicaSet", "rs1").obj() })},
			wantPreFilter: framework.Skip,
		},
		{
			name: "listed default constraints count the pods of the same controller",
			args: listArgs,
			pod:  makePod("p", "app", "web").ownedBy("apps/v1", "ReplicaSet", "rs1").obj(),
			existing: map[string][]*corev1.Pod{
				"nA1": {makePod("mine").ownedBy("apps/v1", "ReplicaSet", "rs1").obj()},
				"nA2": times(2, "theirs", func(n string) *corev1.Pod {
					return makePod(n, "app", "web").ownedBy("apps/v1", "ReplicaSet", "rs2").obj()
				}),
				"nB1": {makePod("elsewhere").namespace("other").ownedBy("apps/v1", "ReplicaSet", "rs1").obj()},
			},
			want: map[string]*framework.Status{"nA1": errSkew},
		},
		{
			name:          "no default constraints for a pod without a controller",
			args:          listArgs,
			pod:           makePod("p", "app", "web").obj(),
			wantPreFilter: framework.Skip,
		},
		{
			name:          "no default constraints for a Job's pod",
			args:          listArgs,
			pod:           makePod("p").ownedBy("batch/v1", "Job", "job1").obj(),
			wantPreFilter: framework.Skip,
		},
		{
			name: "default constraints for a StatefulSet's pod",
			args: listArgs,
			pod:  makePod("p").ownedBy("apps/v1", "StatefulSet", "ss1").obj(),
			existing: map[string][]*corev1.Pod{
				"nB2": {makePod("mine").ownedBy("apps/v1", "StatefulSet", "ss1").obj()},
			},
			want: map[string]*framework.Status{"nB2": errSkew},
		},
		{
			name:          "a pod's own constraints replace the defaults",
			args:          listArgs,
			pod:           makePod("p").ownedBy("v1", "ReplicationController", "rc1").spread(tsc(1, zoneKey, corev1.ScheduleAnyway, "app", "web")).obj(),
			existing:      map[string][]*corev1.Pod{"nA1": {makePod("mine").ownedBy("v1", "ReplicationController", "rc1").obj()}},
			wantPreFilter: framework.Skip,
		},
		{
			name: "invalid selector",
			pod: makePod("p").spread(corev1.TopologySpreadConstraint{
				MaxSkew: 1, TopologyKey: zoneKey, WhenUnsatisfiable: dns,
				LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}},
			}).obj(),
			wantPreFilter: framework.Error,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			nodes := cluster(tc.existing, tc.editNode)
			pl := newPlugin(t, tc.args, &fakeHandle{lister: nodes})
			cs := framework.NewCycleState()
			_, st := pl.PreFilter(ctx, cs, tc.pod, nodes)
			if st.Code() != tc.wantPreFilter {
				t.Fatalf("PreFilter = %v, want code %v", st, tc.wantPreFilter)
			}
			if st.Code() == framework.Error {
				return
			}
			// The FilterHint marks exactly the nodes Filter rejects.
			var rejects []bool
			for _, h := range cs.FilterHints() {
				if h.Plugin != Name || len(h.Nodes) != len(nodes) || &h.Nodes[0] != &nodes[0] {
					t.Fatalf("hint %+v, not for the nodes given", h)
				}
				rejects = h.Rejects
			}
			for i, ni := range nodes {
				if hinted := rejects != nil && rejects[i]; hinted != pl.Filter(ctx, cs, tc.pod, ni).IsRejected() {
					t.Errorf("%s: hinted %v, Filter %v", ni.Name(), hinted, pl.Filter(ctx, cs, tc.pod, ni))
				}
			}
			for _, ni := range nodes {
				got := pl.Filter(ctx, cs, tc.pod, ni)
				want := tc.want[ni.Name()]
				if got.Code() != want.Code() || !reflect.DeepEqual(got.Reasons(), want.Reasons()) {
					t.Errorf("Filter(%s) = %v, want %v", ni.Name(), got, want)
				}
			}
		})
	}
}

// state returns the PreFilter counts in cs.
func state(t *testing.T, cs *framework.CycleState) []*domainCounts {
	t.Helper()
	s, err := getPreFilterState(cs)
	if err != nil {
		t.Fatal(err)
	}
	return s.counts
}

// TestAddRemovePod checks, for every pod of a cluster, that RemovePod on
// the full cluster's state gives the state PreFilter computes without
// the pod, that AddPod gives the full state back, and that the original
// state is untouched (Clone copies what changes).
func TestAddRemovePod(t *testing.T) {
	incoming := makePod("p", "app", "web").nodeSelector("disk", "ssd").spread(
		tsc(1, zoneKey, corev1.DoNotSchedule, "app", "web"),
		tsc(2, hostKey, corev1.DoNotSchedule, "app", "web"),
		func() corev1.TopologySpreadConstraint {
			c := tsc(1, "rack", corev1.DoNotSchedule, "app", "web")
			c.NodeAffinityPolicy = ptr(corev1.NodeInclusionPolicyIgnore)
			return c
		}(),
	).obj()
	pods := func() map[string][]*corev1.Pod {
		return map[string][]*corev1.Pod{
			"nA1": {web("w1"), web("w2"), makePod("db", "app", "db").obj()},
			"nA2": {web("w3"), makePod("other", "app", "web").namespace("other").obj()},
			"nB1": {web("w4"), makePod("gone", "app", "web").terminating().obj()},
			"nB2": {web("w5"), web("w6"), web("w7")},
			"nX":  {web("w8")},
		}
	}
	// Racks: nA1, nB1 in r1; nA2, nB2 in r2. Only nA1, nA2 and nB2 have
	// ssd disks.
	edit := func(n *corev1.Node) {
		switch n.Name {
		case "nA1", "nB1":
			n.Labels["rack"] = "r1"
		case "nA2", "nB2":
			n.Labels["rack"] = "r2"
		}
		if n.Name != "nB1" {
			n.Labels["disk"] = "ssd"
		}
	}
	ctx := context.Background()
	full := cluster(pods(), edit)
	pl := newPlugin(t, "", nil) // sequential; the other tests run in parallel
	fullState := framework.NewCycleState()
	if _, st := pl.PreFilter(ctx, fullState, incoming, full); !st.IsSuccess() {
		t.Fatalf("PreFilter = %v", st)
	}
	want := state(t, fullState)

	for nodeIdx, ni := range full {
		for _, victim := range ni.Pods {
			t.Run(ni.Name()+"/"+victim.Pod.Name, func(t *testing.T) {
				reduced := cluster(pods(), edit)
				reduced[nodeIdx].RemovePod(victim.Pod.UID)
				reducedState := framework.NewCycleState()
				if _, st := pl.PreFilter(ctx, reducedState, incoming, reduced); !st.IsSuccess() {
					t.Fatalf("PreFilter = %v", st)
				}

				cs := fullState.Clone()
				if st := pl.RemovePod(ctx, cs, incoming, victim, ni); !st.IsSuccess() {
					t.Fatalf("RemovePod = %v", st)
				}
				if got, want := state(t, cs), state(t, reducedState); !reflect.DeepEqual(got, want) {
					t.Errorf("after RemovePod: %+v, PreFilter without the pod: %+v", got, want)
				}
				if got := state(t, fullState); !reflect.DeepEqual(got, want) {
					t.Errorf("RemovePod on a clone changed the original: %+v, want %+v", got, want)
				}
				if st := pl.AddPod(ctx, cs, incoming, victim, ni); !st.IsSuccess() {
					t.Fatalf("AddPod = %v", st)
				}
				if got := state(t, cs); !reflect.DeepEqual(got, want) {
					t.Errorf("after RemovePod and AddPod: %+v, want %+v", got, want)
				}
			})
		}
	}
}

// TestAddRemovePodChangesFilter checks that preemption's what-ifs change
// Filter's answers.
func TestAddRemovePodChangesFilter(t *testing.T) {
	ctx := context.Background()
	pod := makePod("p", "app", "web").spread(tsc(1, hostKey, corev1.DoNotSchedule, "app", "web")).obj()
	nodes := cluster(map[string][]*corev1.Pod{"nA1": {web("w1")}}, nil)
	pl := newPlugin(t, "", &fakeHandle{lister: nodes})
	cs := framework.NewCycleState()
	pl.PreFilter(ctx, cs, pod, nodes)
	nA1, nA2 := nodes[0], nodes[1]

	removed := cs.Clone()
	if st := pl.RemovePod(ctx, removed, pod, nA1.Pods[0], nA1); !st.IsSuccess() {
		t.Fatalf("RemovePod = %v", st)
	}
	if st := pl.Filter(ctx, removed, pod, nA1); !st.IsSuccess() {
		t.Errorf("Filter(nA1) with its pod removed = %v, want Success", st)
	}

	added := cs.Clone()
	w := web("w2")
	w.Spec.NodeName = "nA2"
	if st := pl.AddPod(ctx, added, pod, framework.NewPodInfo(w), nA2); !st.IsSuccess() {
		t.Fatalf("AddPod = %v", st)
	}
	// Every other node now has one pod fewer than nA1 and nA2: the
	// minimum is still 0, so both are too crowded.
	if st := pl.Filter(ctx, added, pod, nA2); st.String() != errSkew.String() {
		t.Errorf("Filter(nA2) with a pod added = %v, want %v", st, errSkew)
	}
	if st := pl.Filter(ctx, cs, pod, nA2); !st.IsSuccess() {
		t.Errorf("Filter(nA2) on the original state = %v, want Success", st)
	}
}

// TestDomainCounts checks the incrementally kept minimum against a
// recomputation, over random changes.
func TestDomainCounts(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	d := newDomainCounts()
	values := []string{"a", "b", "c", "d"}
	for step := 0; step < 5000; step++ {
		v := values[rng.Intn(len(values))]
		delta := 1
		if d.pods[v] > 0 && rng.Intn(2) == 0 {
			delta = -1
		}
		if step%97 == 0 {
			delta = rng.Intn(5) // bulk counts, as PreFilter adds them
		}
		d.add(v, delta)

		wantMin, hist := 0, map[int]int{}
		first := true
		for _, n := range d.pods {
			if first || n < wantMin {
				wantMin, first = n, false
			}
			hist[n]++
		}
		if d.min != wantMin || !reflect.DeepEqual(d.hist, hist) {
			t.Fatalf("step %d: min %d hist %v, want min %d hist %v (pods %v)", step, d.min, d.hist, wantMin, hist, d.pods)
		}
	}
}

func TestFilterWithoutPreFilter(t *testing.T) {
	pl := newPlugin(t, "", nil)
	ni := cluster(nil, nil)[0]
	pod := makePod("p").obj()
	if st := pl.Filter(context.Background(), framework.NewCycleState(), pod, ni); st.Code() != framework.Error {
		t.Errorf("Filter without PreFilter state = %v, want Error", st)
	}
	cs := framework.NewCycleState()
	cs.SkipFilterPlugins = map[string]bool{Name: true}
	if st := pl.Filter(context.Background(), cs, pod, ni); !st.IsSuccess() {
		t.Errorf("Filter of a skipped plugin = %v, want Success", st)
	}
}

func TestNodeAffinity(t *testing.T) {
	node := makeNode("n1", zoneKey, "a", "gen", "5")
	req := func(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{name: "nothing required", pod: makePod("p").obj(), want: true},
		{name: "nodeSelector matches", pod: makePod("p").nodeSelector(zoneKey, "a").obj(), want: true},
		{name: "nodeSelector does not match", pod: makePod("p").nodeSelector(zoneKey, "b").obj(), want: false},
		{name: "In", pod: makePod("p").requiredNodeAffinity(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req(zoneKey, corev1.NodeSelectorOpIn, "a", "b")}}).obj(), want: true},
		{name: "NotIn", pod: makePod("p").requiredNodeAffinity(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req(zoneKey, corev1.NodeSelectorOpNotIn, "a")}}).obj(), want: false},
		{name: "Exists and Gt", pod: makePod("p").requiredNodeAffinity(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req(zoneKey, corev1.NodeSelectorOpExists), req("gen", corev1.NodeSelectorOpGt, "4")}}).obj(), want: true},
		{name: "Lt", pod: makePod("p").requiredNodeAffinity(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req("gen", corev1.NodeSelectorOpLt, "4")}}).obj(), want: false},
		{name: "DoesNotExist", pod: makePod("p").requiredNodeAffinity(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req("gpu", corev1.NodeSelectorOpDoesNotExist)}}).obj(), want: true},
		{name: "terms are ORed", pod: makePod("p").requiredNodeAffinity(
			corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req(zoneKey, corev1.NodeSelectorOpIn, "b")}},
			corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req(zoneKey, corev1.NodeSelectorOpIn, "a")}},
		).obj(), want: true},
		{name: "matchFields on the node name", pod: makePod("p").requiredNodeAffinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{req("metadata.name", corev1.NodeSelectorOpIn, "n1")}}).obj(), want: true},
		{name: "matchFields on another node's name", pod: makePod("p").requiredNodeAffinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{req("metadata.name", corev1.NodeSelectorOpIn, "n2")}}).obj(), want: false},
		{name: "an empty term selects nothing", pod: makePod("p").requiredNodeAffinity(corev1.NodeSelectorTerm{}).obj(), want: false},
		{name: "nodeSelector and affinity both apply", pod: makePod("p").nodeSelector(zoneKey, "b").requiredNodeAffinity(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req(zoneKey, corev1.NodeSelectorOpIn, "a")}}).obj(), want: false},
		{name: "an invalid term matches nothing", pod: makePod("p").requiredNodeAffinity(
			corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req("gen", corev1.NodeSelectorOpGt, "x")}},
			corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req(zoneKey, corev1.NodeSelectorOpIn, "a")}},
		).obj(), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := newNodeAffinity(tc.pod).matches(node); got != tc.want {
				t.Errorf("matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUntoleratedTaint(t *testing.T) {
	noSchedule := corev1.Taint{Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name        string
		taints      []corev1.Taint
		tolerations []corev1.Toleration
		want        bool
	}{
		{name: "no taints", want: false},
		{name: "untolerated NoSchedule", taints: []corev1.Taint{noSchedule}, want: true},
		{name: "PreferNoSchedule does not count", taints: []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectPreferNoSchedule}}, want: false},
		{name: "untolerated NoExecute", taints: []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoExecute}}, want: true},
		{name: "Equal toleration", taints: []corev1.Taint{noSchedule}, tolerations: []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpEqual, Value: "v"}}, want: false},
		{name: "toleration with another value", taints: []corev1.Taint{noSchedule}, tolerations: []corev1.Toleration{{Key: "k", Value: "w"}}, want: true},
		{name: "Exists for every key", taints: []corev1.Taint{noSchedule}, tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, want: false},
		{name: "toleration for another effect", taints: []corev1.Taint{noSchedule}, tolerations: []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hasUntoleratedTaint(tc.taints, tc.tolerations); got != tc.want {
				t.Errorf("hasUntoleratedTaint = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewArgs(t *testing.T) {
	tests := []struct {
		name       string
		args       string
		wantErr    bool
		wantSystem bool
		wantLen    int
	}{
		{name: "defaults", args: "", wantSystem: true, wantLen: 2},
		{name: "System", args: `{"defaultingType": "System"}`, wantSystem: true, wantLen: 2},
		{name: "List, empty", args: `{"defaultingType": "List"}`, wantLen: 0},
		{name: "List", args: `{"defaultingType": "List", "defaultConstraints": [{"maxSkew": 2, "topologyKey": "rack", "whenUnsatisfiable": "ScheduleAnyway"}]}`, wantLen: 1},
		{name: "System with constraints", args: `{"defaultConstraints": [{"maxSkew": 2, "topologyKey": "rack", "whenUnsatisfiable": "ScheduleAnyway"}]}`, wantErr: true},
		{name: "unknown defaulting type", args: `{"defaultingType": "Magic"}`, wantErr: true},
		{name: "zero maxSkew", args: `{"defaultingType": "List", "defaultConstraints": [{"maxSkew": 0, "topologyKey": "rack", "whenUnsatisfiable": "ScheduleAnyway"}]}`, wantErr: true},
		{name: "no topology key", args: `{"defaultingType": "List", "defaultConstraints": [{"maxSkew": 1, "whenUnsatisfiable": "ScheduleAnyway"}]}`, wantErr: true},
		{name: "bad whenUnsatisfiable", args: `{"defaultingType": "List", "defaultConstraints": [{"maxSkew": 1, "topologyKey": "rack", "whenUnsatisfiable": "Never"}]}`, wantErr: true},
		{name: "selector given", args: `{"defaultingType": "List", "defaultConstraints": [{"maxSkew": 1, "topologyKey": "rack", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {}}]}`, wantErr: true},
		{name: "duplicate", args: `{"defaultingType": "List", "defaultConstraints": [{"maxSkew": 1, "topologyKey": "rack", "whenUnsatisfiable": "ScheduleAnyway"}, {"maxSkew": 2, "topologyKey": "rack", "whenUnsatisfiable": "ScheduleAnyway"}]}`, wantErr: true},
		{name: "unknown field", args: `{"defaultConstraint": []}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var raw []byte
			if tc.args != "" {
				raw = []byte(tc.args)
			}
			p, err := New(raw, nil)
			if tc.wantErr {
				if err == nil {
					t.Fatal("New succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			pl := p.(*PodTopologySpread)
			if pl.Name() != Name || pl.systemDefaulted != tc.wantSystem || len(pl.defaultConstraints) != tc.wantLen {
				t.Errorf("got %+v", pl)
			}
		})
	}
}

func TestEventsToRegister(t *testing.T) {
	events := newPlugin(t, "", nil).EventsToRegister()
	for _, e := range []framework.ClusterEvent{
		{Resource: framework.ResourcePod, Action: framework.ActionAdd},
		{Resource: framework.ResourcePod, Action: framework.ActionDelete},
		{Resource: framework.ResourcePod, Action: framework.ActionUpdatePodLabel},
		{Resource: framework.ResourceNode, Action: framework.ActionAdd},
		{Resource: framework.ResourceNode, Action: framework.ActionDelete},
		{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeLabel},
		{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeTaint},
	} {
		matched := false
		for _, interest := range events {
			matched = matched || interest.Match(e)
		}
		if !matched {
			t.Errorf("no interest in %+v", e)
		}
	}
	for _, interest := range events {
		if interest.Match(framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeAllocatable}) {
			t.Error("unexpected interest in node allocatable updates")
		}
	}
}
