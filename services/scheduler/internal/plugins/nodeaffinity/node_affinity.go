// Package nodeaffinity is the NodeAffinity plugin: it keeps a pod to the
// nodes its spec.nodeSelector and required node affinity allow, and ranks
// nodes by the weights of the preferred node affinity terms they match,
// as kube-scheduler does.
//
// Matching: nodeSelector needs every label with its value; the required
// affinity's nodeSelectorTerms are ORed, the expressions within a term
// ANDed; matchExpressions take In, NotIn, Exists, DoesNotExist, Gt and Lt
// on node labels, matchFields In and NotIn on metadata.name. A term
// without expressions matches nothing, and so does a term that does not
// parse (the API server rejects those).
//
// Args.AddedAffinity, as in Kubernetes' NodeAffinityArgs, adds a
// required and preferred affinity to every pod of the profile.
package nodeaffinity

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "NodeAffinity"

// Rejection reasons, all UnschedulableAndUnresolvable.
const (
	// ErrReasonPod is for a node that the pod's nodeSelector or required
	// node affinity excludes.
	ErrReasonPod = "node(s) didn't match Pod's node affinity/selector"
	// ErrReasonEnforced is for a node that Args.AddedAffinity excludes.
	ErrReasonEnforced = "node(s) didn't match scheduler-enforced node affinity"
	// ErrReasonConflict is PreFilter's when every required term names
	// nodes (metadata.name In) and no node satisfies all of a term's.
	ErrReasonConflict = "pod affinity terms conflict"
	// errReasonNodeNotFound is for a NodeInfo without its Node.
	errReasonNodeNotFound = "node(s) not found"
)

// Where PreFilter and PreScore leave what they parsed of the pod.
const (
	preFilterStateKey framework.StateKey = "PreFilter" + Name
	preScoreStateKey  framework.StateKey = "PreScore" + Name
)

// Args are the plugin's arguments, as in Kubernetes' NodeAffinityArgs.
type Args struct {
	// AddedAffinity is applied to every pod, in addition to (ANDed with)
	// the pod's own: its required terms must match, its preferred terms
	// add to the score. Its terms must parse.
	AddedAffinity *corev1.NodeAffinity `json:"addedAffinity,omitempty"`
}

// rawArgs also accepts the apiVersion and kind that a
// KubeSchedulerConfiguration file carries.
type rawArgs struct {
	helper.TypeMeta
	Args
}

// NodeAffinity filters and scores nodes by node affinity.
type NodeAffinity struct {
	// addedRequired and addedPreferred come from Args.AddedAffinity
	// (nil when it has none).
	addedRequired  *nodeSelector
	addedPreferred preferredTerms
}

var (
	_ framework.PreFilterPlugin   = (*NodeAffinity)(nil)
	_ framework.FilterPlugin      = (*NodeAffinity)(nil)
	_ framework.PreScorePlugin    = (*NodeAffinity)(nil)
	_ framework.ScorePlugin       = (*NodeAffinity)(nil)
	_ framework.ScoreNormalizer   = (*NodeAffinity)(nil)
	_ framework.EnqueueExtensions = (*NodeAffinity)(nil)
)

// New builds the plugin from its JSON arguments (nil for none).
func New(args json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	a, err := ParseArgs(args)
	if err != nil {
		return nil, err
	}
	pl := &NodeAffinity{}
	if a.AddedAffinity == nil {
		return pl, nil
	}
	if ns := a.AddedAffinity.RequiredDuringSchedulingIgnoredDuringExecution; ns != nil {
		if pl.addedRequired, err = newNodeSelector(ns, true); err != nil {
			return nil, fmt.Errorf("%s args: addedAffinity.requiredDuringSchedulingIgnoredDuringExecution: %w", Name, err)
		}
	}
	if terms := a.AddedAffinity.PreferredDuringSchedulingIgnoredDuringExecution; len(terms) > 0 {
		if pl.addedPreferred, err = newPreferredTerms(terms); err != nil {
			return nil, fmt.Errorf("%s args: addedAffinity.preferredDuringSchedulingIgnoredDuringExecution: %w", Name, err)
		}
	}
	return pl, nil
}

// ParseArgs decodes the plugin's arguments (nil, empty or null: none).
// Unknown fields are an error. Whether AddedAffinity's terms parse is
// checked by New.
func ParseArgs(raw json.RawMessage) (Args, error) {
	var in rawArgs
	if err := helper.DecodeArgs(Name, raw, &in); err != nil {
		return Args{}, err
	}
	if err := in.CheckKind(Name, "NodeAffinityArgs"); err != nil {
		return Args{}, err
	}
	return in.Args, nil
}

// Name returns the plugin's name.
func (pl *NodeAffinity) Name() string { return Name }

// EventsToRegister: a new node, or a node whose labels changed, may match.
func (pl *NodeAffinity) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.ResourceNode, Action: framework.ActionAdd, Label: "NodeAdd"},
		{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeLabel, Label: "NodeLabelChange"},
	}
}

