// Package labelpreference is an example out-of-tree scheduler plugin: it
// keeps pods off nodes labelled to be avoided (Filter) and prefers nodes
// carrying a configured label (Score). See docs/scheduler.md, "Writing a
// plugin", and ../custom-scheduler for the main that registers it.
package labelpreference

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// Name is how profiles enable the plugin.
const Name = "LabelPreference"

// Args are the plugin's arguments (pluginConfig args in the profile).
type Args struct {
	// AvoidLabel: nodes with this label set to "true" take no pods.
	AvoidLabel string `json:"avoidLabel"`
	// PreferLabel and PreferValue: nodes with this label value score
	// highest.
	PreferLabel string `json:"preferLabel"`
	PreferValue string `json:"preferValue"`
}

// Plugin is the LabelPreference plugin.
type Plugin struct{ args Args }

var (
	_ framework.FilterPlugin      = (*Plugin)(nil)
	_ framework.ScorePlugin       = (*Plugin)(nil)
	_ framework.EnqueueExtensions = (*Plugin)(nil)
)

// New builds the plugin from its arguments.
func New(raw json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	args := Args{AvoidLabel: "example.gantry.dev/avoid"}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, fmt.Errorf("%s args: %w", Name, err)
		}
	}
	if args.PreferLabel == "" && args.PreferValue != "" {
		return nil, fmt.Errorf("%s args: preferValue without preferLabel", Name)
	}
	return &Plugin{args: args}, nil
}

// Name returns Name.
func (p *Plugin) Name() string { return Name }

// Filter rejects nodes labelled to be avoided. The reason is what users
// read in "0/3 nodes are available: 1 node(s) are to be avoided, ...".
func (p *Plugin) Filter(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	if n.Node == nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) not found")
	}
	if p.args.AvoidLabel != "" && n.Node.Labels[p.args.AvoidLabel] == "true" {
		// Removing pods would not help: preemption skips such nodes.
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) are to be avoided")
	}
	return nil
}

// Score gives the preferred nodes the top score and the others none.
func (p *Plugin) Score(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	if p.args.PreferLabel == "" || n.Node == nil {
		return 0, nil
	}
	if v, ok := n.Node.Labels[p.args.PreferLabel]; ok && (p.args.PreferValue == "" || v == p.args.PreferValue) {
		return framework.MaxNodeScore, nil
	}
	return framework.MinNodeScore, nil
}

// EventsToRegister: a pod this plugin rejected may fit once a node is
// added or relabelled.
func (p *Plugin) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.ResourceNode, Action: framework.ActionAdd | framework.ActionUpdateNodeLabel, Label: "NodeAddOrLabel"},
	}
}
