package printers

import (
	"time"

	schedulingv1 "k8s.io/api/scheduling/v1"
)

// priorityClassCells: GLOBAL-DEFAULT is a boolean cell (kubectl prints
// "true" or "false"), and PREEMPTIONPOLICY comes after AGE, as in
// Kubernetes.
func priorityClassCells(pc *schedulingv1.PriorityClass, now time.Time) []interface{} {
	policy := "<none>"
	if pc.PreemptionPolicy != nil {
		policy = string(*pc.PreemptionPolicy)
	}
	return []interface{}{pc.Name, int64(pc.Value), pc.GlobalDefault, age(pc.CreationTimestamp, now), policy}
}
