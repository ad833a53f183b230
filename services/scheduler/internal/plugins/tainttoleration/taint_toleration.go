// Package tainttoleration is the TaintToleration plugin: a pod goes only
// to nodes whose NoSchedule and NoExecute taints it tolerates, and prefers
// the nodes with the fewest PreferNoSchedule taints it does not tolerate,
// as in kube-scheduler.
//
// The toleration rules (ToleratesTaint, TolerationsTolerateTaint) are in
// package helper, shared with the other plugins that check a taint, such
// as NodeUnschedulable and PodTopologySpread; ToleratesTaint here is
// helper's, kept for this package's callers.
package tainttoleration

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "TaintToleration"

// preScoreStateKey is where PreScore leaves the pod's tolerations of
// PreferNoSchedule taints.
const preScoreStateKey framework.StateKey = "PreScore" + Name

// errReasonNodeNotFound rejects a NodeInfo without its Node.
const errReasonNodeNotFound = "node(s) not found"

// ErrReasonUntolerated is the rejection for a node with a NoSchedule or
// NoExecute taint the pod does not tolerate: the first such taint, as
// "node(s) had untolerated taint {dedicated: gpu}".
func ErrReasonUntolerated(taint corev1.Taint) string {
	return fmt.Sprintf("node(s) had untolerated taint {%s: %s}", taint.Key, taint.Value)
}

// TaintToleration filters and scores nodes by their taints.
type TaintToleration struct{}

var (
	_ framework.FilterPlugin      = (*TaintToleration)(nil)
	_ framework.PreScorePlugin    = (*TaintToleration)(nil)
	_ framework.ScorePlugin       = (*TaintToleration)(nil)
	_ framework.ScoreNormalizer   = (*TaintToleration)(nil)
	_ framework.EnqueueExtensions = (*TaintToleration)(nil)
)

// New builds the plugin; it takes no arguments (nil, null or {}).
func New(args json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	if err := helper.NoArgs(Name, args); err != nil {
		return nil, err
	}
	return &TaintToleration{}, nil
}

// Name returns the plugin's name.
func (pl *TaintToleration) Name() string { return Name }

// EventsToRegister: a new node, or a node whose taints changed, may
// carry no taint the pod does not tolerate. (A change to the pod's own
// tolerations requeues it as any update of a pending pod does.)
func (pl *TaintToleration) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.ResourceNode, Action: framework.ActionAdd, Label: "NodeAdd"},
		{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeTaint, Label: "NodeTaintChange"},
	}
}

// Filter rejects a node with a NoSchedule or NoExecute taint that the pod
// does not tolerate, naming the first one. Removing pods cannot help, so
// the rejection is UnschedulableAndUnresolvable.
func (pl *TaintToleration) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) *framework.Status {
	if nodeInfo == nil || nodeInfo.Node == nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, errReasonNodeNotFound)
	}
	taint, found := helper.FindUntoleratedTaint(nodeInfo.Node.Spec.Taints, pod.Spec.Tolerations, helper.DoNotScheduleTaint)
	if !found {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUntolerated(taint))
}

// preScoreState holds the pod's tolerations that may tolerate a
// PreferNoSchedule taint. It is never modified, so Clone shares it.
type preScoreState struct {
	tolerations []corev1.Toleration
}

// Clone returns s itself.
func (s *preScoreState) Clone() framework.StateData { return s }

// preferNoScheduleTolerations keeps the tolerations with the effect
// PreferNoSchedule or with no effect (which means every effect).
func preferNoScheduleTolerations(tolerations []corev1.Toleration) []corev1.Toleration {
	var out []corev1.Toleration
	for _, t := range tolerations {
		if t.Effect == "" || t.Effect == corev1.TaintEffectPreferNoSchedule {
			out = append(out, t)
		}
	}
	return out
}

// PreScore picks the pod's tolerations that matter for scoring.
func (pl *TaintToleration) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	state.Write(preScoreStateKey, &preScoreState{tolerations: preferNoScheduleTolerations(pod.Spec.Tolerations)})
	return nil
}

// Score counts the node's PreferNoSchedule taints that the pod does not
// tolerate; NormalizeScore turns fewer into better.
func (pl *TaintToleration) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) (int64, *framework.Status) {
	if nodeInfo == nil || nodeInfo.Node == nil {
		return 0, framework.AsStatus(fmt.Errorf("%s: node %q not found", Name, nodeInfo.Name()))
	}
	var tolerations []corev1.Toleration
	if s, found, err := helper.LookupPluginState[*preScoreState](state, preScoreStateKey, Name, "PreScore"); err != nil {
		return 0, framework.AsStatus(err)
	} else if found {
		tolerations = s.tolerations
	} else {
		tolerations = preferNoScheduleTolerations(pod.Spec.Tolerations)
	}
	var n int64
	for i := range nodeInfo.Node.Spec.Taints {
		t := &nodeInfo.Node.Spec.Taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule && !helper.TolerationsTolerateTaint(tolerations, t) {
			n++
		}
	}
	return n, nil
}

// NormalizeScore maps the counts onto 0..100, reversed: the node with
// the most untolerated PreferNoSchedule taints scores 0, a node with none
// 100.
func (pl *TaintToleration) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	helper.DefaultNormalizeScore(framework.MaxNodeScore, true, scores)
	return nil
}
