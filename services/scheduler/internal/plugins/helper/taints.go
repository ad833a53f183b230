package helper

import corev1 "k8s.io/api/core/v1"

// ToleratesTaint reports whether toleration tolerates taint, by the rules
// of corev1.Toleration.ToleratesTaint:
//
//   - an empty effect matches every effect, otherwise the effects must
//     be equal;
//   - an empty key matches every key (the API allows it only with
//     Exists), otherwise the keys must be equal;
//   - operator Exists matches every value, Equal (or empty) needs equal
//     values.
//
// The numeric operators Lt and Gt (alpha in Kubernetes, behind a feature
// gate that is off by default) and unknown operators tolerate nothing.
func ToleratesTaint(toleration *corev1.Toleration, taint *corev1.Taint) bool {
	if toleration.Effect != "" && toleration.Effect != taint.Effect {
		return false
	}
	if toleration.Key != "" && toleration.Key != taint.Key {
		return false
	}
	switch toleration.Operator {
	case "", corev1.TolerationOpEqual:
		return toleration.Value == taint.Value
	case corev1.TolerationOpExists:
		return true
	}
	return false
}

// TolerationsTolerateTaint reports whether one of tolerations tolerates
// taint.
func TolerationsTolerateTaint(tolerations []corev1.Toleration, taint *corev1.Taint) bool {
	for i := range tolerations {
		if ToleratesTaint(&tolerations[i], taint) {
			return true
		}
	}
	return false
}

// FindUntoleratedTaint returns the first of taints for which keep is
// true that none of tolerations tolerates, and whether there is one.
func FindUntoleratedTaint(taints []corev1.Taint, tolerations []corev1.Toleration, keep func(*corev1.Taint) bool) (corev1.Taint, bool) {
	for i := range taints {
		if keep(&taints[i]) && !TolerationsTolerateTaint(tolerations, &taints[i]) {
			return taints[i], true
		}
	}
	return corev1.Taint{}, false
}

// DoNotScheduleTaint keeps, for FindUntoleratedTaint, the taints that
// forbid scheduling: effect NoSchedule or NoExecute.
func DoNotScheduleTaint(t *corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
}
