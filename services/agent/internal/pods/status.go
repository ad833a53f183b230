package pods

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// status computes the pod's status from what the runtime reports.
func (w *worker) status(pod *corev1.Pod, cs podContainers) *corev1.PodStatus {
	st := &corev1.PodStatus{
		QOSClass:          pod.Status.QOSClass,
		NominatedNodeName: pod.Status.NominatedNodeName,
		StartTime:         w.startTime,
	}
	for _, ip := range w.m.cfg.NodeIPs {
		st.HostIPs = append(st.HostIPs, corev1.HostIP{IP: ip})
	}
	st.HostIP = first(w.m.cfg.NodeIPs)
	for _, ip := range w.ips {
		st.PodIPs = append(st.PodIPs, corev1.PodIP{IP: ip})
	}
	st.PodIP = first(w.ips)

	initDone := true
	initFailed := false
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cst := w.containerStatus(pod, c, cs)
		st.InitContainerStatuses = append(st.InitContainerStatuses, cst)
		if t := cst.State.Terminated; t != nil && t.ExitCode == 0 {
			continue
		}
		initDone = false
		if t := cst.State.Terminated; t != nil && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			initFailed = true
		}
	}
	allReady := true
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cst := w.containerStatus(pod, c, cs)
		if !initDone {
			cst.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}
			cst.Ready, cst.Started = false, ptr(false)
		}
		if !cst.Ready {
			allReady = false
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cst)
	}
	st.Phase = w.phase(pod, st, initDone, initFailed)
	if w.deadlined {
		st.Phase, st.Reason = corev1.PodFailed, "DeadlineExceeded"
		st.Message = "Pod was active on the node longer than the specified deadline"
	}
	st.Conditions = w.conditions(pod, initDone, allReady && initDone, st.Phase)
	return st
}

func ptr[T any](v T) *T { return &v }

// phase follows Kubernetes' rules for the pod phase.
func (w *worker) phase(pod *corev1.Pod, st *corev1.PodStatus, initDone, initFailed bool) corev1.PodPhase {
	if initFailed {
		return corev1.PodFailed
	}
	if !initDone {
		return corev1.PodPending
	}
	running, waiting, succeeded, failed := 0, 0, 0, 0
	for _, c := range st.ContainerStatuses {
		switch {
		case c.State.Running != nil:
			running++
		case c.State.Terminated != nil && c.State.Terminated.ExitCode == 0:
			succeeded++
		case c.State.Terminated != nil:
			failed++
		case c.State.Waiting != nil && c.LastTerminationState.Terminated != nil:
			// Waiting to restart after having run.
			running++
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case failed > 0 && pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
		return corev1.PodFailed
	case failed > 0:
		return corev1.PodRunning // it will be restarted
	case succeeded > 0 && pod.Spec.RestartPolicy == corev1.RestartPolicyAlways:
		return corev1.PodRunning
	case succeeded > 0:
		return corev1.PodSucceeded
	}
	return corev1.PodPending
}

// containerStatus reports one container: the latest attempt's state, the
// previous one's as lastState, or why it is waiting.
func (w *worker) containerStatus(pod *corev1.Pod, c *corev1.Container, cs podContainers) corev1.ContainerStatus {
	out := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: ptr(false)}
	s := cs.latest(c.Name)
	if prev := cs.previous(c.Name); prev != nil {
		out.LastTerminationState = corev1.ContainerState{Terminated: w.terminatedState(c, prev)}
	}
	if s == nil {
		out.State = corev1.ContainerState{Waiting: w.waitingState(c.Name, "ContainerCreating")}
		return out
	}
	out.RestartCount = int32(s.Attempt)
	out.ImageID = s.ImageID
	out.ContainerID = "containerd://" + s.ID
	switch s.State {
	case runtime.StateRunning:
		started := w.probes.started(c.Name, s.ID)
		out.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(s.StartedAt)}}
		out.Started = ptr(started)
		out.Ready = started && w.probes.ready(c.Name, s.ID)
	case runtime.StateCreated, runtime.StateUnknown:
		out.State = corev1.ContainerState{Waiting: w.waitingState(c.Name, "ContainerCreating")}
	case runtime.StateExited:
		term := w.terminatedState(c, s)
		if wt, ok := w.waiting[c.Name]; ok && wt.reason == "CrashLoopBackOff" {
			out.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: wt.reason, Message: wt.message}}
			out.LastTerminationState = corev1.ContainerState{Terminated: term}
		} else {
			out.State = corev1.ContainerState{Terminated: term}
		}
	}
	return out
}

