package nodelifecycle

import (
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// evictionDue decides the fate of a pod on a node with the given
// NoExecute taints, which the controller first saw the pod under at
// since: evict reports whether it must go, at when (at or before since:
// at once). A pod that tolerates every taint without a time limit, or a
// node without such taints, keeps its pod.
//
// As Kubernetes does, each taint is matched by the first toleration that
// tolerates it, and the shortest tolerationSeconds of those decides (0 or
// less: at once).
func evictionDue(tolerations []corev1.Toleration, taints []corev1.Taint, since time.Time) (at time.Time, evict bool) {
	if len(taints) == 0 {
		return time.Time{}, false
	}
	shortest := int64(math.MaxInt64)
	for i := range taints {
		var used *corev1.Toleration
		for j := range tolerations {
			if tolerates(&tolerations[j], &taints[i]) {
				used = &tolerations[j]
				break
			}
		}
		if used == nil {
			return since, true // not tolerated at all
		}
		if used.TolerationSeconds == nil {
			continue // for ever
		}
		if s := *used.TolerationSeconds; s <= 0 {
			return since, true
		} else if s < shortest {
			shortest = s
		}
	}
	if shortest == math.MaxInt64 {
		return time.Time{}, false
	}
	// Durations beyond ~290 years overflow: they are for ever anyway.
	const maxSeconds = int64(math.MaxInt64 / int64(time.Second))
	if shortest > maxSeconds {
		return time.Time{}, false
	}
	return since.Add(time.Duration(shortest) * time.Second), true
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
