package interpodaffinity

import (
	"context"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

const (
	hostKey   = "kubernetes.io/hostname"
	zoneKey   = "topology.kubernetes.io/zone"
	regionKey = "region"
)

// testNodes are n1 and n2 in zone z1, n3 in zone z2 (all in region r1),
// and n4 with a hostname label only.
func testNodes() []*corev1.Node {
	return []*corev1.Node{
		makeNode("n1", hostKey, "n1", zoneKey, "z1", regionKey, "r1"),
		makeNode("n2", hostKey, "n2", zoneKey, "z1", regionKey, "r1"),
		makeNode("n3", hostKey, "n3", zoneKey, "z2", regionKey, "r1"),
		makeNode("n4", hostKey, "n4"),
	}
}

// cluster builds the test nodes with the given pods on them.
func cluster(pods map[string][]*corev1.Pod) fakeLister {
	var out fakeLister
	for _, n := range testNodes() {
		out = append(out, nodeInfo(n, pods[n.Name]...))
	}
	return out
}

var (
	errAffinity     = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch)
	errAntiAffinity = framework.NewStatus(framework.Unschedulable, ErrReasonAntiAffinityRulesNotMatch)
	errExisting     = framework.NewStatus(framework.Unschedulable, ErrReasonExistingAntiAffinityRulesNotMatch)
)

