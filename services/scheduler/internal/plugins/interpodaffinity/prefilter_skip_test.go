package interpodaffinity

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// countingLister counts the calls to HavePodsWithRequiredAntiAffinityList.
type countingLister struct {
	fakeLister
	antiCalls int
}

func (l *countingLister) HavePodsWithRequiredAntiAffinityList() []*framework.NodeInfo {
	l.antiCalls++
	return l.fakeLister.HavePodsWithRequiredAntiAffinityList()
}

type countingHandle struct {
	framework.Handle
	lister *countingLister
}

func (h *countingHandle) SnapshotSharedLister() framework.NodeInfoLister { return h.lister }
func (h *countingHandle) Parallelizer() framework.Parallelizer           { return goParallelizer{} }

// TestPreFilterExistingAntiAffinityNodes checks that PreFilter looks at
// the existing pods' anti-affinity through the snapshot's list of nodes
// with such pods when given the snapshot's nodes, by going over the
// nodes otherwise, with the same results, and skips when nothing can
// matter.
func TestPreFilterExistingAntiAffinityNodes(t *testing.T) {
	ctx := context.Background()
	plain := makePod("p", "app", "web").obj()
	tests := []struct {
		name     string
		pod      *corev1.Pod
		existing map[string][]*corev1.Pod
		wantSkip bool
	}{
		{name: "no affinity anywhere", pod: plain, existing: map[string][]*corev1.Pod{"n1": {makePod("a", "app", "web").obj()}}, wantSkip: true},
		{
			name: "existing anti-affinity not matching",
			pod:  plain,
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("a").requiredAntiAffinity(term(hostKey, "app", "db")).obj()},
			},
			wantSkip: true,
		},
		{
			name: "existing anti-affinity matching",
			pod:  plain,
			existing: map[string][]*corev1.Pod{
				"n1": {makePod("a").requiredAntiAffinity(term(hostKey, "app", "web")).obj()},
				"n3": {makePod("b").requiredAntiAffinity(term(zoneKey, "app", "web"), term(regionKey, "app", "db")).obj()},
			},
		},
		{
			name:     "incoming pod with terms",
			pod:      makePod("p", "app", "web").requiredAntiAffinity(term(hostKey, "app", "web")).obj(),
			existing: map[string][]*corev1.Pod{"n2": {makePod("a", "app", "web").obj()}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nodes := cluster(tc.existing)
			l := &countingLister{fakeLister: nodes}
			pl := newPlugin(t, "", &countingHandle{lister: l})
			cs := framework.NewCycleState()
			_, st := pl.PreFilter(ctx, cs, tc.pod, nodes)
			if st.IsSkip() != tc.wantSkip || (!st.IsSkip() && !st.IsSuccess()) {
				t.Fatalf("PreFilter = %v, want skip: %v", st, tc.wantSkip)
			}
			if l.antiCalls != 1 {
				t.Errorf("HavePodsWithRequiredAntiAffinityList called %d times for the snapshot's nodes, want 1", l.antiCalls)
			}
			got := counts(t, cs)

			// The nodes are not the snapshot's: they are gone over.
			l.antiCalls = 0
			copied := append([]*framework.NodeInfo(nil), nodes...)
			cs2 := framework.NewCycleState()
			if _, st2 := pl.PreFilter(ctx, cs2, tc.pod, copied); st2.String() != st.String() {
				t.Errorf("PreFilter over a copy of the nodes = %v, want %v", st2, st)
			}
			if l.antiCalls != 0 {
				t.Errorf("HavePodsWithRequiredAntiAffinityList called for nodes that are not the snapshot's")
			}
			cs3 := framework.NewCycleState()
			newPlugin(t, "", nil).PreFilter(ctx, cs3, tc.pod, nodes)
			for _, other := range []*framework.CycleState{cs2, cs3} {
				if want := counts(t, other); !reflect.DeepEqual(got, want) {
					t.Errorf("counts %v, want %v", got, want)
				}
			}
			for _, ni := range nodes {
				if a, b := pl.Filter(ctx, cs, tc.pod, ni), pl.Filter(ctx, cs3, tc.pod, ni); a.String() != b.String() {
					t.Errorf("Filter(%s) = %v, want %v", ni.Name(), a, b)
				}
			}
		})
	}
}
