// Package nodeports is the NodePorts plugin: a pod asking for host ports
// fits only nodes where none of them is taken by another pod, as in
// kube-scheduler. Two ports conflict when they have the same protocol
// and number and the same host IP, or either one binds every address
// (framework.NodeInfo.PortInUse).
package nodeports

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "NodePorts"

// ErrReason is Kubernetes' rejection of a node where a wanted host port
// is taken. It is Unschedulable: preempting the pod holding the port
// makes room.
const ErrReason = "node(s) didn't have free ports for the requested pod ports"

// preFilterStateKey is where PreFilter leaves the pod's host ports.
const preFilterStateKey framework.StateKey = "PreFilter" + Name

// NodePorts checks host ports.
type NodePorts struct{}

var (
	_ framework.PreFilterPlugin   = (*NodePorts)(nil)
	_ framework.FilterPlugin      = (*NodePorts)(nil)
	_ framework.EnqueueExtensions = (*NodePorts)(nil)
)

// New builds the plugin; it takes no arguments (nil, null or {}).
func New(args json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	if err := helper.NoArgs(Name, args); err != nil {
		return nil, err
	}
	return &NodePorts{}, nil
}

// Name returns the plugin's name.
func (pl *NodePorts) Name() string { return Name }

// EventsToRegister: a pod going away frees its ports, a new node has all
// of them free. (Ports of a pod cannot change.)
func (pl *NodePorts) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.ResourcePod, Action: framework.ActionDelete, Label: "AssignedPodDelete"},
		{Resource: framework.ResourceNode, Action: framework.ActionAdd, Label: "NodeAdd"},
	}
}

// preFilterState is the pod's host ports. It does not depend on the pods
// on nodes and is never modified, so Clone shares it.
type preFilterState []framework.HostPort

// Clone returns s itself.
func (s preFilterState) Clone() framework.StateData { return s }

// PreFilter collects the pod's host ports, and skips the Filter for a pod
// without any.
func (pl *NodePorts) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	ports := framework.PodHostPorts(pod)
	if len(ports) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	state.Write(preFilterStateKey, preFilterState(ports))
	return nil, nil
}

// Filter rejects a node where one of the pod's host ports is in use.
func (pl *NodePorts) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, nodeInfo *framework.NodeInfo) *framework.Status {
	ports, err := helper.PluginState[preFilterState](state, preFilterStateKey, Name, "PreFilter")
	if err != nil {
		return framework.AsStatus(err)
	}
	for _, hp := range ports {
		if nodeInfo.PortInUse(hp) {
			return framework.NewStatus(framework.Unschedulable, ErrReason)
		}
	}
	return nil
}
