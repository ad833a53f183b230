package tainttoleration

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// ToleratesTaint is helper.ToleratesTaint: whether toleration tolerates
// taint, by the rules of corev1.Toleration.ToleratesTaint.
func ToleratesTaint(toleration *corev1.Toleration, taint *corev1.Taint) bool {
	return helper.ToleratesTaint(toleration, taint)
}
