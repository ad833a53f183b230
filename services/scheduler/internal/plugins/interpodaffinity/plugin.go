package interpodaffinity

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "InterPodAffinity"

// DefaultHardPodAffinityWeight is the score weight of an existing pod's
// required affinity term that the incoming pod matches.
const DefaultHardPodAffinityWeight int32 = 1

// Args are the plugin's arguments (pluginConfig args), as in
// kube-scheduler's InterPodAffinityArgs.
type Args struct {
	// HardPodAffinityWeight is the weight, in 0..100, given when scoring
	// to an existing pod's required affinity term that the incoming pod
	// matches (symmetry: the existing pod wants to be near such pods).
	// Unset means DefaultHardPodAffinityWeight.
	HardPodAffinityWeight *int32 `json:"hardPodAffinityWeight,omitempty"`
	// IgnorePreferredTermsOfExistingPods skips scoring entirely for a pod
	// without preferred terms of its own, ignoring the existing pods'
	// preferences.
	IgnorePreferredTermsOfExistingPods bool `json:"ignorePreferredTermsOfExistingPods,omitempty"`
}

// NamespaceLister gives the namespaces and their labels, to evaluate
// namespaceSelectors. client-go's corev1 NamespaceLister implements it.
type NamespaceLister interface {
	List(selector labels.Selector) ([]*corev1.Namespace, error)
	Get(name string) (*corev1.Namespace, error)
}

// NamespaceListerProvider is an optional interface of framework.Handle
// (which lacks namespaces): a Handle implementing it lets the plugin
// evaluate non-empty namespaceSelectors. NamespaceLister may return nil.
type NamespaceListerProvider interface {
	NamespaceLister() NamespaceLister
}

// InterPodAffinity implements pod affinity and anti-affinity.
type InterPodAffinity struct {
	handle                framework.Handle
	hardPodAffinityWeight int32
	ignoreExistingPrefs   bool
}

var (
	_ framework.PreFilterPlugin     = (*InterPodAffinity)(nil)
	_ framework.PreFilterExtensions = (*InterPodAffinity)(nil)
	_ framework.FilterPlugin        = (*InterPodAffinity)(nil)
	_ framework.PreScorePlugin      = (*InterPodAffinity)(nil)
	_ framework.ScorePlugin         = (*InterPodAffinity)(nil)
	_ framework.ScoreNormalizer     = (*InterPodAffinity)(nil)
	_ framework.EnqueueExtensions   = (*InterPodAffinity)(nil)
)

// New builds the plugin from its JSON arguments (nil for the defaults).
// h may be nil in tests that only filter; scoring needs its
// SnapshotSharedLister.
func New(args json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	a, err := decodeArgs(args)
	if err != nil {
		return nil, err
	}
	w := DefaultHardPodAffinityWeight
	if a.HardPodAffinityWeight != nil {
		w = *a.HardPodAffinityWeight
	}
	if w < 0 || w > 100 {
		return nil, fmt.Errorf("%s args: hardPodAffinityWeight: Invalid value: %d: not in valid range [0-100]", Name, w)
	}
	return &InterPodAffinity{handle: h, hardPodAffinityWeight: w, ignoreExistingPrefs: a.IgnorePreferredTermsOfExistingPods}, nil
}

func decodeArgs(raw json.RawMessage) (Args, error) {
	var a Args
	err := helper.DecodeArgs(Name, raw, &a)
	return a, err
}

// Name returns the plugin's name.
func (pl *InterPodAffinity) Name() string { return Name }

// EventsToRegister lists what may make a pod this plugin rejected
// schedulable: pods coming, going or relabelled (they may be the ones to
// be near or away from), and nodes coming or relabelled (new topology).
func (pl *InterPodAffinity) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.ResourcePod, Action: framework.ActionAdd | framework.ActionDelete | framework.ActionUpdatePodLabel},
		{Resource: framework.ResourceNode, Action: framework.ActionAdd | framework.ActionUpdateNodeLabel},
	}
}

// namespaceLister returns the Handle's namespace lister, or nil.
func (pl *InterPodAffinity) namespaceLister() NamespaceLister {
	if p, ok := pl.handle.(NamespaceListerProvider); ok {
		return p.NamespaceLister()
	}
	return nil
}

// namespaceLabelsOf returns the labels of namespace ns for matching
// namespaceSelectors: nil when the plugin has no namespace lister
// (unknown: no non-empty namespaceSelector matches), an empty set when
// the namespace is not found (as Kubernetes assumes).
func namespaceLabelsOf(nsl NamespaceLister, ns string) labels.Set {
	if nsl == nil {
		return nil
	}
	n, err := nsl.Get(ns)
	if err != nil || n == nil {
		return labels.Set{}
	}
	return labels.Merge(n.Labels, nil)
}
