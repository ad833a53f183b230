package podtopologyspread

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// constraint is a parsed corev1.TopologySpreadConstraint.
type constraint struct {
	maxSkew     int32
	topologyKey string
	// selector selects the pods counted (labelSelector with the pod's
	// matchLabelKeys values); unused when ownerUID is set.
	selector labels.Selector
	// ownerUID, for a default constraint, is the incoming pod's
	// controller: the pods it controls are those counted.
	ownerUID           types.UID
	minDomains         int32
	nodeAffinityPolicy corev1.NodeInclusionPolicy
	nodeTaintsPolicy   corev1.NodeInclusionPolicy
}

// selects reports whether the constraint counts pod (its namespace aside).
func (c *constraint) selects(pod *corev1.Pod) bool {
	if c.ownerUID != "" {
		ref := metav1.GetControllerOfNoCopy(pod)
		return ref != nil && ref.UID == c.ownerUID
	}
	return c.selector.Matches(labels.Set(pod.Labels))
}

// includesNode reports whether node counts for the constraint given the
// incoming pod's node affinity (aff) and tolerations.
func (c *constraint) includesNode(pod *corev1.Pod, node *corev1.Node, aff *nodeAffinity) bool {
	if c.nodeAffinityPolicy == corev1.NodeInclusionPolicyHonor && !aff.matches(node) {
		return false
	}
	if c.nodeTaintsPolicy == corev1.NodeInclusionPolicyHonor && hasUntoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations) {
		return false
	}
	return true
}

// countMatching counts the pods c selects among pods, in namespace ns and
// not terminating.
func countMatching(pods []*framework.PodInfo, c *constraint, ns string) int {
	n := 0
	for _, p := range pods {
		if counts(p.Pod, c, ns) {
			n++
		}
	}
	return n
}

// counts reports whether pod counts for c in namespace ns.
func counts(pod *corev1.Pod, c *constraint, ns string) bool {
	return pod.DeletionTimestamp == nil && pod.Namespace == ns && c.selects(pod)
}

// hasAllTopologyKeys reports whether nodeLabels has every constraint's
// topology key: only such nodes count.
func hasAllTopologyKeys(nodeLabels map[string]string, cs []constraint) bool {
	for i := range cs {
		if _, ok := nodeLabels[cs[i].topologyKey]; !ok {
			return false
		}
	}
	return true
}

// constraintsFor returns pod's constraints with the given
// whenUnsatisfiable: its own when it has any (of either kind), else the
// default ones.
func (pl *PodTopologySpread) constraintsFor(pod *corev1.Pod, action corev1.UnsatisfiableConstraintAction) ([]constraint, error) {
	if len(pod.Spec.TopologySpreadConstraints) > 0 {
		return parseConstraints(pod.Spec.TopologySpreadConstraints, pod.Labels, action)
	}
	cs, err := parseConstraints(pl.defaultConstraints, pod.Labels, action)
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	owner := spreadingOwner(pod)
	if owner == "" {
		return nil, nil
	}
	for i := range cs {
		cs[i].selector, cs[i].ownerUID = nil, owner
	}
	return cs, nil
}

// parseConstraints parses the constraints with the given
// whenUnsatisfiable, narrowing each selector by its matchLabelKeys with
// podLabels' values and defaulting minDomains to 1, nodeAffinityPolicy
// to Honor and nodeTaintsPolicy to Ignore.
func parseConstraints(tscs []corev1.TopologySpreadConstraint, podLabels map[string]string, action corev1.UnsatisfiableConstraintAction) ([]constraint, error) {
	var out []constraint
	for _, tsc := range tscs {
		if tsc.WhenUnsatisfiable != action {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
		if err != nil {
			return nil, err
		}
		if len(tsc.MatchLabelKeys) > 0 {
			own := labels.Set{}
			for _, k := range tsc.MatchLabelKeys {
				if v, ok := podLabels[k]; ok {
					own[k] = v
				}
			}
			if len(own) > 0 {
				merged := labels.SelectorFromSet(own)
				if reqs, ok := sel.Requirements(); ok {
					merged = merged.Add(reqs...)
				}
				sel = merged
			}
		}
		c := constraint{
			maxSkew:            tsc.MaxSkew,
			topologyKey:        tsc.TopologyKey,
			selector:           sel,
			minDomains:         1,
			nodeAffinityPolicy: corev1.NodeInclusionPolicyHonor,
			nodeTaintsPolicy:   corev1.NodeInclusionPolicyIgnore,
		}
		if tsc.MinDomains != nil {
			c.minDomains = *tsc.MinDomains
		}
		if tsc.NodeAffinityPolicy != nil {
			c.nodeAffinityPolicy = *tsc.NodeAffinityPolicy
		}
		if tsc.NodeTaintsPolicy != nil {
			c.nodeTaintsPolicy = *tsc.NodeTaintsPolicy
		}
		out = append(out, c)
	}
	return out, nil
}

// spreadingOwner returns the UID of pod's controller when default
// spreading applies to it: a ReplicationController, ReplicaSet or
// StatefulSet, the controllers whose selectors Kubernetes' defaulting
// uses. "" otherwise.
func spreadingOwner(pod *corev1.Pod) types.UID {
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil {
		return ""
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return ""
	}
	switch gv.WithKind(ref.Kind) {
	case corev1.SchemeGroupVersion.WithKind("ReplicationController"),
		appsv1.SchemeGroupVersion.WithKind("ReplicaSet"),
		appsv1.SchemeGroupVersion.WithKind("StatefulSet"):
		return ref.UID
	}
	return ""
}

// nodeAffinity is a pod's nodeSelector and required node affinity, as a
// matcher of nodes.
type nodeAffinity struct {
	// nodeSelector is nil when the pod has none.
	nodeSelector labels.Selector
	// required is set when the pod has required node affinity: then a
	// node must match one of terms.
	required bool
	terms    []nodeSelectorTerm
}

// nodeSelectorTerm is a parsed corev1.NodeSelectorTerm: a node matches
// when it matches both selectors (nil ones match).
type nodeSelectorTerm struct {
	labels labels.Selector
	fields fields.Selector
	// err is a parse error: such a term matches no node, and makes the
	// nodes of the terms after it not match either (as in Kubernetes).
	err error
}

// newNodeAffinity parses pod's nodeSelector and required node affinity.
func newNodeAffinity(pod *corev1.Pod) *nodeAffinity {
	a := &nodeAffinity{}
	if len(pod.Spec.NodeSelector) > 0 {
		a.nodeSelector = labels.SelectorFromSet(pod.Spec.NodeSelector)
	}
	na := pod.Spec.Affinity
	if na == nil || na.NodeAffinity == nil || na.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return a
	}
	a.required = true
	for _, t := range na.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
			continue // an empty term selects no node
		}
		a.terms = append(a.terms, newNodeSelectorTerm(&t))
	}
	return a
}

