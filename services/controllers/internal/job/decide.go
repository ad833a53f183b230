package job

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// maxPodChangesPerSync bounds the pods created or deleted in one sync,
// and the pods counted (Kubernetes' 500), so one big Job does not starve
// the others and its status stays small.
const maxPodChangesPerSync = 500

// input is what a sync decides from.
type input struct {
	// job is a copy of the cached Job, with uncountedTerminatedPods set.
	job *batchv1.Job
	// pods are the Job's pods (claimed), terminated ones included.
	pods []*corev1.Pod
	now  time.Time
	// satisfied: the pod creations and deletions asked for earlier have
	// all been seen in the cache.
	satisfied bool
	// backoff is the Job's failure record saved by the last sync.
	backoff backoffRecord
	// finalizersGoing are the UIDs of pods whose finalizer removal has not
	// been seen yet: they are counted already.
	finalizersGoing sets.Set[string]
}

// assessment is what the Job's pods say about it.
type assessment struct {
	active      []*corev1.Pod
	ready       int32
	terminating int32
	// newSucceeded and newFailed finished since the last count (they carry
	// the finalizer and are not in uncountedTerminatedPods yet).
	newSucceeded, newFailed []*corev1.Pod
	// succeeded and failed are the counts once every finished pod is
	// counted (failures ignored by the failure policy excepted).
	succeeded, failed int32
	// prevIndexes and indexes (Indexed Jobs) are the completed indexes in
	// the status, and with the new successes.
	prevIndexes, indexes intervals
	startTime            *metav1.Time
	// verdict is where the Job is heading, nil while it runs.
	verdict *verdict
	// recheckIn (if > 0) is when activeDeadlineSeconds runs out.
	recheckIn time.Duration
	backoff   backoffRecord
}

func isSuspended(job *batchv1.Job) bool { return job.Spec.Suspend != nil && *job.Spec.Suspend }

// assess counts the Job's pods and decides whether it has succeeded or
// failed: success criteria met earlier, a failure target set earlier, a
// pod matching a FailJob rule, more failures than backoffLimit, or
// activeDeadlineSeconds passed.
func assess(in *input) assessment {
	job := in.job
	a := assessment{startTime: job.Status.StartTime}
	for _, p := range in.pods {
		if isActive(p) {
			a.active = append(a.active, p)
			if isReady(p) {
				a.ready++
			}
		}
		if isTerminating(p) {
			a.terminating++
		}
	}
	uncounted := uncountedSets(job)
	for _, p := range in.pods {
		uid := string(p.UID)
		if !hasTrackingFinalizer(p) || in.finalizersGoing.Has(uid) {
			continue // counted already
		}
		if isIndexed(job) && !validIndex(p, job) {
			continue
		}
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !uncounted.succeeded.Has(uid):
			a.newSucceeded = append(a.newSucceeded, p)
		case isPodFailed(p, job) && !uncounted.failed.Has(uid):
			a.newFailed = append(a.newFailed, p)
		}
	}
	a.succeeded = job.Status.Succeeded + int32(len(a.newSucceeded)+uncounted.succeeded.Len())
	a.failed = job.Status.Failed + int32(uncounted.failed.Len())
	for _, p := range a.newFailed {
		if matchFailurePolicy(job.Spec.PodFailurePolicy, p).count {
			a.failed++
		}
	}
	if a.startTime == nil && !isSuspended(job) {
		now := metav1.NewTime(in.now)
		a.startTime = &now
	}
	a.backoff = nextBackoff(in.backoff, a.newSucceeded, a.newFailed)

	if c := findCondition(job.Status.Conditions, batchv1.JobSuccessCriteriaMet); c != nil && c.Status == corev1.ConditionTrue {
		a.verdict = &verdict{success: true, reason: c.Reason, message: c.Message}
	} else if c := findCondition(job.Status.Conditions, batchv1.JobFailureTarget); c != nil && c.Status == corev1.ConditionTrue {
		a.verdict = &verdict{reason: c.Reason, message: c.Message}
	} else if msg := failJobMessage(job, in.pods); msg != "" {
		a.verdict = &verdict{reason: batchv1.JobReasonPodFailurePolicy, message: msg}
	}
	if a.verdict == nil {
		switch {
		case a.failed > deref(job.Spec.BackoffLimit, 6) || pastBackoffLimitOnFailure(job, in.pods):
			a.verdict = &verdict{reason: batchv1.JobReasonBackoffLimitExceeded, message: msgBackoffLimit}
		case pastDeadline(job, a.startTime, in.now):
			a.verdict = &verdict{reason: batchv1.JobReasonDeadlineExceeded, message: msgDeadline}
		case job.Spec.ActiveDeadlineSeconds != nil && !isSuspended(job):
			a.recheckIn = max(deadline(job, a.startTime).Sub(in.now), time.Millisecond)
		}
	}
	if isIndexed(job) {
		a.prevIndexes, a.indexes = succeededIndexes(job, in.pods)
		a.succeeded = int32(a.indexes.total())
	}
	return a
}

