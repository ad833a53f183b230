package noderesources

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// BalancedAllocationName is NodeResourcesBalancedAllocation's name in the
// registry and in profiles.
const BalancedAllocationName = "NodeResourcesBalancedAllocation"

// balancedPreScoreStateKey is where PreScore leaves the pod's requests.
const balancedPreScoreStateKey framework.StateKey = "PreScore" + BalancedAllocationName

// BalancedAllocation prefers the nodes whose resources the pod would
// leave most evenly used.
type BalancedAllocation struct {
	scorer resourceScorer
}

var (
	_ framework.PreScorePlugin = (*BalancedAllocation)(nil)
	_ framework.ScorePlugin    = (*BalancedAllocation)(nil)
)

// NewBalancedAllocation builds NodeResourcesBalancedAllocation from its
// JSON arguments (BalancedAllocationArgs; nil for the defaults).
func NewBalancedAllocation(args json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	a, err := ParseBalancedAllocationArgs(args)
	if err != nil {
		return nil, err
	}
	return &BalancedAllocation{scorer: newResourceScorer(a.Resources, true, balanced, nil)}, nil
}

// Name returns the plugin's name.
func (ba *BalancedAllocation) Name() string { return BalancedAllocationName }

// PreScore computes the pod's requests of the scored resources, and
// skips scoring for a pod that requests none of them: counting such
// best-effort pods as free would pile them onto the same node (see
// kubernetes#129138).
func (ba *BalancedAllocation) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	reqs := ba.scorer.podRequests(pod)
	if requestsNothing(reqs) {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(balancedPreScoreStateKey, &preScoreState{podRequests: reqs})
	return nil
}

// Score scores the node 100 × (1 - the standard deviation of its
// resources' requested fractions), counting the pod.
func (ba *BalancedAllocation) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) (int64, *framework.Status) {
	if s, found, err := helper.LookupPluginState[*preScoreState](state, balancedPreScoreStateKey, BalancedAllocationName, "PreScore"); err != nil {
		return 0, framework.AsStatus(err)
	} else if found {
		return ba.scorer.score(nodeInfo, s.podRequests), nil
	}
	reqs := ba.scorer.podRequests(pod)
	if requestsNothing(reqs) {
		return 0, nil
	}
	return ba.scorer.score(nodeInfo, reqs), nil
}

// requestsNothing reports whether every request is 0.
func requestsNothing(reqs []int64) bool {
	for _, r := range reqs {
		if r != 0 {
			return false
		}
	}
	return true
}
