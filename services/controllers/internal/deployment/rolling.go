package deployment

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
)

// scaling is one ReplicaSet resize the controller is to make.
type scaling struct {
	rs *appsv1.ReplicaSet
	to int32
}

// planRollingUpdate is the next step of a RollingUpdate: scale the new
// ReplicaSet towards d's replicas as far as maxSurge allows; when it
// cannot grow, scale old ReplicaSets down as far as maxUnavailable
// allows. Nothing to do means the rollout waits for pods.
func planRollingUpdate(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) []scaling {
	allRSs := withNew(oldRSs, newRS)
	if newRS != nil {
		cur, want := rsReplicas(newRS), replicas(d)
		to := want
		if cur < want {
			to = newReplicaSetReplicas(d, allRSs, newRS)
		}
		if to != cur {
			return []scaling{{rs: newRS, to: to}}
		}
	}
	return planOldScaleDown(d, newRS, activeReplicaSets(oldRSs), allRSs)
}

// newReplicaSetReplicas is how large the new ReplicaSet may be now: for
// RollingUpdate, as large as keeps all pods within replicas+maxSurge
// (and no larger than replicas); for Recreate, replicas.
//
// Pods an old ReplicaSet has been asked to delete still count until its
// status shows them gone (Kubernetes counts spec.replicas only), so that
// old and new pods never exceed replicas+maxSurge while the ReplicaSet
// controller catches up.
func newReplicaSetReplicas(d *appsv1.Deployment, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	if !isRollingUpdate(d) {
		return replicas(d)
	}
	maxTotal := replicas(d) + maxSurge(d)
	var current int32
	for _, rs := range allRSs {
		if rs != nil {
			current += max(rsReplicas(rs), rs.Status.Replicas)
		}
	}
	if current >= maxTotal {
		return rsReplicas(newRS)
	}
	up := min(maxTotal-current, replicas(d)-rsReplicas(newRS))
	return rsReplicas(newRS) + max(up, 0)
}

// available is how many of rs's pods can be counted on: its available
// pods, but no more than it is to keep (those beyond spec.replicas are
// about to be deleted, even if its status does not say so yet).
func available(rs *appsv1.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	return min(rs.Status.AvailableReplicas, rsReplicas(rs))
}

// planOldScaleDown scales the old active ReplicaSets down (oldest first)
// as far as keeps replicas-maxUnavailable pods available: first their
// unavailable pods, which costs no availability (up to what the new
// ReplicaSet's unavailable pods leave room for), then available ones.
// The result has one entry per ReplicaSet to resize.
func planOldScaleDown(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, oldActive, allRSs []*appsv1.ReplicaSet) []scaling {
	if specReplicas(oldActive) == 0 {
		return nil
	}
	minAvailable := replicas(d) - maxUnavailable(d)
	newUnavailable := rsReplicas(newRS) - available(newRS)
	maxScaledDown := specReplicas(allRSs) - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return nil
	}
	old := slices.Clone(oldActive)
	slices.SortFunc(old, olderFirst)
	size := make([]int32, len(old))
	for i, rs := range old {
		size[i] = rsReplicas(rs)
	}

	// Unhealthy pods first: they count for nothing.
	var cleaned int32
	for i, rs := range old {
		if cleaned >= maxScaledDown {
			break
		}
		unhealthy := size[i] - available(rs)
		if size[i] == 0 || unhealthy <= 0 {
			continue
		}
		n := min(maxScaledDown-cleaned, unhealthy)
		size[i] -= n
		cleaned += n
	}

	// Then available pods, down to minAvailable overall.
	avail := available(newRS)
	for i, rs := range old {
		avail += min(available(rs), size[i])
	}
	if avail > minAvailable {
		total, done := avail-minAvailable, int32(0)
		for i := range old {
			if done >= total {
				break
			}
			if size[i] == 0 {
				continue
			}
			n := min(size[i], total-done)
			size[i] -= n
			done += n
		}
	}

	var out []scaling
	for i, rs := range old {
		if size[i] != rsReplicas(rs) {
			out = append(out, scaling{rs: rs, to: size[i]})
		}
	}
	return out
}

// planRecreateScaleDown scales every old active ReplicaSet to zero.
func planRecreateScaleDown(oldRSs []*appsv1.ReplicaSet) []scaling {
	var out []scaling
	for _, rs := range activeReplicaSets(oldRSs) {
		out = append(out, scaling{rs: rs, to: 0})
	}
	return out
}
