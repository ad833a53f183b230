package replicaset

import (
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// BurstReplicas caps the pods one sync creates or deletes (Kubernetes'
// --burst-replicas 500): a ReplicaSet scaled by thousands converges over
// several syncs instead of flooding the API server at once.
const BurstReplicas = 500

// DeletionCostAnnotation lets users rank the pods of a ReplicaSet for
// scale-down: lower cost goes first.
const DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// plan is what one sync does to a ReplicaSet's pods: create that many
// from its template, or delete these.
type plan struct {
	create int
	delete []*corev1.Pod
}

// planReplicas decides how to bring the active pods of a ReplicaSet to
// replicas, at most burst pods at a time: create the shortfall, or delete
// the surplus, least valuable first. related are the active pods of the
// ReplicaSets sharing its controller (its Deployment's), which rank pods
// doubled up on a node for deletion first.
func planReplicas(replicas int, active, related []*corev1.Pod, burst int) plan {
	diff := len(active) - replicas
	switch {
	case diff < 0:
		return plan{create: min(-diff, burst)}
	case diff > 0:
		return plan{delete: podsToDelete(active, related, min(diff, burst))}
	}
	return plan{}
}

// podsToDelete returns the n pods of pods to delete first, as
// Kubernetes ranks them (ActivePodsWithRanks):
//
//  1. not yet scheduled before scheduled;
//  2. Pending before Unknown before Running;
//  3. not ready before ready;
//  4. lower controller.kubernetes.io/pod-deletion-cost first;
//  5. more related pods on the same node (doubled up) first;
//  6. ready for a shorter time first;
//  7. more container restarts first;
//  8. newer first.
//
// Kubernetes compares the times of 6 and 8 in power-of-two buckets of
// age (LogarithmicScaleDown) and orders equal buckets by UID; this
// compares them exactly, so the newest pod always goes first.
func podsToDelete(pods, related []*corev1.Pod, n int) []*corev1.Pod {
	if n <= 0 {
		return nil
	}
	if n >= len(pods) {
		return slices.Clone(pods)
	}
	onNode := map[string]int{}
	for _, p := range related {
		if isPodActive(p) {
			onNode[p.Spec.NodeName]++
		}
	}
	ranked := make([]rankedPod, len(pods))
	for i, p := range pods {
		ranked[i] = rankedPod{pod: p, rank: onNode[p.Spec.NodeName], cost: deletionCost(p)}
	}
	slices.SortStableFunc(ranked, func(a, b rankedPod) int {
		switch {
		case deleteFirst(a, b):
			return -1
		case deleteFirst(b, a):
			return 1
		}
		return 0
	})
	out := make([]*corev1.Pod, n)
	for i := range out {
		out[i] = ranked[i].pod
	}
	return out
}

type rankedPod struct {
	pod  *corev1.Pod
	rank int   // related active pods on its node
	cost int32 // pod-deletion-cost
}

var phaseOrder = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

// deleteFirst reports whether a is less valuable than b.
func deleteFirst(a, b rankedPod) bool {
	pa, pb := a.pod, b.pod
	if (pa.Spec.NodeName == "") != (pb.Spec.NodeName == "") {
		return pa.Spec.NodeName == ""
	}
	if oa, ob := phaseOrder[pa.Status.Phase], phaseOrder[pb.Status.Phase]; oa != ob {
		return oa < ob
	}
	ra, rb := isPodReady(pa), isPodReady(pb)
	if ra != rb {
		return !ra
	}
	if a.cost != b.cost {
		return a.cost < b.cost
	}
	if a.rank != b.rank {
		return a.rank > b.rank
	}
	if ra && rb {
		ta, tb := readyCondition(pa).LastTransitionTime.Time, readyCondition(pb).LastTransitionTime.Time
		if !ta.Equal(tb) {
			return afterOrZero(ta, tb)
		}
	}
	regA, sideA := maxRestarts(pa)
	regB, sideB := maxRestarts(pb)
	if regA != regB {
		return regA > regB
	}
	if sideA != sideB {
		return sideA > sideB
	}
	if ca, cb := pa.CreationTimestamp.Time, pb.CreationTimestamp.Time; !ca.Equal(cb) {
		return afterOrZero(ca, cb)
	}
	return false
}

// afterOrZero reports whether a is zero (unknown, so treated as newest)
// or later than a non-zero b.
func afterOrZero(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero()
	}
	return a.After(b)
}

// deletionCost is pod's controller.kubernetes.io/pod-deletion-cost (0
// when absent or not an int32).
func deletionCost(pod *corev1.Pod) int32 {
	v, ok := pod.Annotations[DeletionCostAnnotation]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}
