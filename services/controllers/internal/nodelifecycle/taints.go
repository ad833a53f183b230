package nodelifecycle

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The NoExecute taints of unhealthy nodes.
var (
	unreachableTaint = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	notReadyTaint    = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}
)

// conditionTaints maps a condition's status to the NoSchedule taint it
// brings (TaintNodesByCondition).
var conditionTaints = map[corev1.NodeConditionType]map[corev1.ConditionStatus]string{
	corev1.NodeReady: {
		corev1.ConditionFalse:   corev1.TaintNodeNotReady,
		corev1.ConditionUnknown: corev1.TaintNodeUnreachable,
	},
	corev1.NodeMemoryPressure:     {corev1.ConditionTrue: corev1.TaintNodeMemoryPressure},
	corev1.NodeDiskPressure:       {corev1.ConditionTrue: corev1.TaintNodeDiskPressure},
	corev1.NodeNetworkUnavailable: {corev1.ConditionTrue: corev1.TaintNodeNetworkUnavailable},
	corev1.NodePIDPressure:        {corev1.ConditionTrue: corev1.TaintNodePIDPressure},
}

// conditionTaintKeys are the keys of conditionTaints' taints.
var conditionTaintKeys = func() map[string]bool {
	keys := map[string]bool{corev1.TaintNodeUnschedulable: true}
	for _, byStatus := range conditionTaints {
		for _, k := range byStatus {
			keys[k] = true
		}
	}
	return keys
}()

// noScheduleTaints returns the NoSchedule taints the node's conditions
// and spec.unschedulable call for that it lacks (add), and those it has
// that they no longer call for (remove). Other taints are left alone.
func noScheduleTaints(node *corev1.Node) (add, remove []corev1.Taint) {
	var want []corev1.Taint
	for _, c := range node.Status.Conditions {
		if key, ok := conditionTaints[c.Type][c.Status]; ok {
			want = append(want, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	if node.Spec.Unschedulable {
		want = append(want, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	var have []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule && conditionTaintKeys[t.Key] {
			have = append(have, t)
		}
	}
	for _, t := range want {
		if !hasTaint(have, t) {
			add = append(add, t)
		}
	}
	for _, t := range have {
		if !hasTaint(want, t) {
			remove = append(remove, t)
		}
	}
	return add, remove
}

// hasTaint reports whether taints has one of t's key and effect.
func hasTaint(taints []corev1.Taint, t corev1.Taint) bool {
	return slices.ContainsFunc(taints, func(x corev1.Taint) bool { return x.MatchTaint(&t) })
}

// applyTaints returns taints without those matching remove (by key and
// effect) and with those of add it lacks, stamped with now; changed
// reports whether anything changed.
func applyTaints(taints, add, remove []corev1.Taint, now time.Time) (out []corev1.Taint, changed bool) {
	for _, t := range taints {
		if hasTaint(remove, t) {
			changed = true
			continue
		}
		out = append(out, t)
	}
	at := metav1.NewTime(now)
	for _, t := range add {
		if hasTaint(out, t) {
			continue
		}
		t.TimeAdded = &at
		out = append(out, t)
		changed = true
	}
	return out, changed
}

// noExecuteTaints are the node's NoExecute taints.
func noExecuteTaints(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}
