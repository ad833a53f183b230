package printers

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeLostReason is the pod status reason the node controller sets on the
// pods of a node that stopped reporting.
const nodeLostReason = "NodeLost"

func podCells(pod *corev1.Pod, now time.Time) []interface{} {
	s := summarizePod(pod)
	return []interface{}{
		pod.Name,
		fmt.Sprintf("%d/%d", s.ready, s.total),
		s.status,
		formatRestarts(s.restarts, s.lastRestart, now),
		age(pod.CreationTimestamp, now),
		orNone(podIP(pod)),
		orNone(pod.Spec.NodeName),
		orNone(pod.Status.NominatedNodeName),
		readinessGates(pod),
	}
}

// podSummary is what a pod's row says about its containers.
type podSummary struct {
	ready, total int
	// status is the STATUS column: the pod's phase, unless a reason from
	// the pod or its containers says more.
	status      string
	restarts    int
	lastRestart metav1.Time
}

// summarizePod reads a pod the way kubectl does. While init containers
// run, STATUS reports them ("Init:1/2", "Init:CrashLoopBackOff") and
// RESTARTS counts theirs; afterwards the app containers are reported, with
// restarts of sidecars (init containers that keep running) and of the app
// containers. The first container with a reason, in spec order, names the
// status.
func summarizePod(pod *corev1.Pod) podSummary {
	s := podSummary{total: len(pod.Spec.Containers), status: string(pod.Status.Phase)}
	if pod.Status.Reason != "" {
		s.status = pod.Status.Reason
	}
	if schedulingGated(pod) {
		s.status = corev1.PodReasonSchedulingGated
	}

	sidecars := sidecarNames(pod)
	s.total += len(sidecars)
	sidecarRestarts, sidecarLastRestart, initializing := s.addInitContainers(pod, sidecars)
	if !initializing || podCondition(pod, corev1.PodInitialized) {
		s.restarts, s.lastRestart = sidecarRestarts, sidecarLastRestart
		s.addContainers(pod)
	}

	switch {
	case pod.DeletionTimestamp != nil && pod.Status.Reason == nodeLostReason:
		s.status = "Unknown"
	case pod.DeletionTimestamp != nil && !terminal(pod.Status.Phase):
		s.status = "Terminating"
	}
	return s
}

// addInitContainers walks the init containers in order up to the first
// one that has not completed, and reports whether the pod is still
// initializing. It returns the sidecars' restarts apart, as they still
// count once the pod has started.
func (s *podSummary) addInitContainers(pod *corev1.Pod, sidecars map[string]bool) (sidecarRestarts int, sidecarLast metav1.Time, initializing bool) {
	for i, c := range pod.Status.InitContainerStatuses {
		s.restarts += int(c.RestartCount)
		s.lastRestart = later(s.lastRestart, lastTermination(c))
		if sidecars[c.Name] {
			sidecarRestarts += int(c.RestartCount)
			sidecarLast = later(sidecarLast, lastTermination(c))
		}
		switch {
		case c.State.Terminated != nil && c.State.Terminated.ExitCode == 0:
			continue
		case sidecars[c.Name] && c.Started != nil && *c.Started:
			if c.Ready {
				s.ready++
			}
			continue
		case c.State.Terminated != nil:
			s.status = "Init:" + terminatedReason(c.State.Terminated)
		case c.State.Waiting != nil && c.State.Waiting.Reason != "" && c.State.Waiting.Reason != "PodInitializing":
			s.status = "Init:" + c.State.Waiting.Reason
		default:
			s.status = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		return sidecarRestarts, sidecarLast, true
	}
	return sidecarRestarts, sidecarLast, false
}

// addContainers adds the app containers' restarts and readiness, and takes
// the status from the first of them that gives a reason.
func (s *podSummary) addContainers(pod *corev1.Pod) {
	running := false
	statuses := pod.Status.ContainerStatuses
	for i := len(statuses) - 1; i >= 0; i-- {
		c := statuses[i]
		s.restarts += int(c.RestartCount)
		s.lastRestart = later(s.lastRestart, lastTermination(c))
		switch {
		case c.State.Waiting != nil && c.State.Waiting.Reason != "":
			s.status = c.State.Waiting.Reason
		case c.State.Terminated != nil:
			s.status = terminatedReason(c.State.Terminated)
		case c.Ready && c.State.Running != nil:
			running = true
			s.ready++
		}
	}
	// A pod whose first container completed while others still run is not
	// done.
	if s.status == "Completed" && running {
		if podCondition(pod, corev1.PodReady) {
			s.status = "Running"
		} else {
			s.status = "NotReady"
		}
	}
}

// terminatedReason is a terminated container's reason, else its signal or
// exit code: "Completed", "Error", "Signal:9", "ExitCode:2".
func terminatedReason(t *corev1.ContainerStateTerminated) string {
	switch {
	case t.Reason != "":
		return t.Reason
	case t.Signal != 0:
		return fmt.Sprintf("Signal:%d", t.Signal)
	}
	return fmt.Sprintf("ExitCode:%d", t.ExitCode)
}

// formatRestarts is "3", or "3 (5m ago)" when the last restart is known.
func formatRestarts(restarts int, last metav1.Time, now time.Time) string {
	if restarts == 0 || last.IsZero() {
		return strconv.Itoa(restarts)
	}
	return fmt.Sprintf("%d (%s ago)", restarts, age(last, now))
}

// sidecarNames lists the restartable init containers: sidecars, which keep
// running beside the app containers and count among them.
func sidecarNames(pod *corev1.Pod) map[string]bool {
	names := map[string]bool{}
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			names[c.Name] = true
		}
	}
	return names
}

func lastTermination(c corev1.ContainerStatus) metav1.Time {
	if t := c.LastTerminationState.Terminated; t != nil {
		return t.FinishedAt
	}
	return metav1.Time{}
}

func later(a, b metav1.Time) metav1.Time {
	if a.Before(&b) {
		return b
	}
	return a
}

func schedulingGated(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			return true
		}
	}
	return false
}

// podCondition reports whether the pod's condition of type t is true.
func podCondition(pod *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func terminal(phase corev1.PodPhase) bool {
	return phase == corev1.PodSucceeded || phase == corev1.PodFailed
}

// podIP is the pod's primary IP: podIPs[0], or podIP from a writer that
// set only the older field.
func podIP(pod *corev1.Pod) string {
	if len(pod.Status.PodIPs) > 0 {
		return pod.Status.PodIPs[0].IP
	}
	return pod.Status.PodIP
}

// readinessGates is "true/all" of the pod's readiness gates, or "<none>".
func readinessGates(pod *corev1.Pod) string {
	if len(pod.Spec.ReadinessGates) == 0 {
		return "<none>"
	}
	met := 0
	for _, gate := range pod.Spec.ReadinessGates {
		if podCondition(pod, gate.ConditionType) {
			met++
		}
	}
	return fmt.Sprintf("%d/%d", met, len(pod.Spec.ReadinessGates))
}