// pastBackoffLimitOnFailure: with restartPolicy OnFailure failures are
// container restarts, counted in the running and pending pods.
func pastBackoffLimitOnFailure(job *batchv1.Job, pods []*corev1.Pod) bool {
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	var n int32
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending {
			continue
		}
		for _, cs := range p.Status.InitContainerStatuses {
			n += cs.RestartCount
		}
		n += restarts(p)
	}
	limit := deref(job.Spec.BackoffLimit, 6)
	if limit == 0 {
		return n > 0
	}
	return n >= limit
}

func deadline(job *batchv1.Job, start *metav1.Time) time.Time {
	return start.Add(time.Duration(*job.Spec.ActiveDeadlineSeconds) * time.Second)
}

// pastDeadline: the Job has run (unsuspended) for activeDeadlineSeconds.
func pastDeadline(job *batchv1.Job, start *metav1.Time, now time.Time) bool {
	if job.Spec.ActiveDeadlineSeconds == nil || start == nil || isSuspended(job) {
		return false
	}
	return !now.Before(deadline(job, start))
}

// manageAction is what manage asks of a running Job's pods.
type manageAction struct {
	// remove are active pods to delete, their finalizer removed first:
	// they are not failures (too many pods, or the Job is suspended).
	remove []*corev1.Pod
	// create is how many pods to create; indexes, for an Indexed Job,
	// their completion indexes.
	create  int
	indexes []int
	// wait (if > 0) is the back-off before failed pods may be replaced.
	wait time.Duration
}

// manage decides how to bring a running Job's active pods to what it
// wants: parallelism pods, but no more than the completions still
// missing (or, without completions, none new after the first success);
// none while suspended. It deletes or creates, never both in one sync.
func manage(in *input, a assessment) manageAction {
	job := in.job
	if isSuspended(job) {
		rm := append([]*corev1.Pod(nil), a.active...)
		sortForRemoval(rm)
		return manageAction{remove: rm}
	}
	active := int32(len(a.active))
	parallelism := deref(job.Spec.Parallelism, 1)
	var want int32
	if job.Spec.Completions == nil {
		want = parallelism
		if a.succeeded > 0 {
			want = active
		}
	} else {
		want = min(max(*job.Spec.Completions-a.succeeded, 0), parallelism)
	}
	if rm := podsForRemoval(job, a.active, int(max(active-want, 0))); len(rm) > 0 {
		if len(rm) > maxPodChangesPerSync {
			rm = rm[:maxPodChangesPerSync]
		}
		return manageAction{remove: rm}
	}
	var terminating int32
	if onlyReplaceFailed(job) {
		terminating = a.terminating
	}
	diff := want - terminating - active
	if diff <= 0 {
		return manageAction{}
	}
	if wait := a.backoff.remaining(in.now); wait > 0 {
		return manageAction{wait: wait}
	}
	diff = min(diff, maxPodChangesPerSync)
	if isIndexed(job) {
		ix := pendingIndexes(job, a.indexes, a.active, in.pods, int(diff))
		return manageAction{create: len(ix), indexes: ix}
	}
	return manageAction{create: int(diff)}
}

// podsForRemoval picks at least n active pods to delete, cheapest first;
// an Indexed Job also loses its pods without a valid index and the
// extra pods of an index.
func podsForRemoval(job *batchv1.Job, active []*corev1.Pod, n int) []*corev1.Pod {
	var rm []*corev1.Pod
	keep := append([]*corev1.Pod(nil), active...)
	if isIndexed(job) {
		rm, keep = duplicateIndexPods(job, active)
	}
	if len(rm) < n {
		sortForRemoval(keep)
		rm = append(rm, keep[:min(n-len(rm), len(keep))]...)
	}
	return rm
}

// isComplete: enough pods succeeded (with completions), or one did
// (without), and none is still active.
func isComplete(job *batchv1.Job, succeeded, active int32) bool {
	if active != 0 {
		return false
	}
	if job.Spec.Completions == nil {
		return succeeded > 0
	}
	return succeeded >= *job.Spec.Completions
}

// suspension updates the Suspended condition of a running Job and
// returns the event reporting a change (reason "" if none). A resumed Job
// starts its activeDeadlineSeconds again: its startTime becomes now.
func suspension(status *batchv1.JobStatus, suspended bool, now time.Time) (reason, message string) {
	if suspended {
		var changed bool
		status.Conditions, changed = setCondition(status.Conditions, batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended", now)
		if changed {
			return "Suspended", "Job suspended"
		}
		return "", ""
	}
	var changed bool
	status.Conditions, changed = setCondition(status.Conditions, batchv1.JobSuspended, corev1.ConditionFalse, "JobResumed", "Job resumed", now)
	if !changed {
		return "", ""
	}
	t := metav1.NewTime(now)
	status.StartTime = &t
	return "Resumed", "Job resumed"
}

// uncounted is status.uncountedTerminatedPods as sets of UIDs.
type uncounted struct{ succeeded, failed sets.Set[string] }

func uncountedSets(job *batchv1.Job) uncounted {
	u := uncounted{succeeded: sets.New[string](), failed: sets.New[string]()}
	if job.Status.UncountedTerminatedPods == nil {
		return u
	}
	for _, uid := range job.Status.UncountedTerminatedPods.Succeeded {
		u.succeeded.Insert(string(uid))
	}
	for _, uid := range job.Status.UncountedTerminatedPods.Failed {
		u.failed.Insert(string(uid))
	}
	return u
}
