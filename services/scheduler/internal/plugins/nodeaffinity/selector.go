package nodeaffinity

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// This file matches nodes against corev1 node selectors the way
// k8s.io/component-helpers/scheduling/corev1/nodeaffinity does (that
// module is not among the scheduler's dependencies): label expressions
// through apimachinery's labels.Requirement, which has the semantics and
// validation of the API (In, NotIn, Exists, DoesNotExist, and Gt, Lt on
// integer values), and field expressions on metadata.name, the only node
// field the API accepts.

// nodeSelectorTerm is a parsed corev1.NodeSelectorTerm: its label and
// field requirements, ANDed.
type nodeSelectorTerm struct {
	// labels is nil when the term has no matchExpressions.
	labels labels.Selector
	fields []fieldRequirement
}

// fieldRequirement is one matchFields expression: the node's field key
// equals value (In) or does not (NotIn).
type fieldRequirement struct {
	key   string
	value string
	in    bool
}

// isEmptyTerm reports whether a term has no requirement at all; such a
// term matches no node.
func isEmptyTerm(t *corev1.NodeSelectorTerm) bool {
	return len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0
}

// parseTerm parses a non-empty term.
func parseTerm(t *corev1.NodeSelectorTerm) (nodeSelectorTerm, error) {
	var term nodeSelectorTerm
	if len(t.MatchExpressions) > 0 {
		sel := labels.NewSelector()
		for _, e := range t.MatchExpressions {
			op, ok := labelOperators[e.Operator]
			if !ok {
				return term, fmt.Errorf("%q is not a valid node selector operator", e.Operator)
			}
			r, err := labels.NewRequirement(e.Key, op, e.Values)
			if err != nil {
				return term, err
			}
			sel = sel.Add(*r)
		}
		term.labels = sel
	}
	for _, e := range t.MatchFields {
		if e.Operator != corev1.NodeSelectorOpIn && e.Operator != corev1.NodeSelectorOpNotIn {
			return term, fmt.Errorf("%q is not a valid node field selector operator", e.Operator)
		}
		if len(e.Values) != 1 {
			return term, fmt.Errorf("unexpected number of value (%d) for node field selector operator %q", len(e.Values), e.Operator)
		}
		term.fields = append(term.fields, fieldRequirement{key: e.Key, value: e.Values[0], in: e.Operator == corev1.NodeSelectorOpIn})
	}
	return term, nil
}

var labelOperators = map[corev1.NodeSelectorOperator]selection.Operator{
	corev1.NodeSelectorOpIn:           selection.In,
	corev1.NodeSelectorOpNotIn:        selection.NotIn,
	corev1.NodeSelectorOpExists:       selection.Exists,
	corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
	corev1.NodeSelectorOpGt:           selection.GreaterThan,
	corev1.NodeSelectorOpLt:           selection.LessThan,
}

// matches reports whether node meets every requirement of the term. As
// in Kubernetes, field requirements are not checked against a node
// without a name.
func (t *nodeSelectorTerm) matches(node *corev1.Node) bool {
	if t.labels != nil && !t.labels.Matches(labels.Set(node.Labels)) {
		return false
	}
	if node.Name == "" {
		return true
	}
	for _, f := range t.fields {
		var v string // an unknown field is empty
		if f.key == metav1.ObjectNameField {
			v = node.Name
		}
		if (v == f.value) != f.in {
			return false
		}
	}
	return true
}

// nodeSelector is a parsed corev1.NodeSelector: its terms, ORed.
type nodeSelector struct {
	terms []nodeSelectorTerm
}

// newNodeSelector parses ns. Empty terms are dropped: they match no
// node. A term that does not parse is an error when strict; otherwise it
// is dropped too, since it can never match, and the other terms still
// count (Kubernetes ignores such errors in pods for backwards
// compatibility; the API server rejects them anyway).
func newNodeSelector(ns *corev1.NodeSelector, strict bool) (*nodeSelector, error) {
	s := &nodeSelector{}
	var errs []error
	for i := range ns.NodeSelectorTerms {
		t := &ns.NodeSelectorTerms[i]
		if isEmptyTerm(t) {
			continue
		}
		term, err := parseTerm(t)
		if err != nil {
			errs = append(errs, fmt.Errorf("nodeSelectorTerms[%d]: %w", i, err))
			continue
		}
		s.terms = append(s.terms, term)
	}
	if strict && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// matches reports whether one of the terms matches node.
func (s *nodeSelector) matches(node *corev1.Node) bool {
	for i := range s.terms {
		if s.terms[i].matches(node) {
			return true
		}
	}
	return false
}

// preferredTerm is a parsed corev1.PreferredSchedulingTerm.
type preferredTerm struct {
	nodeSelectorTerm
	weight int64
}

// preferredTerms are the terms a node's score adds up.
type preferredTerms []preferredTerm

// newPreferredTerms parses terms, leaving out those of weight 0 and the
// empty ones. Any term that does not parse is an error.
func newPreferredTerms(terms []corev1.PreferredSchedulingTerm) (preferredTerms, error) {
	var out preferredTerms
	var errs []error
	for i := range terms {
		t := &terms[i]
		if t.Weight == 0 || isEmptyTerm(&t.Preference) {
			continue
		}
		term, err := parseTerm(&t.Preference)
		if err != nil {
			errs = append(errs, fmt.Errorf("preferredSchedulingTerms[%d]: %w", i, err))
			continue
		}
		out = append(out, preferredTerm{nodeSelectorTerm: term, weight: int64(t.Weight)})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// score adds up the weights of the terms node matches.
func (p preferredTerms) score(node *corev1.Node) int64 {
	var sum int64
	for i := range p {
		if p[i].matches(node) {
			sum += p[i].weight
		}
	}
	return sum
}

// requiredAffinity is what a pod requires of its node: its nodeSelector
// labels and its required node affinity, both.
type requiredAffinity struct {
	nodeSelector map[string]string
	// affinity is nil when the pod has no required node affinity.
	affinity *nodeSelector
}

// podRequiredAffinity parses the pod's requirements.
func podRequiredAffinity(pod *corev1.Pod) *requiredAffinity {
	r := &requiredAffinity{nodeSelector: pod.Spec.NodeSelector}
	if ns := podRequiredNodeSelector(pod); ns != nil {
		r.affinity, _ = newNodeSelector(ns, false) // lenient: never fails
	}
	return r
}

// podRequiredNodeSelector returns the pod's
// requiredDuringSchedulingIgnoredDuringExecution, or nil.
func podRequiredNodeSelector(pod *corev1.Pod) *corev1.NodeSelector {
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		return a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	}
	return nil
}

// matches reports whether node has every nodeSelector label, with its
// value, and matches the required affinity.
func (r *requiredAffinity) matches(node *corev1.Node) bool {
	for k, v := range r.nodeSelector {
		if got, ok := node.Labels[k]; !ok || got != v {
			return false
		}
	}
	return r.affinity == nil || r.affinity.matches(node)
}