func TestFilter(t *testing.T) {
	teamA := &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
	withNamespaces := func(t corev1.PodAffinityTerm, ns ...string) corev1.PodAffinityTerm {
		t.Namespaces = ns
		return t
	}
	withNamespaceSelector := func(t corev1.PodAffinityTerm, sel *metav1.LabelSelector) corev1.PodAffinityTerm {
		t.NamespaceSelector = sel
		return t
	}
	namespaces := fakeNamespaces{namespace("default", "team", "a"), namespace("other", "team", "a"), namespace("third")}

	tests := []struct {
		name     string
		pod      *corev1.Pod
		existing map[string][]*corev1.Pod
		// withNamespaces gives the plugin a namespace lister.
		withNamespaces bool
		wantPreFilter  framework.Code
		// want holds the rejected nodes; the others must pass.
		want map[string]*framework.Status
	}{
		{
			name:          "pod without affinity and no existing anti-affinity: nothing to check",
			pod:           makePod("p", "app", "web").obj(),
			existing:      map[string][]*corev1.Pod{"n1": {makePod("db", "app", "db").obj()}},
			wantPreFilter: framework.Skip,
		},
		{
			name:     "required affinity satisfied within the zone of a matching pod",
			pod:      makePod("p").requiredAffinity(term(zoneKey, "app", "db")).obj(),
			existing: map[string][]*corev1.Pod{"n1": {makePod("db", "app", "db").obj()}},
			want:     map[string]*framework.Status{"n3": errAffinity, "n4": errAffinity},
		},
		{
			name:     "required affinity with In on hostname",
			pod:      makePod("p").requiredAffinity(termIn(hostKey, "app", "db", "cache")).obj(),
			existing: map[string][]*corev1.Pod{"n3": {makePod("cache", "app", "cache").obj()}},
			want:     map[string]*framework.Status{"n1": errAffinity, "n2": errAffinity, "n4": errAffinity},
		},
		{
			name: "required affinity to pods that exist nowhere",
			pod:  makePod("p", "app", "web").requiredAffinity(term(zoneKey, "app", "db")).obj(),
			want: map[string]*framework.Status{"n1": errAffinity, "n2": errAffinity, "n3": errAffinity, "n4": errAffinity},
		},
		{
			name: "first pod of a group with affinity to itself goes to any node with the topology label",
			pod:  makePod("p", "app", "db").requiredAffinity(term(zoneKey, "app", "db")).obj(),
			want: map[string]*framework.Status{"n4": errAffinity},
		},
		{
			name:     "pod with affinity to itself follows the first of its group",
			pod:      makePod("p", "app", "db").requiredAffinity(term(zoneKey, "app", "db")).obj(),
			existing: map[string][]*corev1.Pod{"n3": {makePod("db", "app", "db").obj()}},
			want:     map[string]*framework.Status{"n1": errAffinity, "n2": errAffinity, "n4": errAffinity},
		},
		{
			name: "all required affinity terms must match the same pod",
			pod:  makePod("p").requiredAffinity(term(zoneKey, "app", "db"), term(zoneKey, "tier", "backend")).obj(),
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("db", "app", "db").obj()},
				"n3": {makePod("db2", "app", "db", "tier", "backend").obj()},
			},
			want: map[string]*framework.Status{"n1": errAffinity, "n2": errAffinity, "n4": errAffinity},
		},
		{
			name:     "affinity terms over two topologies need both labels",
			pod:      makePod("p").requiredAffinity(term(zoneKey, "app", "db"), term(regionKey, "app", "db")).obj(),
			existing: map[string][]*corev1.Pod{"n2": {makePod("db", "app", "db").obj()}},
			want:     map[string]*framework.Status{"n3": errAffinity, "n4": errAffinity},
		},
		{
			name:     "required anti-affinity within a zone",
			pod:      makePod("p").requiredAntiAffinity(term(zoneKey, "app", "db")).obj(),
			existing: map[string][]*corev1.Pod{"n1": {makePod("db", "app", "db").obj()}},
			want:     map[string]*framework.Status{"n1": errAntiAffinity, "n2": errAntiAffinity},
		},
		{
			name:     "anti-affinity without namespaces only sees the pod's own namespace",
			pod:      makePod("p").requiredAntiAffinity(term(zoneKey, "app", "db")).obj(),
			existing: map[string][]*corev1.Pod{"n1": {makePod("db", "app", "db").namespace("other").obj()}},
		},
		{
			name:     "anti-affinity naming a namespace",
			pod:      makePod("p").requiredAntiAffinity(withNamespaces(term(zoneKey, "app", "db"), "other")).obj(),
			existing: map[string][]*corev1.Pod{"n1": {makePod("db", "app", "db").namespace("other").obj()}},
			want:     map[string]*framework.Status{"n1": errAntiAffinity, "n2": errAntiAffinity},
		},
		{
			name:     "empty namespaceSelector selects every namespace",
			pod:      makePod("p").requiredAntiAffinity(withNamespaceSelector(term(zoneKey, "app", "db"), &metav1.LabelSelector{})).obj(),
			existing: map[string][]*corev1.Pod{"n3": {makePod("db", "app", "db").namespace("other").obj()}},
			want:     map[string]*framework.Status{"n3": errAntiAffinity},
		},
		{
			name:     "non-empty namespaceSelector selects nothing without namespace labels",
			pod:      makePod("p").requiredAntiAffinity(withNamespaceSelector(term(zoneKey, "app", "db"), teamA)).obj(),
			existing: map[string][]*corev1.Pod{"n3": {makePod("db", "app", "db").namespace("other").obj()}},
		},
		{
			name:           "non-empty namespaceSelector with a namespace lister",
			pod:            makePod("p").requiredAntiAffinity(withNamespaceSelector(term(zoneKey, "app", "db"), teamA)).obj(),
			withNamespaces: true,
			existing: map[string][]*corev1.Pod{
				"n3": {makePod("db", "app", "db").namespace("other").obj()},
				"n1": {makePod("db", "app", "db").namespace("third").obj()},
			},
			want: map[string]*framework.Status{"n3": errAntiAffinity},
		},
		{
			name:     "a term without labelSelector selects no pod",
			pod:      makePod("p").requiredAntiAffinity(corev1.PodAffinityTerm{TopologyKey: zoneKey}).obj(),
			existing: map[string][]*corev1.Pod{"n1": {makePod("db", "app", "db").obj()}},
		},
		{
			name: "existing pod's anti-affinity on its hostname",
			pod:  makePod("p", "app", "web").obj(),
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("lonely").requiredAntiAffinity(term(hostKey, "app", "web")).obj()},
			},
			want: map[string]*framework.Status{"n1": errExisting},
		},
		{
			name: "existing pod's anti-affinity on its zone; nodes without the label are outside",
			pod:  makePod("p", "app", "web").obj(),
			existing: map[string][]*corev1.Pod{
				"n3": {makePod("lonely").requiredAntiAffinity(term(zoneKey, "app", "web")).obj()},
			},
			want: map[string]*framework.Status{"n3": errExisting},
		},
		{
			name: "existing pod's anti-affinity sees its own namespace only",
			pod:  makePod("p", "app", "web").obj(),
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("lonely").namespace("other").requiredAntiAffinity(term(hostKey, "app", "web")).obj()},
			},
			wantPreFilter: framework.Skip,
		},
		{
			name: "existing pod's anti-affinity with a namespaceSelector, namespaces unknown",
			pod:  makePod("p", "app", "web").obj(),
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("lonely").namespace("other").requiredAntiAffinity(withNamespaceSelector(term(hostKey, "app", "web"), teamA)).obj()},
			},
			wantPreFilter: framework.Skip,
		},
		{
			name:           "existing pod's anti-affinity with a namespaceSelector matching the pod's namespace",
			pod:            makePod("p", "app", "web").obj(),
			withNamespaces: true,
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("lonely").namespace("other").requiredAntiAffinity(withNamespaceSelector(term(hostKey, "app", "web"), teamA)).obj()},
			},
			want: map[string]*framework.Status{"n1": errExisting},
		},
		{
			name: "affinity is checked first, then the pod's anti-affinity",
			pod:  makePod("p").requiredAffinity(term(zoneKey, "app", "db")).requiredAntiAffinity(term(hostKey, "app", "cache")).obj(),
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("db", "app", "db").obj()},
				"n2": {makePod("cache", "app", "cache").obj()},
			},
			want: map[string]*framework.Status{"n2": errAntiAffinity, "n3": errAffinity, "n4": errAffinity},
		},
		{
			name: "the pod's anti-affinity is checked before the existing pods'",
			pod:  makePod("p", "app", "web").requiredAntiAffinity(term(hostKey, "app", "db")).obj(),
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("db", "app", "db").requiredAntiAffinity(term(hostKey, "app", "web")).obj()},
				"n2": {makePod("lonely").requiredAntiAffinity(term(zoneKey, "app", "web")).obj()},
			},
			want: map[string]*framework.Status{"n1": errAntiAffinity, "n2": errExisting},
		},
		{
			name: "matchLabelKeys narrows the selector to the pod's own label values",
			pod: makePod("p", "app", "web", "version", "v2").requiredAntiAffinity(func() corev1.PodAffinityTerm {
				t := term(hostKey, "app", "web")
				t.MatchLabelKeys = []string{"version"}
				return t
			}()).obj(),
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("web1", "app", "web", "version", "v1").obj()},
				"n2": {makePod("web2", "app", "web", "version", "v2").obj()},
			},
			want: map[string]*framework.Status{"n2": errAntiAffinity},
		},
		{
			name: "mismatchLabelKeys excludes the pod's own label values",
			pod: makePod("p", "tenant", "a").requiredAntiAffinity(corev1.PodAffinityTerm{
				TopologyKey:       hostKey,
				LabelSelector:     &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tenant", Operator: metav1.LabelSelectorOpExists}}},
				MismatchLabelKeys: []string{"tenant"},
			}).obj(),
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("b", "tenant", "b").obj()},
				"n2": {makePod("a", "tenant", "a").obj()},
			},
			want: map[string]*framework.Status{"n1": errAntiAffinity},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			nodes := cluster(tc.existing)
			var h framework.Handle = &fakeHandle{lister: nodes}
			if tc.withNamespaces {
				h = &nsHandle{fakeHandle: fakeHandle{lister: nodes}, namespaces: namespaces}
			}
			pl := newPlugin(t, "", h)
			cs := framework.NewCycleState()
			_, st := pl.PreFilter(ctx, cs, tc.pod, nodes)
			if st.Code() != tc.wantPreFilter {
				t.Fatalf("PreFilter = %v, want code %v", st, tc.wantPreFilter)
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

func TestPreFilterInvalidSelector(t *testing.T) {
	pod := makePod("p").requiredAffinity(corev1.PodAffinityTerm{
		TopologyKey: zoneKey,
		LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "app", Operator: "Bogus", Values: []string{"db"}},
		}},
	}).obj()
	nodes := cluster(nil)
	pl := newPlugin(t, "", &fakeHandle{lister: nodes})
	_, st := pl.PreFilter(context.Background(), framework.NewCycleState(), pod, nodes)
	if st.Code() != framework.UnschedulableAndUnresolvable || !strings.HasPrefix(st.Message(), "parsing pod: requiredAffinityTerms: ") {
		t.Fatalf("PreFilter = %v, want UnschedulableAndUnresolvable parsing pod: requiredAffinityTerms: ...", st)
	}
}

