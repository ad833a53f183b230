package podtopologyspread

import (
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "PodTopologySpread"

// Filter's rejection reasons, exactly as kube-scheduler words them.
const (
	// ErrReasonConstraintsNotMatch: the pod would make a domain too
	// crowded (skew above maxSkew).
	ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
	// ErrReasonNodeLabelNotMatch: the node lacks a constraint's topology
	// label.
	ErrReasonNodeLabelNotMatch = ErrReasonConstraintsNotMatch + " (missing required label)"
)

// DefaultingType says where default constraints come from.
type DefaultingType string

const (
	// SystemDefaulting uses the built-in constraints (hostname maxSkew 3,
	// zone maxSkew 5, both ScheduleAnyway).
	SystemDefaulting DefaultingType = "System"
	// ListDefaulting uses Args.DefaultConstraints.
	ListDefaulting DefaultingType = "List"
)

// Args are the plugin's arguments (pluginConfig args), as in
// kube-scheduler's PodTopologySpreadArgs.
type Args struct {
	// DefaultConstraints apply, with ListDefaulting, to pods without
	// constraints of their own. They must not have a labelSelector: the
	// pods they count are those of the incoming pod's controller.
	DefaultConstraints []corev1.TopologySpreadConstraint `json:"defaultConstraints,omitempty"`
	// DefaultingType is System (the default) or List.
	DefaultingType DefaultingType `json:"defaultingType,omitempty"`
}

// systemDefaultConstraints are Kubernetes' built-in default constraints.
var systemDefaultConstraints = []corev1.TopologySpreadConstraint{
	{TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.ScheduleAnyway, MaxSkew: 3},
	{TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.ScheduleAnyway, MaxSkew: 5},
}

// PodTopologySpread implements topology spread constraints.
type PodTopologySpread struct {
	handle             framework.Handle
	defaultConstraints []corev1.TopologySpreadConstraint
	// systemDefaulted: the default constraints are the system ones, under
	// which nodes missing a zone label still get hostname spreading.
	systemDefaulted bool
	// counts caches, across scheduling cycles, what each unchanged node
	// contributes to a constraint: its topology value and matching pods.
	counts *countCache
}

var (
	_ framework.PreFilterPlugin     = (*PodTopologySpread)(nil)
	_ framework.PreFilterExtensions = (*PodTopologySpread)(nil)
	_ framework.FilterPlugin        = (*PodTopologySpread)(nil)
	_ framework.PreScorePlugin      = (*PodTopologySpread)(nil)
	_ framework.ScorePlugin         = (*PodTopologySpread)(nil)
	_ framework.ScoreNormalizer     = (*PodTopologySpread)(nil)
	_ framework.EnqueueExtensions   = (*PodTopologySpread)(nil)
)

// New builds the plugin from its JSON arguments (nil for the defaults).
// h may be nil in tests that only filter; scoring needs its
// SnapshotSharedLister.
func New(args json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	a, err := decodeArgs(args)
	if err != nil {
		return nil, err
	}
	if err := validateArgs(&a); err != nil {
		return nil, fmt.Errorf("%s args: %w", Name, err)
	}
	pl := &PodTopologySpread{handle: h, defaultConstraints: a.DefaultConstraints, counts: newCountCache()}
	if a.DefaultingType == SystemDefaulting {
		pl.defaultConstraints = systemDefaultConstraints
		pl.systemDefaulted = true
	}
	return pl, nil
}

func decodeArgs(raw json.RawMessage) (Args, error) {
	a := Args{DefaultingType: SystemDefaulting}
	if err := helper.DecodeArgs(Name, raw, &a); err != nil {
		return a, err
	}
	if a.DefaultingType == "" {
		a.DefaultingType = SystemDefaulting
	}
	return a, nil
}

// validateArgs checks the arguments as kube-scheduler's validation does.
func validateArgs(a *Args) error {
	var errs []error
	switch a.DefaultingType {
	case SystemDefaulting:
		if len(a.DefaultConstraints) > 0 {
			errs = append(errs, errors.New(`defaultConstraints: Invalid value: when .defaultingType is "System", .defaultConstraints must be empty`))
		}
	case ListDefaulting:
	default:
		errs = append(errs, fmt.Errorf(`defaultingType: Unsupported value: %q: supported values: "List", "System"`, a.DefaultingType))
	}
	type keyAction struct {
		key    string
		action corev1.UnsatisfiableConstraintAction
	}
	seen := map[keyAction]bool{}
	for i, c := range a.DefaultConstraints {
		path := fmt.Sprintf("defaultConstraints[%d]", i)
		if c.MaxSkew <= 0 {
			errs = append(errs, fmt.Errorf("%s.maxSkew: Invalid value: %d: must be greater than zero", path, c.MaxSkew))
		}
		if c.TopologyKey == "" {
			errs = append(errs, fmt.Errorf("%s.topologyKey: Required value: can not be empty", path))
		}
		if c.WhenUnsatisfiable != corev1.DoNotSchedule && c.WhenUnsatisfiable != corev1.ScheduleAnyway {
			errs = append(errs, fmt.Errorf(`%s.whenUnsatisfiable: Unsupported value: %q: supported values: "DoNotSchedule", "ScheduleAnyway"`, path, c.WhenUnsatisfiable))
		}
		if c.LabelSelector != nil {
			errs = append(errs, fmt.Errorf("%s.labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod", path))
		}
		k := keyAction{c.TopologyKey, c.WhenUnsatisfiable}
		if seen[k] {
			errs = append(errs, fmt.Errorf("%s: Duplicate value: {%q, %q}", path, c.TopologyKey, c.WhenUnsatisfiable))
		}
		seen[k] = true
	}
	return errors.Join(errs...)
}

// Name returns the plugin's name.
func (pl *PodTopologySpread) Name() string { return Name }

// EventsToRegister lists what may make a pod this plugin rejected
// schedulable: any pod change (a pod coming, going or relabelled changes
// the counts) and nodes coming, going, relabelled or (re)tainted (the
// domains and the nodes that count change).
func (pl *PodTopologySpread) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.ResourcePod, Action: framework.ActionAll},
		{Resource: framework.ResourceNode, Action: framework.ActionAdd | framework.ActionDelete | framework.ActionUpdateNodeLabel | framework.ActionUpdateNodeTaint},
	}
}
