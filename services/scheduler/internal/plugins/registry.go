// Package plugins registers the in-tree scheduler plugins (each in a
// package of its own below this one).
package plugins

import (
	"encoding/json"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/defaultbinder"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/defaultpreemption"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/imagelocality"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/interpodaffinity"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/nodeaffinity"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/nodename"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/nodeports"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/noderesources"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/nodeunschedulable"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/podtopologyspread"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/tainttoleration"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/volumebinding"
)

// InTree returns a new registry of the built-in plugins.
func InTree() framework.Registry {
	return framework.Registry{
		PrioritySortName:                     newPrioritySort,
		nodeunschedulable.Name:               nodeunschedulable.New,
		nodename.Name:                        nodename.New,
		tainttoleration.Name:                 tainttoleration.New,
		nodeaffinity.Name:                    nodeaffinity.New,
		nodeports.Name:                       nodeports.New,
		noderesources.FitName:                noderesources.NewFit,
		noderesources.BalancedAllocationName: noderesources.NewBalancedAllocation,
		interpodaffinity.Name:                interpodaffinity.New,
		podtopologyspread.Name:               podtopologyspread.New,
		imagelocality.Name:                   imagelocality.New,
		volumebinding.Name:                   volumebinding.New,
		defaultpreemption.Name:               defaultpreemption.New,
		defaultbinder.Name:                   defaultbinder.New,
	}
}

// PrioritySortName names the queue order: higher spec.priority first,
// then older. The queue implements it; the plugin exists so that
// configurations naming it, as Kubernetes' do, are accepted.
const PrioritySortName = "PrioritySort"

type prioritySort struct{}

func (prioritySort) Name() string { return PrioritySortName }

func newPrioritySort(json.RawMessage, framework.Handle) (framework.Plugin, error) {
	return prioritySort{}, nil
}