func TestFilterWithoutPreFilter(t *testing.T) {
	pl := newPlugin(t, "", nil)
	ni := nodeInfo(makeNode("n1"))
	if st := pl.Filter(context.Background(), framework.NewCycleState(), makePod("p").obj(), ni); st.Code() != framework.Error {
		t.Errorf("Filter without PreFilter state = %v, want Error", st)
	}
	cs := framework.NewCycleState()
	cs.SkipFilterPlugins = map[string]bool{Name: true}
	if st := pl.Filter(context.Background(), cs, makePod("p").obj(), ni); !st.IsSuccess() {
		t.Errorf("Filter of a skipped plugin = %v, want Success", st)
	}
}

// counts returns the three counters of the PreFilter state in cs.
func counts(t *testing.T, cs *framework.CycleState) [3]pairCounts {
	t.Helper()
	s, err := getPreFilterState(cs)
	if err != nil {
		t.Fatal(err)
	}
	return [3]pairCounts{s.existingAntiAffinityCounts, s.affinityCounts, s.antiAffinityCounts}
}

// TestAddRemovePod checks, for every pod of a cluster, that RemovePod on
// the full cluster's state gives the state PreFilter computes without
// the pod, that AddPod gives the full state back, and that the original
// state is untouched (Clone copies what changes).
func TestAddRemovePod(t *testing.T) {
	incoming := makePod("p", "app", "web").
		requiredAffinity(term(zoneKey, "app", "db")).
		requiredAntiAffinity(term(hostKey, "app", "web"), term(regionKey, "app", "batch")).
		obj()
	pods := func() map[string][]*corev1.Pod {
		return map[string][]*corev1.Pod{
			"n1": {makePod("db1", "app", "db").obj(), makePod("web1", "app", "web").obj()},
			"n2": {makePod("db2", "app", "db").requiredAntiAffinity(term(hostKey, "app", "web")).obj()},
			"n3": {makePod("lonely", "app", "x").requiredAntiAffinity(term(zoneKey, "app", "web"), term(regionKey, "app", "web")).obj()},
			"n4": {makePod("db4", "app", "db").obj(), makePod("batch", "app", "batch").obj()},
		}
	}
	ctx := context.Background()
	full := cluster(pods())
	pl := newPlugin(t, "", nil) // sequential; the other tests run in parallel
	fullState := framework.NewCycleState()
	if _, st := pl.PreFilter(ctx, fullState, incoming, full); !st.IsSuccess() {
		t.Fatalf("PreFilter = %v", st)
	}
	want := counts(t, fullState)

	for nodeIdx, ni := range full {
		for _, victim := range ni.Pods {
			t.Run(ni.Name()+"/"+victim.Pod.Name, func(t *testing.T) {
				// The cluster without the victim, as PreFilter sees it.
				reduced := cluster(pods())
				reduced[nodeIdx].RemovePod(victim.Pod.UID)
				reducedState := framework.NewCycleState()
				if _, st := pl.PreFilter(ctx, reducedState, incoming, reduced); !st.IsSuccess() {
					t.Fatalf("PreFilter = %v", st)
				}

				cs := fullState.Clone()
				if st := pl.RemovePod(ctx, cs, incoming, victim, ni); !st.IsSuccess() {
					t.Fatalf("RemovePod = %v", st)
				}
				if got, want := counts(t, cs), counts(t, reducedState); !reflect.DeepEqual(got, want) {
					t.Errorf("after RemovePod: %v, PreFilter without the pod: %v", got, want)
				}
				if got := counts(t, fullState); !reflect.DeepEqual(got, want) {
					t.Errorf("RemovePod on a clone changed the original: %v, want %v", got, want)
				}
				if st := pl.AddPod(ctx, cs, incoming, victim, ni); !st.IsSuccess() {
					t.Fatalf("AddPod = %v", st)
				}
				if got := counts(t, cs); !reflect.DeepEqual(got, want) {
					t.Errorf("after RemovePod and AddPod: %v, want %v", got, want)
				}
			})
		}
	}
}

