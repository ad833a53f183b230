package storageutil

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// VolumeNodeMatches reports whether a volume may be used on node: it has
// no required node affinity, or one of its terms matches the node's
// labels (matchExpressions) and name (matchFields on metadata.name), as
// Kubernetes' CheckNodeAffinity decides. A term without expressions or
// fields matches nothing; a term that does not parse is an error.
func VolumeNodeMatches(pv *corev1.PersistentVolume, node *corev1.Node) (bool, error) {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return true, nil
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		ok, err := termMatches(term, node)
		if err != nil {
			return false, fmt.Errorf("node affinity of volume %s: %w", pv.Name, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

func termMatches(term corev1.NodeSelectorTerm, node *corev1.Node) (bool, error) {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false, nil
	}
	for _, r := range term.MatchExpressions {
		req, err := requirement(r.Key, r.Operator, r.Values)
		if err != nil {
			return false, err
		}
		if !req.Matches(labels.Set(node.Labels)) {
			return false, nil
		}
	}
	for _, r := range term.MatchFields {
		if r.Key != "metadata.name" {
			return false, fmt.Errorf("field selector key %q is not supported", r.Key)
		}
		req, err := requirement(r.Key, r.Operator, r.Values)
		if err != nil {
			return false, err
		}
		if !req.Matches(labels.Set{"metadata.name": node.Name}) {
			return false, nil
		}
	}
	return true, nil
}

var operators = map[corev1.NodeSelectorOperator]selection.Operator{
	corev1.NodeSelectorOpIn:           selection.In,
	corev1.NodeSelectorOpNotIn:        selection.NotIn,
	corev1.NodeSelectorOpExists:       selection.Exists,
	corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
	corev1.NodeSelectorOpGt:           selection.GreaterThan,
	corev1.NodeSelectorOpLt:           selection.LessThan,
}

func requirement(key string, op corev1.NodeSelectorOperator, values []string) (*labels.Requirement, error) {
	sop, ok := operators[op]
	if !ok {
		return nil, fmt.Errorf("%q is not a valid node selector operator", op)
	}
	return labels.NewRequirement(key, sop, values)
}

// HostnameAffinity is the node affinity of a volume that lives on one
// node: kubernetes.io/hostname In [hostname].
func HostnameAffinity(hostname string) *corev1.VolumeNodeAffinity {
	return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchExpressions: []corev1.NodeSelectorRequirement{{
			Key: LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{hostname},
		}},
	}}}}
}

// AffinityHostname is the host a volume made by HostnameAffinity lives
// on, or "" when its affinity is of another shape.
func AffinityHostname(pv *corev1.PersistentVolume) string {
	na := pv.Spec.NodeAffinity
	if na == nil || na.Required == nil || len(na.Required.NodeSelectorTerms) != 1 {
		return ""
	}
	exprs := na.Required.NodeSelectorTerms[0].MatchExpressions
	if len(exprs) != 1 || exprs[0].Key != LabelHostname || exprs[0].Operator != corev1.NodeSelectorOpIn || len(exprs[0].Values) != 1 {
		return ""
	}
	return exprs[0].Values[0]
}

// NodeHostname is the value of a node's kubernetes.io/hostname label,
// its name when it has none.
func NodeHostname(node *corev1.Node) string {
	if h := node.Labels[LabelHostname]; h != "" {
		return h
	}
	return node.Name
}