// preFilterState is the pod's parsed requirements; never modified, so
// Clone shares it.
type preFilterState struct {
	required *requiredAffinity
}

// Clone returns s itself.
func (s *preFilterState) Clone() framework.StateData { return s }

// PreFilter parses the pod's requirements for Filter, which it skips for
// a pod with none (and no AddedAffinity). When every required term names
// its nodes (matchFields metadata.name In), only those nodes are worth
// filtering: the result lists them, or the pod is rejected when the terms
// leave none.
func (pl *NodeAffinity) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	required := podRequiredNodeSelector(pod)
	if required == nil && pl.addedRequired == nil && len(pod.Spec.NodeSelector) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	state.Write(preFilterStateKey, &preFilterState{required: podRequiredAffinity(pod)})
	if required == nil {
		return nil, nil
	}
	names := namedNodes(required.NodeSelectorTerms)
	switch {
	case names == nil:
		return nil, nil
	case len(names) == 0:
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonConflict)
	}
	return &framework.PreFilterResult{NodeNames: names}, nil
}

// namedNodes returns the only nodes terms can match when each of them
// names nodes with metadata.name In: per term the intersection of its
// name lists, over the terms the union. It returns nil when a term does
// not name nodes, or when there are no terms.
func namedNodes(terms []corev1.NodeSelectorTerm) map[string]bool {
	var union map[string]bool
	for _, t := range terms {
		var term map[string]bool
		for _, r := range t.MatchFields {
			if r.Key != metav1.ObjectNameField || r.Operator != corev1.NodeSelectorOpIn {
				continue
			}
			in := make(map[string]bool, len(r.Values))
			for _, v := range r.Values {
				if term == nil || term[v] {
					in[v] = true
				}
			}
			term = in
		}
		if term == nil {
			return nil
		}
		if union == nil {
			union = map[string]bool{}
		}
		for n := range term {
			union[n] = true
		}
	}
	return union
}

// Filter rejects a node that AddedAffinity excludes, then one the pod's
// own nodeSelector or required affinity excludes.
func (pl *NodeAffinity) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) *framework.Status {
	if nodeInfo == nil || nodeInfo.Node == nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, errReasonNodeNotFound)
	}
	node := nodeInfo.Node
	if pl.addedRequired != nil && !pl.addedRequired.matches(node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonEnforced)
	}
	var required *requiredAffinity
	if s, found, err := helper.LookupPluginState[*preFilterState](state, preFilterStateKey, Name, "PreFilter"); err != nil {
		return framework.AsStatus(err)
	} else if found {
		required = s.required
	} else {
		required = podRequiredAffinity(pod)
	}
	if !required.matches(node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPod)
	}
	return nil
}

// preScoreState is the pod's parsed preferred terms; never modified, so
// Clone shares it.
type preScoreState struct {
	preferred preferredTerms
}

// Clone returns s itself.
func (s *preScoreState) Clone() framework.StateData { return s }

// podPreferredTerms parses the pod's preferred node affinity terms.
func podPreferredTerms(pod *corev1.Pod) (preferredTerms, error) {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return nil, nil
	}
	return newPreferredTerms(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
}

// PreScore parses the pod's preferred terms, and skips scoring when
// neither the pod nor AddedAffinity has any. A term that does not parse
// is an Error.
func (pl *NodeAffinity) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	preferred, err := podPreferredTerms(pod)
	if err != nil {
		return framework.AsStatus(fmt.Errorf("%s: %w", Name, err))
	}
	if len(preferred) == 0 && len(pl.addedPreferred) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(preScoreStateKey, &preScoreState{preferred: preferred})
	return nil
}

// Score adds up the weights of the preferred terms, the pod's and
// AddedAffinity's, that the node matches.
func (pl *NodeAffinity) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) (int64, *framework.Status) {
	if nodeInfo == nil || nodeInfo.Node == nil {
		return 0, framework.AsStatus(fmt.Errorf("%s: node %q not found", Name, nodeInfo.Name()))
	}
	var preferred preferredTerms
	if s, found, err := helper.LookupPluginState[*preScoreState](state, preScoreStateKey, Name, "PreScore"); err != nil {
		return 0, framework.AsStatus(err)
	} else if found {
		preferred = s.preferred
	} else if preferred, err = podPreferredTerms(pod); err != nil {
		return 0, framework.AsStatus(fmt.Errorf("%s: %w", Name, err))
	}
	return pl.addedPreferred.score(nodeInfo.Node) + preferred.score(nodeInfo.Node), nil
}

// NormalizeScore scales the sums linearly so that the best node scores
// framework.MaxNodeScore (integer division, as Kubernetes'
// DefaultNormalizeScore); when no node matches any term, all stay 0.
func (pl *NodeAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	helper.DefaultNormalizeScore(framework.MaxNodeScore, false, scores)
	return nil
}