// TestAddRemovePodChangesFilter checks that the what-ifs of preemption
// change Filter's answers.
func TestAddRemovePodChangesFilter(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		pod      *corev1.Pod
		existing map[string][]*corev1.Pod
		add      *corev1.Pod // added to node "on"
		remove   string      // name of the pod removed from node "on"
		on       string
		before   *framework.Status // Filter on node "on" before
	}{
		{
			name:   "adding a pod to be near",
			pod:    makePod("p").requiredAffinity(term(hostKey, "app", "db")).obj(),
			add:    makePod("db", "app", "db").obj(),
			on:     "n3",
			before: errAffinity,
		},
		{
			name:     "removing the pod to keep away from",
			pod:      makePod("p").requiredAntiAffinity(term(zoneKey, "app", "db")).obj(),
			existing: map[string][]*corev1.Pod{"n2": {makePod("db", "app", "db").obj()}},
			remove:   "db",
			on:       "n2",
			before:   errAntiAffinity,
		},
		{
			name:     "removing the pod that keeps the incoming pod away",
			pod:      makePod("p", "app", "web").obj(),
			existing: map[string][]*corev1.Pod{"n1": {makePod("lonely").requiredAntiAffinity(term(hostKey, "app", "web")).obj()}},
			remove:   "lonely",
			on:       "n1",
			before:   errExisting,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nodes := cluster(tc.existing)
			pl := newPlugin(t, "", &fakeHandle{lister: nodes})
			cs := framework.NewCycleState()
			pl.PreFilter(ctx, cs, tc.pod, nodes)
			ni, _ := nodes.Get(tc.on)
			if got := pl.Filter(ctx, cs, tc.pod, ni); got.String() != tc.before.String() {
				t.Fatalf("Filter before = %v, want %v", got, tc.before)
			}
			what := cs.Clone()
			if tc.add != nil {
				tc.add.Spec.NodeName = tc.on
				if st := pl.AddPod(ctx, what, tc.pod, framework.NewPodInfo(tc.add), ni); !st.IsSuccess() {
					t.Fatalf("AddPod = %v", st)
				}
			}
			if tc.remove != "" {
				for _, p := range ni.Pods {
					if p.Pod.Name == tc.remove {
						if st := pl.RemovePod(ctx, what, tc.pod, p, ni); !st.IsSuccess() {
							t.Fatalf("RemovePod = %v", st)
						}
					}
				}
			}
			if got := pl.Filter(ctx, what, tc.pod, ni); !got.IsSuccess() {
				t.Errorf("Filter after = %v, want Success", got)
			}
			if got := pl.Filter(ctx, cs, tc.pod, ni); got.String() != tc.before.String() {
				t.Errorf("Filter on the original state = %v, want %v", got, tc.before)
			}
		})
	}
}

