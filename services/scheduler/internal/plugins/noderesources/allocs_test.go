package noderesources

import (
	"context"
	"reflect"
	"testing"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// TestNoAllocationsPerNode checks that filtering a node that fits and
// scoring a node allocate nothing: they run for thousands of nodes per
// pod.
func TestNoAllocationsPerNode(t *testing.T) {
	ctx := context.Background()
	ni := node("n1", rl("cpu", "8", "memory", "16Gi", "pods", "110", string(gpu), "4"), pod(rl("cpu", "1", "memory", "1Gi")))
	p := pod(rl("cpu", "500m", "memory", "512Mi", string(gpu), "1"))
	fits := []*Fit{
		newFit(t, ""),
		newFit(t, `{"scoringStrategy": {"type": "MostAllocated", "resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}, {"name": "example.com/gpu", "weight": 3}]}}`),
		newFit(t, `{"scoringStrategy": {"type": "RequestedToCapacityRatio", "resources": [{"name": "cpu", "weight": 1}], "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}}}`),
	}
	for _, f := range fits {
		state := framework.NewCycleState()
		f.PreFilter(ctx, state, p, nil)
		f.PreScore(ctx, state, p, nil)
		if n := testing.AllocsPerRun(100, func() {
			if s := f.Filter(ctx, state, p, ni); !s.IsSuccess() {
				t.Fatalf("Filter = %v", s)
			}
		}); n != 0 {
			t.Errorf("%v: Filter of a node that fits allocates %v times", f.scorer.strategy, n)
		}
		if n := testing.AllocsPerRun(100, func() { f.Score(ctx, state, p, ni) }); n != 0 {
			t.Errorf("%v: Score allocates %v times", f.scorer.strategy, n)
		}
	}
	ba := newBalanced(t, `{"resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}, {"name": "example.com/gpu", "weight": 1}]}`)
	state := framework.NewCycleState()
	ba.PreScore(ctx, state, p, nil)
	if n := testing.AllocsPerRun(100, func() { ba.Score(ctx, state, p, ni) }); n != 0 {
		t.Errorf("BalancedAllocation Score allocates %v times", n)
	}
}

// TestFilterExtendedResourcesOrder checks the reasons for several
// extended resources short: sorted by name, ignored ones left out.
func TestFilterExtendedResourcesOrder(t *testing.T) {
	ctx := context.Background()
	ni := node("n1", rl("cpu", "1", "pods", "10", "example.com/b", "1", "example.com/a", "1", "other.io/c", "1"))
	p := pod(rl("cpu", "2", "example.com/b", "2", "example.com/a", "2", "other.io/c", "2", "ignored.io/d", "1"))
	f := newFit(t, `{"ignoredResourceGroups": ["ignored.io"]}`)
	state := framework.NewCycleState()
	f.PreFilter(ctx, state, p, nil)
	s := f.Filter(ctx, state, p, ni)
	want := []string{"Insufficient cpu", "Insufficient example.com/a", "Insufficient example.com/b", "Insufficient other.io/c"}
	if s.Code() != framework.UnschedulableAndUnresolvable || !reflect.DeepEqual(s.Reasons(), want) {
		t.Errorf("Filter = %v, want UnschedulableAndUnresolvable %q", s, want)
	}
}
