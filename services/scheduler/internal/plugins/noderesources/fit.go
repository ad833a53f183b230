package noderesources

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// Name is NodeResourcesFit's name in the registry and in profiles.
// FitName is the same, to read well next to BalancedAllocationName.
const (
	Name    = "NodeResourcesFit"
	FitName = Name
)

// Where Fit's PreFilter and PreScore leave the pod's requests.
const (
	preFilterStateKey framework.StateKey = "PreFilter" + Name
	preScoreStateKey  framework.StateKey = "PreScore" + Name
)

// ErrReasonTooManyPods is the rejection of a node that holds as many pods
// as its allocatable pods. A shortage of another resource is "Insufficient
// " and the resource's name ("Insufficient cpu").
const ErrReasonTooManyPods = "Too many pods"

// Fit filters out the nodes without room for the pod's requests, and
// scores the others by its scoring strategy.
type Fit struct {
	ignoredResources      map[string]bool
	ignoredResourceGroups map[string]bool
	scorer                resourceScorer
}

var (
	_ framework.PreFilterPlugin   = (*Fit)(nil)
	_ framework.FilterPlugin      = (*Fit)(nil)
	_ framework.PreScorePlugin    = (*Fit)(nil)
	_ framework.ScorePlugin       = (*Fit)(nil)
	_ framework.EnqueueExtensions = (*Fit)(nil)
)

// New builds NodeResourcesFit from its JSON arguments (FitArgs; nil for
// the defaults).
func New(args json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	a, err := ParseFitArgs(args)
	if err != nil {
		return nil, err
	}
	s := a.ScoringStrategy
	f := &Fit{
		ignoredResources:      make(map[string]bool, len(a.IgnoredResources)),
		ignoredResourceGroups: make(map[string]bool, len(a.IgnoredResourceGroups)),
	}
	for _, r := range a.IgnoredResources {
		f.ignoredResources[r] = true
	}
	for _, g := range a.IgnoredResourceGroups {
		f.ignoredResourceGroups[g] = true
	}
	switch s.Type {
	case LeastAllocated:
		f.scorer = newResourceScorer(s.Resources, false, leastAllocated, nil)
	case MostAllocated:
		f.scorer = newResourceScorer(s.Resources, false, mostAllocated, nil)
	case RequestedToCapacityRatio:
		f.scorer = newResourceScorer(s.Resources, false, requestedToCapacityRatio, s.RequestedToCapacityRatio.Shape)
	}
	return f, nil
}

// NewFit is New, to read well next to NewBalancedAllocation.
func NewFit(args json.RawMessage, h framework.Handle) (framework.Plugin, error) { return New(args, h) }

// Name returns the plugin's name.
func (f *Fit) Name() string { return Name }

// EventsToRegister: a pod going away (or its requests shrinking, with
// in-place resize) frees room; a new node, or a node whose allocatable
// changed, may have enough.
func (f *Fit) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.ResourcePod, Action: framework.ActionDelete, Label: "AssignedPodDelete"},
		{Resource: framework.ResourcePod, Action: framework.ActionUpdatePodRequest, Label: "PodRequestChange"},
		{Resource: framework.ResourceNode, Action: framework.ActionAdd, Label: "NodeAdd"},
		{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeAllocatable, Label: "NodeAllocatableChange"},
	}
}

// preFilterState is the pod's requests; never modified, so Clone shares
// it.
type preFilterState struct {
	requests *framework.Resource
	// scalars are the extended resources (and other scalar resources) the
	// pod requests that Filter checks, sorted by name, and
	// scalarReasons[i] the rejection for a shortage of scalars[i].
	scalars       []corev1.ResourceName
	scalarReasons []string
}

// Clone returns s itself.
func (s *preFilterState) Clone() framework.StateData { return s }

// newPreFilterState computes what Filter needs of a pod requesting req.
func (f *Fit) newPreFilterState(req *framework.Resource) *preFilterState {
	s := &preFilterState{requests: req}
	if len(req.Scalar) == 0 {
		return s
	}
	for _, name := range slices.Sorted(maps.Keys(req.Scalar)) {
		if f.ignored(name) {
			continue
		}
		s.scalars = append(s.scalars, name)
		s.scalarReasons = append(s.scalarReasons, "Insufficient "+string(name))
	}
	return s
}

