package daemonset

import (
	"fmt"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeNameField is the field a daemon pod's node affinity names its node
// by (matchFields).
const nodeNameField = metav1.ObjectNameField

// shouldRun reports whether a daemon pod of ds should be started on node
// (run), and whether one already there may keep running (keep): the
// template's nodeName, nodeSelector and required node affinity must
// match, and the node's NoSchedule and NoExecute taints be tolerated —
// only the NoExecute ones for a pod already running.
func shouldRun(node *corev1.Node, ds *appsv1.DaemonSet) (run, keep bool) {
	spec := &ds.Spec.Template.Spec
	if spec.NodeName != "" && spec.NodeName != node.Name {
		return false, false
	}
	if !matchesNodeSelector(spec.NodeSelector, node) || !matchesRequiredAffinity(spec.Affinity, node) {
		return false, false
	}
	tolerations := daemonTolerations(spec)
	if _, untolerated := findUntoleratedTaint(node.Spec.Taints, tolerations, scheduleEffects); untolerated {
		_, evicted := findUntoleratedTaint(node.Spec.Taints, tolerations, noExecute)
		return false, !evicted
	}
	return true, true
}

func scheduleEffects(t *corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
}

func noExecute(t *corev1.Taint) bool { return t.Effect == corev1.TaintEffectNoExecute }

// findUntoleratedTaint returns the first taint that filter selects and no
// toleration tolerates.
func findUntoleratedTaint(taints []corev1.Taint, tolerations []corev1.Toleration, filter func(*corev1.Taint) bool) (*corev1.Taint, bool) {
	for i := range taints {
		t := &taints[i]
		if !filter(t) {
			continue
		}
		if !slices.ContainsFunc(tolerations, func(tol corev1.Toleration) bool { return tolerates(&tol, t) }) {
			return t, true
		}
	}
	return nil, false
}

// tolerates is corev1.Toleration.ToleratesTaint with the comparison
// operators (a disabled feature in Kubernetes) never matching.
func tolerates(tol *corev1.Toleration, taint *corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != taint.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != taint.Key {
		return false
	}
	switch tol.Operator {
	case "", corev1.TolerationOpEqual:
		return tol.Value == taint.Value
	case corev1.TolerationOpExists:
		return true
	}
	return false
}

func matchesNodeSelector(selector map[string]string, node *corev1.Node) bool {
	for k, v := range selector {
		if got, ok := node.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// matchesRequiredAffinity: the node matches one of the required terms
// (or there are none).
func matchesRequiredAffinity(a *corev1.Affinity, node *corev1.Node) bool {
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true
	}
	return slices.ContainsFunc(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms,
		func(term corev1.NodeSelectorTerm) bool { return matchesTerm(&term, node) })
}

// matchesTerm: every expression and field requirement holds; a term with
// neither matches nothing.
func matchesTerm(term *corev1.NodeSelectorTerm, node *corev1.Node) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false
	}
	for _, r := range term.MatchExpressions {
		v, ok := node.Labels[r.Key]
		if !matchesRequirement(r, v, ok) {
			return false
		}
	}
	for _, r := range term.MatchFields {
		if r.Key != nodeNameField || !matchesRequirement(r, node.Name, true) {
			return false
		}
	}
	return true
}

func matchesRequirement(r corev1.NodeSelectorRequirement, value string, present bool) bool {
	switch r.Operator {
	case corev1.NodeSelectorOpIn:
		return present && slices.Contains(r.Values, value)
	case corev1.NodeSelectorOpNotIn:
		return !present || !slices.Contains(r.Values, value)
	case corev1.NodeSelectorOpExists:
		return present
	case corev1.NodeSelectorOpDoesNotExist:
		return !present
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if !present || len(r.Values) != 1 {
			return false
		}
		have, err1 := strconv.ParseInt(value, 10, 64)
		want, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == corev1.NodeSelectorOpGt {
			return have > want
		}
		return have < want
	}
	return false
}

// daemonTolerations are the tolerations of spec with the daemon ones
// added.
func daemonTolerations(spec *corev1.PodSpec) []corev1.Toleration {
	s := corev1.PodSpec{Tolerations: slices.Clone(spec.Tolerations), HostNetwork: spec.HostNetwork}
	addDaemonTolerations(&s)
	return s.Tolerations
}

// addDaemonTolerations adds the tolerations Kubernetes gives every daemon
// pod: it stays through node problems (not-ready and unreachable
// NoExecute, for ever) and is placed despite pressure, cordoning and, for
// hostNetwork pods, a missing pod network.
func addDaemonTolerations(spec *corev1.PodSpec) {
	exists := func(key string, effect corev1.TaintEffect) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect}
	}
	for _, t := range []corev1.Toleration{
		exists(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute),
		exists(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute),
		exists(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule),
	} {
		addOrUpdateToleration(spec, t)
	}
	if spec.HostNetwork {
		addOrUpdateToleration(spec, exists(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule))
	}
}

// addOrUpdateToleration replaces the toleration of the same key,
// operator, value and effect as t (whatever its tolerationSeconds), or
// appends t.
func addOrUpdateToleration(spec *corev1.PodSpec, t corev1.Toleration) {
	for i := range spec.Tolerations {
		if spec.Tolerations[i].MatchToleration(&t) {
			spec.Tolerations[i] = t
			return
		}
	}
	spec.Tolerations = append(spec.Tolerations, t)
}

// pinToNode replaces the required node affinity of a daemon pod by the
// term that names node, as Kubernetes does: the controller already
// checked the template's own terms.
func pinToNode(spec *corev1.PodSpec, node string) {
	term := corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{
		Key: nodeNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{node},
	}}}
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	if spec.Affinity.NodeAffinity == nil {
		spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{term},
	}
}

// targetNode is the node a daemon pod is for: its spec.nodeName once
// bound, else the node its affinity names.
func targetNode(pod *corev1.Pod) (string, error) {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName, nil
	}
	a := pod.Spec.Affinity
	if a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, f := range term.MatchFields {
				if f.Key == nodeNameField && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
					return f.Values[0], nil
				}
			}
		}
	}
	return "", fmt.Errorf("pod %s/%s names no node in spec.nodeName or its node affinity", pod.Namespace, pod.Name)
}
