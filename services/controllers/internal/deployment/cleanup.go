package deployment

import (
	"math"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// cleanupPlan returns the old ReplicaSets to delete so that no more than
// revisionHistoryLimit remain: the lowest revisions first, and only those
// scaled to zero with no pods left and whose status is current.
func cleanupPlan(d *appsv1.Deployment, oldRSs []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	limit := d.Spec.RevisionHistoryLimit
	if limit == nil || *limit == math.MaxInt32 {
		return nil
	}
	var alive []*appsv1.ReplicaSet
	for _, rs := range oldRSs {
		if rs != nil && rs.DeletionTimestamp == nil {
			alive = append(alive, rs)
		}
	}
	diff := len(alive) - int(*limit)
	if diff <= 0 {
		return nil
	}
	slices.SortFunc(alive, func(a, b *appsv1.ReplicaSet) int {
		if ra, rb := revision(a), revision(b); ra != rb {
			if ra < rb {
				return -1
			}
			return 1
		}
		return olderFirst(a, b)
	})
	var out []*appsv1.ReplicaSet
	for _, rs := range alive[:diff] {
		if rs.Status.Replicas != 0 || rsReplicas(rs) != 0 || rs.Generation > rs.Status.ObservedGeneration {
			continue
		}
		out = append(out, rs)
	}
	return out
}

// oldPodsRunning reports whether a Recreate rollout must still wait for
// old pods: an old ReplicaSet reports pods, or a pod not of the new
// ReplicaSet has not finished (being deleted counts as running).
// podsByRS groups d's pods by the UID of their ReplicaSet.
func oldPodsRunning(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet, podsByRS map[types.UID][]*corev1.Pod) bool {
	if statusReplicas(oldRSs) > 0 {
		return true
	}
	for uid, pods := range podsByRS {
		if newRS != nil && uid == newRS.UID {
			continue
		}
		for _, p := range pods {
			if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				return true
			}
		}
	}
	return false
}
