package replicaset

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// isPodActive reports whether pod counts towards replicas: not finished
// and not being deleted.
func isPodActive(pod *corev1.Pod) bool {
	return pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed &&
		pod.DeletionTimestamp == nil
}

// isPodTerminating reports whether pod is being deleted and has not
// finished yet.
func isPodTerminating(pod *corev1.Pod) bool {
	return pod.DeletionTimestamp != nil &&
		pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// readyCondition returns pod's Ready condition, or nil.
func readyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// isPodReady reports whether pod's Ready condition is True.
func isPodReady(pod *corev1.Pod) bool {
	c := readyCondition(pod)
	return c != nil && c.Status == corev1.ConditionTrue
}

// podAvailableIn returns whether pod is available at now (ready for at
// least minReadySeconds) and, when it is ready but not yet available,
// how long until it is.
func podAvailableIn(pod *corev1.Pod, minReadySeconds int32, now time.Time) (bool, time.Duration) {
	c := readyCondition(pod)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false, 0
	}
	if minReadySeconds <= 0 {
		return true, 0
	}
	if c.LastTransitionTime.IsZero() {
		return false, 0
	}
	at := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second)
	if at.Before(now) {
		return true, 0
	}
	// Kubernetes counts a pod available strictly after the instant; look
	// again just past it.
	return false, at.Sub(now) + time.Millisecond
}

// maxRestarts returns the highest restart count of pod's regular
// containers and of its sidecars (init containers that restart always).
func maxRestarts(pod *corev1.Pod) (regular, sidecar int32) {
	for _, s := range pod.Status.ContainerStatuses {
		regular = max(regular, s.RestartCount)
	}
	sidecars := map[string]bool{}
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars[c.Name] = true
		}
	}
	for _, s := range pod.Status.InitContainerStatuses {
		if sidecars[s.Name] {
			sidecar = max(sidecar, s.RestartCount)
		}
	}
	return regular, sidecar
}
