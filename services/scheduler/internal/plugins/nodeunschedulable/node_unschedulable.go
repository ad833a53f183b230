// Package nodeunschedulable is the NodeUnschedulable plugin: it keeps
// pods off cordoned nodes (spec.unschedulable) unless they tolerate the
// taint node.kubernetes.io/unschedulable:NoSchedule, as kube-scheduler
// does.
//
// Gantry adds a check Kubernetes leaves to the taint that its node
// lifecycle controller puts on nodes that are not ready: a node whose
// Ready condition is not True (False, Unknown, or not reported yet) is
// rejected too, unless the pod tolerates
// node.kubernetes.io/not-ready:NoSchedule.
package nodeunschedulable

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "NodeUnschedulable"

// Rejection reasons, all UnschedulableAndUnresolvable: removing pods
// from the node would not help.
const (
	// ErrReasonUnschedulable is Kubernetes' reason for a cordoned node.
	ErrReasonUnschedulable = "node(s) were unschedulable"
	// ErrReasonNotReady is for a node whose Ready condition is not True.
	ErrReasonNotReady = "node(s) were not ready"
	// ErrReasonNodeNotFound is for a NodeInfo without its Node object.
	ErrReasonNodeNotFound = "node(s) not found"
)

// The taints whose tolerations let a pod onto a cordoned or not-ready
// node.
var (
	unschedulableTaint = corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}
	notReadyTaint      = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}
)

// NodeUnschedulable filters out cordoned and not-ready nodes.
type NodeUnschedulable struct{}

var (
	_ framework.FilterPlugin      = (*NodeUnschedulable)(nil)
	_ framework.EnqueueExtensions = (*NodeUnschedulable)(nil)
)

// New builds the plugin; it takes no arguments (nil, null or {}).
func New(args json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	if err := helper.NoArgs(Name, args); err != nil {
		return nil, err
	}
	return &NodeUnschedulable{}, nil
}

// Name returns the plugin's name.
func (pl *NodeUnschedulable) Name() string { return Name }

// EventsToRegister: a new node, a node uncordoned (the scheduler reports
// a change of spec.unschedulable as a taint change) or a node becoming
// ready may take the pod.
func (pl *NodeUnschedulable) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.ResourceNode, Action: framework.ActionAdd, Label: "NodeAdd"},
		{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeTaint | framework.ActionUpdateNodeCondition, Label: "NodeTaintOrConditionChange"},
	}
}

// Filter rejects a cordoned node, then a node that is not ready, unless
// the pod tolerates the matching NoSchedule taint.
func (pl *NodeUnschedulable) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) *framework.Status {
	if nodeInfo == nil || nodeInfo.Node == nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeNotFound)
	}
	node := nodeInfo.Node
	if node.Spec.Unschedulable && !helper.TolerationsTolerateTaint(pod.Spec.Tolerations, &unschedulableTaint) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnschedulable)
	}
	if !nodeInfo.Ready() && !helper.TolerationsTolerateTaint(pod.Spec.Tolerations, &notReadyTaint) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNotReady)
	}
	return nil
}
