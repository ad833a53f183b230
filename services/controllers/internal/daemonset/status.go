package daemonset

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// computeStatus counts a DaemonSet's pods per node, as kubectl and
// `kubectl rollout status` read them: a node that should run the daemon
// counts as desired, as scheduled when it has a pod, and its oldest pod
// counts as ready, available and updated; a node that should not run it
// but has a pod counts as misscheduled. The result carries ds's
// observedGeneration, conditions and collision count unchanged.
func computeStatus(ds *appsv1.DaemonSet, nodes []*corev1.Node, pods nodePods, hash string, now time.Time) appsv1.DaemonSetStatus {
	st := appsv1.DaemonSetStatus{
		ObservedGeneration: ds.Status.ObservedGeneration,
		CollisionCount:     ds.Status.CollisionCount,
		Conditions:         ds.Status.Conditions,
	}
	generation := templateGeneration(ds)
	for _, node := range nodes {
		run, _ := shouldRun(node, ds)
		onNode := pods[node.Name]
		if !run {
			if len(onNode) > 0 {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if len(onNode) == 0 {
			continue
		}
		st.CurrentNumberScheduled++
		sorted := append([]*corev1.Pod(nil), onNode...)
		sortOldestFirst(sorted)
		pod := sorted[0]
		if podReady(pod) {
			st.NumberReady++
			if podAvailable(pod, ds.Spec.MinReadySeconds, now) {
				st.NumberAvailable++
			}
		}
		if isUpdated(pod, hash, generation) {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	return st
}
