package statefulset

import (
	"regexp"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// podNamePattern splits a pod name into its set's name and its ordinal.
var podNamePattern = regexp.MustCompile(`^(.*)-([0-9]+)$`)

// parentAndOrdinal returns the set a pod name belongs to and its ordinal;
// ordinal is -1 when the name is not "<set>-<ordinal>".
func parentAndOrdinal(podName string) (string, int) {
	m := podNamePattern.FindStringSubmatch(podName)
	if m == nil {
		return "", -1
	}
	ord, err := strconv.ParseInt(m[2], 10, 32)
	if err != nil {
		return "", -1
	}
	return m[1], int(ord)
}

// ordinalOf is the ordinal in a pod's name (-1 if none).
func ordinalOf(pod *corev1.Pod) int {
	_, ord := parentAndOrdinal(pod.Name)
	return ord
}

// isMember reports whether a pod's name makes it one of set's pods.
func isMember(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, ord := parentAndOrdinal(pod.Name)
	return ord >= 0 && parent == set.Name
}

// podName is the name of set's pod of ordinal.
func podName(setName string, ordinal int) string {
	return setName + "-" + strconv.Itoa(ordinal)
}

// claimName is the name of the claim of template for set's pod of
// ordinal.
func claimName(template, setName string, ordinal int) string {
	return template + "-" + setName + "-" + strconv.Itoa(ordinal)
}

// startOrdinal is the first ordinal of set (spec.ordinals.start).
func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

// replicas is spec.replicas (1 when unset, as the API server defaults).
func replicas(set *appsv1.StatefulSet) int {
	if set.Spec.Replicas == nil {
		return 1
	}
	return int(*set.Spec.Replicas)
}

// inRange reports whether ordinal is one set wants a pod for.
func inRange(set *appsv1.StatefulSet, ordinal int) bool {
	start := startOrdinal(set)
	return ordinal >= start && ordinal < start+replicas(set)
}

// identityMatches reports whether a pod carries the identity labels of
// its ordinal.
func identityMatches(pod *corev1.Pod) bool {
	ord := ordinalOf(pod)
	return ord >= 0 && pod.Labels[appsv1.StatefulSetPodNameLabel] == pod.Name &&
		pod.Labels[appsv1.PodIndexLabel] == strconv.Itoa(ord)
}

// revisionOf is the revision a pod was made from.
func revisionOf(pod *corev1.Pod) string { return pod.Labels[appsv1.StatefulSetRevisionLabel] }

func isCreated(pod *corev1.Pod) bool     { return pod.Status.Phase != "" }
func isPending(pod *corev1.Pod) bool     { return pod.Status.Phase == corev1.PodPending }
func isTerminating(pod *corev1.Pod) bool { return pod.DeletionTimestamp != nil }

// hasFinished reports whether a pod's containers are done for good
// (Failed, or Succeeded: a pod stopped on a node reboot may end either
// way); it is replaced.
func hasFinished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded
}

func readyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// isRunningAndReady reports whether a pod is Running with its Ready
// condition true.
func isRunningAndReady(pod *corev1.Pod) bool {
	c := readyCondition(pod)
	return pod.Status.Phase == corev1.PodRunning && c != nil && c.Status == corev1.ConditionTrue
}

// isHealthy reports whether a pod is running, ready and not terminating.
func isHealthy(pod *corev1.Pod) bool {
	return pod != nil && isRunningAndReady(pod) && !isTerminating(pod)
}

// availableIn returns how long until a ready pod has been ready for
// minReady (0: it is available now); ok is false when it is not ready.
func availableIn(pod *corev1.Pod, minReady time.Duration, now time.Time) (wait time.Duration, ok bool) {
	c := readyCondition(pod)
	if c == nil || c.Status != corev1.ConditionTrue {
		return 0, false
	}
	if minReady <= 0 {
		return 0, true
	}
	return max(c.LastTransitionTime.Add(minReady).Sub(now), 0), true
}

// isAvailable reports whether a pod has been ready for minReady.
func isAvailable(pod *corev1.Pod, minReady time.Duration, now time.Time) bool {
	wait, ok := availableIn(pod, minReady, now)
	return ok && wait == 0
}
