package defaultpreemption

import (
	"context"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// Reasons given per node when preemption cannot help there.
const (
	reasonNoVictims  = "No preemption victims found for incoming pod"
	reasonNotHelpful = "Preemption is not helpful for scheduling"
)

// selectVictims finds the pods to delete from nodeInfo so that pod fits:
// all pods of lower priority are removed, and then as many as possible
// are put back, the most important first. nodeInfo and state must be
// clones; both are changed. The victims come back most important first.
// A node where removing every lower-priority pod is not enough gets the
// filters' status; one without lower-priority pods gets
// UnschedulableAndUnresolvable.
func (pl *DefaultPreemption) selectVictims(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) ([]*corev1.Pod, *framework.Status) {
	prio := framework.PodPriority(pod)
	var potential []*framework.PodInfo
	for _, pi := range nodeInfo.Pods {
		if framework.PodPriority(pi.Pod) < prio {
			potential = append(potential, pi)
		}
	}
	if len(potential) == 0 {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, reasonNoVictims)
	}

	remove := func(pi *framework.PodInfo) *framework.Status {
		nodeInfo.RemovePod(pi.Pod.UID)
		return pl.h.RunPreFilterExtensionRemovePod(ctx, state, pod, pi, nodeInfo)
	}
	add := func(pi *framework.PodInfo) *framework.Status {
		nodeInfo.AddPod(pi)
		return pl.h.RunPreFilterExtensionAddPod(ctx, state, pod, pi, nodeInfo)
	}

	for _, pi := range potential {
		if s := remove(pi); !s.IsSuccess() {
			return nil, asError(s)
		}
	}
	// Pods that would not fit even with every lower-priority pod gone keep
	// the filters' reason (say "Insufficient cpu"). Affinity of the pod to
	// a would-be victim is not considered, as in Kubernetes.
	if s := framework.RunFilterPluginsWithNominatedPods(ctx, pl.h, state, pod, nodeInfo); !s.IsSuccess() {
		return nil, s
	}

	now := pl.h.Now()
	sort.SliceStable(potential, func(i, j int) bool {
		return moreImportant(potential[i].Pod, potential[j].Pod, now)
	})
	var victims []*corev1.Pod
	for _, pi := range potential {
		if s := add(pi); !s.IsSuccess() {
			return nil, asError(s)
		}
		s := framework.RunFilterPluginsWithNominatedPods(ctx, pl.h, state, pod, nodeInfo)
		if s.IsSuccess() {
			continue // reprieved
		}
		if s.Code() == framework.Error {
			return nil, s
		}
		if s := remove(pi); !s.IsSuccess() {
			return nil, asError(s)
		}
		victims = append(victims, pi.Pod)
	}
	return victims, nil
}

// asError turns a failed PreFilterExtensions call into an Error status:
// those calls only account for pods and have nothing to reject.
func asError(s *framework.Status) *framework.Status {
	if s.Code() == framework.Error {
		return s
	}
	return framework.AsStatus(s.AsError())
}

// moreImportant orders pods for reprieve: higher priority first, then the
// one running longer (an earlier start time; unstarted pods count as
// starting now).
func moreImportant(a, b *corev1.Pod, now time.Time) bool {
	pa, pb := framework.PodPriority(a), framework.PodPriority(b)
	if pa != pb {
		return pa > pb
	}
	return startTime(a, now).Before(startTime(b, now))
}

// startTime is when the pod started, or now if it has not.
func startTime(pod *corev1.Pod, now time.Time) time.Time {
	if pod.Status.StartTime != nil {
		return pod.Status.StartTime.Time
	}
	return now
}
