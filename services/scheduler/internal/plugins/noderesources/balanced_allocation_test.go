package noderesources

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

func newBalanced(t *testing.T, args string) *BalancedAllocation {
	t.Helper()
	var raw []byte
	if args != "" {
		raw = []byte(args)
	}
	p, err := NewBalancedAllocation(raw, nil)
	if err != nil {
		t.Fatalf("NewBalancedAllocation(%s): %v", args, err)
	}
	return p.(*BalancedAllocation)
}

func TestBalancedAllocationScore(t *testing.T) {
	n := func(name, cpu, memory string, pods ...*corev1.Pod) *framework.NodeInfo {
		return node(name, rl("cpu", cpu, "memory", memory, "pods", "100"), pods...)
	}
	tests := []struct {
		name  string
		args  string
		pod   *corev1.Pod
		nodes []*framework.NodeInfo
		want  []int64
	}{
		{
			// fractions 0.75 and 0.5: std 0.125, 87.5 → 87; 0.5 and 0.5: 100.
			name:  "differently sized nodes",
			pod:   pod(rl("cpu", "3000m", "memory", "5000")),
			nodes: []*framework.NodeInfo{n("n4", "4000m", "10000"), n("n6", "6000m", "10000")},
			want:  []int64{87, 100},
		},
		{
			// 6000/10000 and 10000/20000: std 0.05, 95.
			name:  "counts the pods on the node",
			pod:   pod(rl("cpu", "3000m", "memory", "5000")),
			nodes: []*framework.NodeInfo{n("n", "10000m", "20000", pod(rl("cpu", "3000m", "memory", "5000")))},
			want:  []int64{95},
		},
		{
			// Plain requests: the request-less pod on the node counts 0;
			// fractions 0.5 and 0: std 0.25, 75.
			name:  "no defaults for unset requests",
			pod:   pod(rl("cpu", "2000m")),
			nodes: []*framework.NodeInfo{n("n", "4000m", "10000", pod(corev1.ResourceList{}))},
			want:  []int64{75},
		},
		{
			// fractions 1 (capped) and 0.5: 75.
			name:  "a fraction is at most 1",
			pod:   pod(rl("cpu", "6000m", "memory", "5000")),
			nodes: []*framework.NodeInfo{n("n", "4000m", "10000")},
			want:  []int64{75},
		},
		{
			// fractions 0.5, 0.2, 0.8: mean 0.5, std √0.06 ≈ 0.245, 75.
			name:  "three resources",
			args:  `{"resources": [{"name": "cpu"}, {"name": "memory"}, {"name": "ephemeral-storage", "weight": 1}]}`,
			pod:   pod(rl("cpu", "2000m", "memory", "2000", "ephemeral-storage", "8000")),
			nodes: []*framework.NodeInfo{node("n", rl("cpu", "4000m", "memory", "10000", "ephemeral-storage", "10000", "pods", "10"))},
			want:  []int64{75},
		},
		{
			// A single resource has no deviation: 100.
			name:  "one resource",
			args:  `{"resources": [{"name": "cpu", "weight": 1}]}`,
			pod:   pod(rl("cpu", "3000m", "memory", "5000")),
			nodes: []*framework.NodeInfo{n("n", "4000m", "10000")},
			want:  []int64{100},
		},
		{
			// The node has no GPU: only cpu and memory count, 87.
			name:  "an extended resource the node lacks does not count",
			args:  `{"resources": [{"name": "cpu"}, {"name": "memory"}, {"name": "example.com/gpu"}]}`,
			pod:   pod(rl("cpu", "3000m", "memory", "5000", string(gpu), "1")),
			nodes: []*framework.NodeInfo{n("n", "4000m", "10000")},
			want:  []int64{87},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ba := newBalanced(t, tt.args)
			if got := scoreAll(t, ba, ba, tt.pod, tt.nodes); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("scores = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBalancedAllocationSkipsBestEffortPods(t *testing.T) {
	ba := newBalanced(t, "")
	p := pod(corev1.ResourceList{})
	ni := node("n", rl("cpu", "4", "memory", "4Gi", "pods", "10"))
	if s := ba.PreScore(context.Background(), framework.NewCycleState(), p, []*framework.NodeInfo{ni}); !s.IsSkip() {
		t.Errorf("PreScore = %v, want Skip", s)
	}
	if v, s := ba.Score(context.Background(), framework.NewCycleState(), p, ni); v != 0 || !s.IsSuccess() {
		t.Errorf("Score = %d, %v; want 0, Success", v, s)
	}
}
