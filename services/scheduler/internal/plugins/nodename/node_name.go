// Package nodename is the NodeName plugin: a pod whose spec.nodeName is
// set fits only the node of that name, as in kube-scheduler.
package nodename

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "NodeName"

// ErrReason is Kubernetes' rejection of every other node
// (UnschedulableAndUnresolvable).
const ErrReason = "node(s) didn't match the requested node name"

// NodeName checks spec.nodeName.
type NodeName struct{}

var (
	_ framework.PreFilterPlugin   = (*NodeName)(nil)
	_ framework.FilterPlugin      = (*NodeName)(nil)
	_ framework.EnqueueExtensions = (*NodeName)(nil)
)

// New builds the plugin; it takes no arguments (nil, null or {}).
func New(args json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	if err := helper.NoArgs(Name, args); err != nil {
		return nil, err
	}
	return &NodeName{}, nil
}

// Name returns the plugin's name.
func (pl *NodeName) Name() string { return Name }

// EventsToRegister: only a new node, the one named, can take the pod.
func (pl *NodeName) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.ResourceNode, Action: framework.ActionAdd, Label: "NodeAdd"},
	}
}

// PreFilter skips the Filter for a pod without spec.nodeName, which fits
// every node.
//
// It does not narrow the nodes to the named one with a PreFilterResult:
// the scheduler would then report the other nodes as "didn't satisfy
// plugin(s)" rather than with ErrReason, and users expect Kubernetes'
// message. (The filter is cheap, and the scheduler never queues a pod
// that already has a node name, so only preemption what-ifs and tests
// get here with one.)
func (pl *NodeName) PreFilter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	if pod.Spec.NodeName == "" {
		return nil, framework.NewStatus(framework.Skip)
	}
	return nil, nil
}

// Filter rejects every node but the one the pod names.
func (pl *NodeName) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) *framework.Status {
	if !Fits(pod, nodeInfo) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReason)
	}
	return nil
}

// Fits reports whether the pod names no node or names nodeInfo's.
func Fits(pod *corev1.Pod, nodeInfo *framework.NodeInfo) bool {
	return pod.Spec.NodeName == "" || pod.Spec.NodeName == nodeInfo.Name()
}
