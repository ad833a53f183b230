package runtime

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/extender"
)

// Extender is an HTTP scheduler extender (package extender).
type Extender interface {
	Name() string
	IsInterested(pod *corev1.Pod) bool
	IsIgnorable() bool
	IsBinder() bool
	Filter(ctx context.Context, pod *corev1.Pod, nodes []*corev1.Node) (feasible []*corev1.Node, failed, failedAndUnresolvable map[string]string, err error)
	Prioritize(ctx context.Context, pod *corev1.Pod, nodes []*corev1.Node) (scores map[string]int64, weight int64, err error)
	Bind(ctx context.Context, pod *corev1.Pod, node string) error
}

func runExtenderFilter(ctx context.Context, e Extender, pod *corev1.Pod, nodes []*framework.NodeInfo, rejected framework.NodeToStatus) ([]*framework.NodeInfo, error) {
	in := make([]*corev1.Node, len(nodes))
	byName := make(map[string]*framework.NodeInfo, len(nodes))
	for i, n := range nodes {
		in[i] = n.Node
		byName[n.Name()] = n
	}
	kept, failed, unresolvable, err := e.Filter(ctx, pod, in)
	if err != nil {
		return nil, fmt.Errorf("extender %s: %w", e.Name(), err)
	}
	for name, reason := range failed {
		rejected[name] = framework.NewStatus(framework.Unschedulable, reason).WithPlugin(e.Name())
	}
	for name, reason := range unresolvable {
		rejected[name] = framework.NewStatus(framework.UnschedulableAndUnresolvable, reason).WithPlugin(e.Name())
	}
	out := make([]*framework.NodeInfo, 0, len(kept))
	for _, n := range kept {
		if ni, ok := byName[n.Name]; ok {
			out = append(out, ni)
		}
	}
	return out, nil
}

func runExtenderPrioritize(ctx context.Context, e Extender, pod *corev1.Pod, nodes []*framework.NodeInfo, totals []framework.NodeScore) error {
	in := make([]*corev1.Node, len(nodes))
	for i, n := range nodes {
		in[i] = n.Node
	}
	scores, weight, err := e.Prioritize(ctx, pod, in)
	if err != nil {
		return fmt.Errorf("extender %s: %w", e.Name(), err)
	}
	for i := range totals {
		totals[i].Score += extender.ScaleScore(scores[totals[i].Name], weight)
	}
	return nil
}