func newNodeSelectorTerm(t *corev1.NodeSelectorTerm) nodeSelectorTerm {
	var out nodeSelectorTerm
	if len(t.MatchExpressions) > 0 {
		out.labels, out.err = labelRequirements(t.MatchExpressions)
		if out.err != nil {
			return out
		}
	}
	if len(t.MatchFields) > 0 {
		out.fields, out.err = fieldRequirements(t.MatchFields)
	}
	return out
}

func labelRequirements(exprs []corev1.NodeSelectorRequirement) (labels.Selector, error) {
	sel := labels.NewSelector()
	for _, e := range exprs {
		var op selection.Operator
		switch e.Operator {
		case corev1.NodeSelectorOpIn:
			op = selection.In
		case corev1.NodeSelectorOpNotIn:
			op = selection.NotIn
		case corev1.NodeSelectorOpExists:
			op = selection.Exists
		case corev1.NodeSelectorOpDoesNotExist:
			op = selection.DoesNotExist
		case corev1.NodeSelectorOpGt:
			op = selection.GreaterThan
		case corev1.NodeSelectorOpLt:
			op = selection.LessThan
		default:
			return nil, fmt.Errorf("%q is not a valid label selector operator", e.Operator)
		}
		r, err := labels.NewRequirement(e.Key, op, e.Values)
		if err != nil {
			return nil, err
		}
		sel = sel.Add(*r)
	}
	return sel, nil
}

// fieldRequirements parses matchFields: In and NotIn with one value each
// (metadata.name is the only field a node offers).
func fieldRequirements(exprs []corev1.NodeSelectorRequirement) (fields.Selector, error) {
	var sels []fields.Selector
	for _, e := range exprs {
		if len(e.Values) != 1 {
			return nil, fmt.Errorf("unexpected number of value (%d) for node field selector operator %q", len(e.Values), e.Operator)
		}
		switch e.Operator {
		case corev1.NodeSelectorOpIn:
			sels = append(sels, fields.OneTermEqualSelector(e.Key, e.Values[0]))
		case corev1.NodeSelectorOpNotIn:
			sels = append(sels, fields.OneTermNotEqualSelector(e.Key, e.Values[0]))
		default:
			return nil, fmt.Errorf("%q is not a valid node field selector operator", e.Operator)
		}
	}
	return fields.AndSelectors(sels...), nil
}

// matches reports whether node passes the nodeSelector and the required
// node affinity.
func (a *nodeAffinity) matches(node *corev1.Node) bool {
	if a.nodeSelector != nil && !a.nodeSelector.Matches(labels.Set(node.Labels)) {
		return false
	}
	if !a.required {
		return true
	}
	nodeLabels := labels.Set(node.Labels)
	nodeFields := fields.Set{"metadata.name": node.Name}
	for _, t := range a.terms {
		if t.err != nil {
			return false
		}
		if (t.labels == nil || t.labels.Matches(nodeLabels)) && (t.fields == nil || t.fields.Matches(nodeFields)) {
			return true
		}
	}
	return false
}

// hasUntoleratedTaint reports whether one of the NoSchedule or NoExecute
// taints is tolerated by none of the tolerations.
func hasUntoleratedTaint(taints []corev1.Taint, tolerations []corev1.Toleration) bool {
	_, found := helper.FindUntoleratedTaint(taints, tolerations, helper.DoNotScheduleTaint)
	return found
}