func TestNewArgs(t *testing.T) {
	tests := []struct {
		name      string
		args      string
		wantErr   bool
		wantHard  int32
		wantIgnor bool
	}{
		{name: "defaults", args: "", wantHard: 1},
		{name: "empty object", args: "{}", wantHard: 1},
		{name: "explicit", args: `{"hardPodAffinityWeight": 7, "ignorePreferredTermsOfExistingPods": true}`, wantHard: 7, wantIgnor: true},
		{name: "zero weight", args: `{"hardPodAffinityWeight": 0}`, wantHard: 0},
		{name: "weight over 100", args: `{"hardPodAffinityWeight": 101}`, wantErr: true},
		{name: "negative weight", args: `{"hardPodAffinityWeight": -1}`, wantErr: true},
		{name: "unknown field", args: `{"hardPodAffinityWieght": 2}`, wantErr: true},
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
			pl := p.(*InterPodAffinity)
			if pl.Name() != Name || pl.hardPodAffinityWeight != tc.wantHard || pl.ignoreExistingPrefs != tc.wantIgnor {
				t.Errorf("got %+v", pl)
			}
		})
	}
}

func TestEventsToRegister(t *testing.T) {
	pl := newPlugin(t, "", nil)
	events := pl.EventsToRegister()
	for _, e := range []framework.ClusterEvent{
		{Resource: framework.ResourcePod, Action: framework.ActionAdd},
		{Resource: framework.ResourcePod, Action: framework.ActionDelete},
		{Resource: framework.ResourcePod, Action: framework.ActionUpdatePodLabel},
		{Resource: framework.ResourceNode, Action: framework.ActionAdd},
		{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeLabel},
	} {
		matched := false
		for _, interest := range events {
			matched = matched || interest.Match(e)
		}
		if !matched {
			t.Errorf("no interest in %+v", e)
		}
	}
	for _, e := range []framework.ClusterEvent{
		{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeAllocatable},
		{Resource: framework.ResourcePod, Action: framework.ActionUpdatePodRequest},
	} {
		for _, interest := range events {
			if interest.Match(e) {
				t.Errorf("unexpected interest in %+v", e)
			}
		}
	}
}