func (w *worker) waitingState(name, fallback string) *corev1.ContainerStateWaiting {
	if wt, ok := w.waiting[name]; ok {
		reason := wt.reason
		if reason == "ErrImagePull" && w.pullFails[name] > 1 {
			reason = "ImagePullBackOff"
		}
		return &corev1.ContainerStateWaiting{Reason: reason, Message: wt.message}
	}
	return &corev1.ContainerStateWaiting{Reason: fallback}
}

func (w *worker) terminatedState(c *corev1.Container, s *runtime.ContainerStatus) *corev1.ContainerStateTerminated {
	t := &corev1.ContainerStateTerminated{
		ExitCode: int32(s.ExitCode), Reason: s.Reason, Message: s.Message,
		StartedAt: metav1.NewTime(s.StartedAt), FinishedAt: metav1.NewTime(s.FinishedAt),
		ContainerID: "containerd://" + s.ID,
	}
	if msg := w.terminationMessage(c, s); msg != "" {
		t.Message = msg
	}
	return t
}

// terminationMessage reads what the container wrote to its termination
// message path (at most 4 KiB), or the tail of its log when the policy
// asks for it and the file is empty.
func (w *worker) terminationMessage(c *corev1.Container, s *runtime.ContainerStatus) string {
	key := s.ID
	if msg, ok := w.terminated[key]; ok {
		return msg
	}
	msg := ""
	if w.sandbox != nil && w.sandbox.Dir != "" {
		p := filepath.Join(w.sandbox.Dir, "containers", c.Name, strconv.Itoa(s.Attempt)+"-termination-log")
		if b, err := os.ReadFile(p); err == nil {
			msg = string(b[:min(len(b), 4096)])
		}
	}
	if msg == "" && c.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError && s.ExitCode != 0 {
		msg = logTail(s.LogPath, 80, 2048)
	}
	w.terminated[key] = msg
	return msg
}

// conditions are the pod's standard conditions, keeping transition times
// of those that did not change.
func (w *worker) conditions(pod *corev1.Pod, initDone, ready bool, phase corev1.PodPhase) []corev1.PodCondition {
	now := metav1.NewTime(w.m.cfg.Clock.Now())
	old := map[corev1.PodConditionType]corev1.PodCondition{}
	for _, c := range pod.Status.Conditions {
		old[c.Type] = c
	}
	mk := func(t corev1.PodConditionType, ok bool, reason string) corev1.PodCondition {
		s := corev1.ConditionFalse
		if ok {
			s, reason = corev1.ConditionTrue, ""
		}
		c := corev1.PodCondition{Type: t, Status: s, Reason: reason, LastTransitionTime: now}
		if o, found := old[t]; found && o.Status == s {
			c.LastTransitionTime = o.LastTransitionTime
		}
		return c
	}
	terminal := phase == corev1.PodSucceeded || phase == corev1.PodFailed
	reason := "ContainersNotReady"
	if terminal {
		reason = "PodCompleted"
	}
	initReason := "ContainersNotInitialized"
	if terminal && initDone {
		initReason = "PodCompleted"
	}
	conds := []corev1.PodCondition{
		mk(corev1.PodReadyToStartContainers, w.sandbox != nil && w.ips != nil && !terminal, ""),
		mk(corev1.PodInitialized, initDone, initReason),
		mk(corev1.PodReady, ready && !terminal && readinessGates(pod), reason),
		mk(corev1.ContainersReady, ready && !terminal, reason),
	}
	if s, ok := old[corev1.PodScheduled]; ok {
		conds = append(conds, s)
	}
	return conds
}

// readinessGates reports whether every readiness gate's condition is True.
func readinessGates(pod *corev1.Pod) bool {
	for _, g := range pod.Spec.ReadinessGates {
		found := false
		for _, c := range pod.Status.Conditions {
			if c.Type == g.ConditionType && c.Status == corev1.ConditionTrue {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
