package job

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
)

// tracking is the first half of counting a sync's finished pods.
type tracking struct {
	// release are the pods whose finalizer may go once status (with them
	// in uncountedTerminatedPods) is written.
	release []*corev1.Pod
	// withFinalizer are the UIDs of the Job's pods still holding the
	// finalizer (those in finalizersGoing excepted).
	withFinalizer sets.Set[string]
	// full: the sync stopped counting at maxPodChangesPerSync pods; the
	// Job must not be declared finished before the rest are counted.
	full bool
}

// track records in status the Job's pods that may be counted now and
// returns them: finished pods, and every pod once the Job has a verdict
// or is being deleted. Succeeded pods of an NonIndexed Job and failed
// pods go to uncountedTerminatedPods (failures the failure policy ignores
// excepted); succeeded pods of an Indexed Job go to completedIndexes.
// Uncounted UIDs whose pod no longer holds the finalizer (or is gone)
// move into the counters. With a verdict, its interim condition
// (SuccessCriteriaMet or FailureTarget) is added.
//
// status.uncountedTerminatedPods must be set.
func track(job *batchv1.Job, pods []*corev1.Pod, v *verdict, finalizersGoing sets.Set[string], prevIndexes, indexes intervals, now time.Time) tracking {
	st := &job.Status
	t := tracking{withFinalizer: sets.New[string]()}
	for _, p := range pods {
		if hasTrackingFinalizer(p) && !finalizersGoing.Has(string(p.UID)) {
			t.withFinalizer.Insert(string(p.UID))
		}
	}
	countReleased(st, t.withFinalizer)
	u := uncountedSets(job)
	indexed := isIndexed(job)
	var newIndexes []int
	added := 0
	for _, p := range pods {
		uid := string(p.UID)
		if !t.withFinalizer.Has(uid) {
			continue // counted in an earlier sync
		}
		failed := isPodFailed(p, job)
		if !(job.DeletionTimestamp != nil || v != nil || p.Status.Phase == corev1.PodSucceeded || failed) {
			continue // still running: nothing to count yet
		}
		t.release = append(t.release, p)
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !u.failed.Has(uid):
			if indexed {
				if validIndex(p, job) && !prevIndexes.has(completionIndex(p)) {
					newIndexes = append(newIndexes, completionIndex(p))
					added++
				}
			} else if !u.succeeded.Has(uid) {
				st.UncountedTerminatedPods.Succeeded = append(st.UncountedTerminatedPods.Succeeded, p.UID)
				u.succeeded.Insert(uid)
				added++
			}
		case failed || (v != nil && !v.success):
			// A Job that fails counts every pod not succeeded as failed.
			if u.failed.Has(uid) || (indexed && !validIndex(p, job)) {
				break
			}
			if matchFailurePolicy(job.Spec.PodFailurePolicy, p).count {
				st.UncountedTerminatedPods.Failed = append(st.UncountedTerminatedPods.Failed, p.UID)
				u.failed.Insert(uid)
				added++
			}
		}
		if added >= maxPodChangesPerSync {
			t.full = true
			break
		}
	}
	if indexed {
		all := indexes.with(newIndexes...)
		st.CompletedIndexes = all.String()
		st.Succeeded = int32(all.total())
	}
	if v != nil {
		if c := findCondition(st.Conditions, v.interimType()); c == nil || c.Status != corev1.ConditionTrue {
			st.Conditions, _ = setCondition(st.Conditions, v.interimType(), corev1.ConditionTrue, v.reason, v.message, now)
		}
	}
	return t
}

// countReleased moves the uncounted UIDs whose pod no longer holds the
// finalizer into the succeeded and failed counters; it reports whether
// anything moved.
func countReleased(st *batchv1.JobStatus, withFinalizer sets.Set[string]) bool {
	u := st.UncountedTerminatedPods
	if u == nil {
		return false
	}
	var moved bool
	keep := func(uids []types.UID, counter *int32) []types.UID {
		var out []types.UID
		for _, uid := range uids {
			if withFinalizer.Has(string(uid)) {
				out = append(out, uid)
				continue
			}
			*counter++
			moved = true
		}
		return out
	}
	u.Succeeded = keep(u.Succeeded, &st.Succeeded)
	u.Failed = keep(u.Failed, &st.Failed)
	return moved
}

// finish adds the Job's final condition (Complete or Failed, and the
// completion time) once every finished pod is counted and no pod is
// terminating; it reports whether it did.
func finish(st *batchv1.JobStatus, v *verdict, terminating int32, now time.Time) bool {
	if v == nil || terminating > 0 {
		return false
	}
	if u := st.UncountedTerminatedPods; u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
		return false
	}
	st.Conditions, _ = setCondition(st.Conditions, v.finalType(), corev1.ConditionTrue, v.reason, v.message, now)
	if v.success {
		at := findCondition(st.Conditions, batchv1.JobComplete).LastTransitionTime
		st.CompletionTime = &at
	}
	return true
}
