package framework

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// PodPriority is a pod's spec.priority (0 when unset).
func PodPriority(pod *corev1.Pod) int32 {
	if pod.Spec.Priority != nil {
		return *pod.Spec.Priority
	}
	return 0
}

// RunFilterPluginsWithNominatedPods runs h's filters on nodeInfo as if the
// pods nominated to the node with a priority at least pod's were already
// there, since they will get there first (they preempted for room they do
// not have yet). If the pod fits with them, the filters run again without
// them: a filter such as inter-pod affinity may pass only with them
// present, and they are not there yet. The scheduling cycle and
// preemption's dry runs both filter this way.
func RunFilterPluginsWithNominatedPods(ctx context.Context, h Handle, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) *Status {
	withState, withNode, s := addNominatedPods(ctx, h, state, pod, nodeInfo)
	if !s.IsSuccess() {
		return s
	}
	s = h.RunFilterPlugins(ctx, withState, pod, withNode)
	if !s.IsSuccess() || withNode == nodeInfo {
		return s
	}
	return h.RunFilterPlugins(ctx, state, pod, nodeInfo)
}

// addNominatedPods returns clones of state and nodeInfo with the pods
// nominated to the node with a priority at least pod's added, or state and
// nodeInfo themselves when there are none.
func addNominatedPods(ctx context.Context, h Handle, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) (*CycleState, *NodeInfo, *Status) {
	c := h.Client()
	if c == nil {
		return state, nodeInfo, nil
	}
	prio := PodPriority(pod)
	outState, outNode := state, nodeInfo
	for _, pi := range c.PodsNominatedTo(nodeInfo.Name()) {
		if pi.Pod.UID == pod.UID || PodPriority(pi.Pod) < prio {
			continue
		}
		if outNode == nodeInfo {
			outState, outNode = state.Clone(), nodeInfo.Clone()
		}
		outNode.AddPod(pi)
		if s := h.RunPreFilterExtensionAddPod(ctx, outState, pod, pi, outNode); !s.IsSuccess() {
			// Those calls only account for pods: a failure is an error.
			if s.Code() != Error {
				s = AsStatus(s.AsError())
			}
			return nil, nil, s
		}
	}
	return outState, outNode, nil
}
