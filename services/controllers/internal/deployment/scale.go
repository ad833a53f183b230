package deployment

import (
	"math"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
)

// planScale resizes d's ReplicaSets when d's replicas changed (or d is
// paused): a single active ReplicaSet (or, with none, the newest) takes
// replicas; a saturated new ReplicaSet leaves old ones nothing; during a
// rolling update, the replicas added or removed are shared among the
// active ReplicaSets in proportion to their size (the larger first; ties
// go to the newer when growing, the older when shrinking), the rounding
// leftover to the first. Every active ReplicaSet is listed then, so its
// replicas annotations are brought up to date.
func planScale(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) []scaling {
	want := replicas(d)
	maxReplicas := want + maxSurge(d)
	if rs := activeOrLatest(newRS, oldRSs); rs != nil {
		if rsReplicas(rs) == want && !replicasAnnotationsNeedUpdate(rs, want, maxReplicas) {
			return nil
		}
		return []scaling{{rs: rs, to: want}}
	}
	if isSaturated(d, newRS) {
		return planRecreateScaleDown(oldRSs)
	}
	if !isRollingUpdate(d) {
		return nil
	}
	all := activeReplicaSets(withNew(oldRSs, newRS))
	var allowed int32
	if want > 0 {
		allowed = maxReplicas
	}
	toAdd := allowed - specReplicas(all)
	switch {
	case toAdd > 0:
		slices.SortStableFunc(all, func(a, b *appsv1.ReplicaSet) int { return bySize(a, b, true) })
	case toAdd < 0:
		slices.SortStableFunc(all, func(a, b *appsv1.ReplicaSet) int { return bySize(a, b, false) })
	}
	sizes := make([]int32, len(all))
	var added int32
	for i, rs := range all {
		sizes[i] = rsReplicas(rs)
		if toAdd != 0 {
			p := proportion(d, rs, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	if len(all) > 0 && toAdd != 0 {
		sizes[0] = max(sizes[0]+toAdd-added, 0)
	}
	out := make([]scaling, len(all))
	for i, rs := range all {
		out[i] = scaling{rs: rs, to: sizes[i]}
	}
	return out
}

// bySize orders larger ReplicaSets first; equal sizes newer first when
// newerFirst, else older first.
func bySize(a, b *appsv1.ReplicaSet, newerFirst bool) int {
	if sa, sb := rsReplicas(a), rsReplicas(b); sa != sb {
		if sa > sb {
			return -1
		}
		return 1
	}
	if newerFirst {
		return olderFirst(b, a)
	}
	return olderFirst(a, b)
}

// activeOrLatest returns the only active ReplicaSet, or the newest one
// (the new one first) when none is active; nil when several are active.
func activeOrLatest(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(oldRSs) == 0 {
		return nil
	}
	old := slices.Clone(oldRSs)
	slices.SortFunc(old, func(a, b *appsv1.ReplicaSet) int { return olderFirst(b, a) })
	active := activeReplicaSets(withNew(old, newRS))
	switch len(active) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return old[0]
	case 1:
		return active[0]
	}
	return nil
}

// proportion is how many of the toAdd replicas (negative: to remove) rs
// takes, added of them being taken already.
func proportion(d *appsv1.Deployment, rs *appsv1.ReplicaSet, toAdd, added int32) int32 {
	if rsReplicas(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	fraction := fraction(d, rs)
	allowed := toAdd - added
	if toAdd > 0 {
		return min(fraction, allowed)
	}
	return max(fraction, allowed)
}

// fraction is how much rs grows (or shrinks) to keep its share of d's
// maximum replicas, from the maximum recorded in its max-replicas
// annotation when it was last sized.
func fraction(d *appsv1.Deployment, rs *appsv1.ReplicaSet) int32 {
	if replicas(d) == 0 {
		return -rsReplicas(rs)
	}
	maxNow := replicas(d) + maxSurge(d)
	maxBefore, ok := intAnnotation(rs, MaxReplicasAnnotation)
	if !ok || maxBefore == 0 {
		maxBefore = d.Status.Replicas
		if maxBefore == 0 {
			return 0
		}
	}
	size := float64(rsReplicas(rs)) * float64(maxNow) / float64(maxBefore)
	return int32(math.Round(size)) - rsReplicas(rs)
}