// PreFilter computes the pod's requests for Filter.
func (f *Fit) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	state.Write(preFilterStateKey, f.newPreFilterState(framework.PodRequests(pod, false)))
	return nil, nil
}

// Filter rejects a node without room for the pod, with a reason for each
// resource short (see the package documentation for the codes).
func (f *Fit) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, nodeInfo *framework.NodeInfo) *framework.Status {
	s, err := helper.PluginState[*preFilterState](state, preFilterStateKey, Name, "PreFilter")
	if err != nil {
		return framework.AsStatus(err)
	}
	reasons, unresolvable := f.shortages(s, nodeInfo)
	switch {
	case len(reasons) == 0:
		return nil
	case unresolvable:
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, reasons...)
	}
	return framework.NewStatus(framework.Unschedulable, reasons...)
}

// shortages lists why the node cannot take the pod whose requests (and
// extended resources to check) are s's: too many pods, then each
// resource requested beyond what is left (cpu, memory, ephemeral-storage,
// then extended resources by name). unresolvable is set when a request
// exceeds the node's whole allocatable, so that even an empty node would
// not do.
func (f *Fit) shortages(s *preFilterState, nodeInfo *framework.NodeInfo) (reasons []string, unresolvable bool) {
	req := s.requests
	alloc, used := &nodeInfo.Allocatable, &nodeInfo.Requested
	if int64(len(nodeInfo.Pods))+1 > alloc.AllowedPodNumber {
		reasons = append(reasons, ErrReasonTooManyPods)
	}
	check := func(reason string, want, allocatable, inUse int64) {
		if want > 0 && want > allocatable-inUse {
			reasons = append(reasons, reason)
			unresolvable = unresolvable || want > allocatable
		}
	}
	check(reasonInsufficientCPU, req.MilliCPU, alloc.MilliCPU, used.MilliCPU)
	check(reasonInsufficientMemory, req.Memory, alloc.Memory, used.Memory)
	check(reasonInsufficientEphemeralStorage, req.EphemeralStorage, alloc.EphemeralStorage, used.EphemeralStorage)
	for i, name := range s.scalars {
		check(s.scalarReasons[i], req.Scalar[name], alloc.Scalar[name], used.Scalar[name])
	}
	return reasons, unresolvable
}

// The rejections for a shortage of the usual resources.
const (
	reasonInsufficientCPU              = "Insufficient " + string(corev1.ResourceCPU)
	reasonInsufficientMemory           = "Insufficient " + string(corev1.ResourceMemory)
	reasonInsufficientEphemeralStorage = "Insufficient " + string(corev1.ResourceEphemeralStorage)
)

// ignored reports whether name is an extended resource that FitArgs'
// IgnoredResources or IgnoredResourceGroups leave unchecked.
func (f *Fit) ignored(name corev1.ResourceName) bool {
	if !isExtendedResourceName(name) {
		return false
	}
	group, _, _ := strings.Cut(string(name), "/")
	return f.ignoredResources[string(name)] || f.ignoredResourceGroups[group]
}

// isExtendedResourceName reports whether name is an extended resource:
// one in a domain other than kubernetes.io, such as example.com/gpu
// (hugepages-* and other native resources are not).
func isExtendedResourceName(name corev1.ResourceName) bool {
	s := string(name)
	if !strings.Contains(s, "/") || strings.Contains(s, corev1.ResourceDefaultNamespacePrefix) ||
		strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	// The quota name for it, requests.<name>, must be valid too.
	return len(validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+s)) == 0
}

// preScoreState is the pod's requests of the scored resources, in their
// order; never modified, so Clone shares it.
type preScoreState struct {
	podRequests []int64
}

// Clone returns s itself.
func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore computes the pod's requests of the scored resources.
func (f *Fit) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	state.Write(preScoreStateKey, &preScoreState{podRequests: f.scorer.podRequests(pod)})
	return nil
}

// Score scores the node by the scoring strategy, in 0..100.
func (f *Fit) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) (int64, *framework.Status) {
	if s, found, err := helper.LookupPluginState[*preScoreState](state, preScoreStateKey, Name, "PreScore"); err != nil {
		return 0, framework.AsStatus(err)
	} else if found {
		return f.scorer.score(nodeInfo, s.podRequests), nil
	}
	return f.scorer.score(nodeInfo, f.scorer.podRequests(pod)), nil
}
