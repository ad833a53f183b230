package cronjob

import (
	"errors"
	"fmt"
	"maps"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
)

var (
	cronJobGVK = batchv1.SchemeGroupVersion.WithKind("CronJob")
	jobGVK     = batchv1.SchemeGroupVersion.WithKind("Job")
)

// input is what a sync decides from.
type input struct {
	// cj is a copy of the CronJob (decide does not modify it).
	cj *batchv1.CronJob
	// jobs are the Jobs it controls.
	jobs []*batchv1.Job
	// gone are the UIDs of active Jobs the API server no longer has.
	gone sets.Set[types.UID]
	now  time.Time
	// local is the time zone of CronJobs without spec.timeZone.
	local *time.Location
}

// event is an Event to record on the CronJob.
type event struct{ eventType, reason, message string }

// plan is what a sync is to do.
type plan struct {
	// status is the CronJob's new status, before the Job to create (if
	// any) is added to it.
	status batchv1.CronJobStatus
	events []event
	// prune are finished Jobs beyond the history limits, oldest first.
	prune []*batchv1.Job
	// replace are the running Jobs to delete before create (Replace).
	replace []corev1.ObjectReference
	// create is the Job to create for scheduled (nil: none).
	create    *batchv1.Job
	scheduled time.Time
	// requeueAfter is when to sync again (nil: on the next change only).
	requeueAfter *time.Duration
}

func (p *plan) record(eventType, reason, format string, args ...any) {
	p.events = append(p.events, event{eventType, reason, fmt.Sprintf(format, args...)})
}

// decide brings the CronJob's status up to date with its Jobs, picks the
// finished Jobs beyond the history limits, and decides whether a
// scheduled time has come to start a Job, and what to do about the Jobs
// still running, according to concurrencyPolicy.
func decide(in *input) plan {
	cj := in.cj
	p := plan{status: *cj.Status.DeepCopy()}
	st := &p.status

	p.prune = overHistory(cj, in.jobs)
	pruned := sets.New[types.UID]()
	for _, j := range p.prune {
		pruned.Insert(j.UID)
	}
	children := sets.New[types.UID]()
	for _, j := range in.jobs {
		children.Insert(j.UID)
		listed := inActive(st.Active, j.UID)
		done, cond := finished(j)
		switch {
		case !listed && !done:
			p.record(corev1.EventTypeWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Name)
		case listed && done:
			st.Active = withoutActive(st.Active, j.UID)
			p.record(corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, cond)
		}
		if listed && pruned.Has(j.UID) {
			st.Active = withoutActive(st.Active, j.UID)
		}
		if cond == batchv1.JobComplete && j.Status.CompletionTime != nil &&
			(st.LastSuccessfulTime == nil || j.Status.CompletionTime.After(st.LastSuccessfulTime.Time)) {
			st.LastSuccessfulTime = j.Status.CompletionTime.DeepCopy()
		}
	}
	for _, ref := range cj.Status.Active {
		if !children.Has(ref.UID) && in.gone.Has(ref.UID) {
			p.record(corev1.EventTypeNormal, "MissingJob", "Active job went missing: %v", ref.Name)
			st.Active = withoutActive(st.Active, ref.UID)
		}
	}

	if cj.DeletionTimestamp != nil {
		return p // being deleted: status only
	}
	if tz := cj.Spec.TimeZone; tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil {
			p.record(corev1.EventTypeWarning, "UnknownTimeZone", "invalid timeZone: %q: %s", *tz, err)
			return p
		}
	}
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return p
	}
	sched, err := parseSchedule(cj, in.local)
	if errors.Is(err, errTZInSchedule) {
		p.record(corev1.EventTypeWarning, "UnsupportedSchedule", "%s: %q", err, cj.Spec.Schedule)
		return p
	}
	if err != nil {
		p.record(corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return p
	}
	// The schedule decisions look at the status as updated so far.
	cur := cj.DeepCopy()
	cur.Status = *st.DeepCopy()
	scheduled, m, err := mostRecent(cur, in.now, sched, true)
	if err != nil {
		p.record(corev1.EventTypeWarning, "InvalidSchedule", "invalid schedule: %s : %s", cj.Spec.Schedule, err)
		return p
	}
	if m == manyMissed {
		p.record(corev1.EventTypeWarning, "TooManyMissedTimes",
			"too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
	}
	p.requeueAfter = nextDelay(cur, in.now, sched)
	if scheduled == nil {
		if cj.Spec.StartingDeadlineSeconds != nil {
			// Start times older than the deadline were skipped: say so.
			if late, _, err := mostRecent(cur, in.now, sched, false); err == nil && late != nil {
				p.record(corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", late.UTC().Format(time.RFC1123Z))
			}
		}
		return p
	}
	if sds := cj.Spec.StartingDeadlineSeconds; sds != nil && scheduled.Add(time.Duration(*sds)*time.Second).Before(in.now) {
		p.record(corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))
		return p
	}
	name := jobName(cj, *scheduled)
	if activeByName(st.Active, name) || (st.LastScheduleTime != nil && st.LastScheduleTime.Time.Equal(*scheduled)) {
		return p // this time was taken care of
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(st.Active) > 0 {
			p.record(corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return p
		}
	case batchv1.ReplaceConcurrent:
		p.replace = append(p.replace, st.Active...)
		st.Active = nil
	}
	job, err := jobFromTemplate(cj, *scheduled)
	if err != nil {
		p.record(corev1.EventTypeWarning, "UnknownTimeZone", "invalid timeZone: %s", err)
		return p
	}
	p.create, p.scheduled = job, *scheduled
	// Once the Job exists, the next sync is due at the next time.
	cur.Status.LastScheduleTime = &metav1.Time{Time: *scheduled}
	p.requeueAfter = nextDelay(cur, in.now, sched)
	return p
}

// jobFromTemplate is the Job a CronJob runs for a scheduled time.
func jobFromTemplate(cj *batchv1.CronJob, scheduled time.Time) (*batchv1.Job, error) {
	tz := ""
	if cj.Spec.TimeZone != nil {
		tz = *cj.Spec.TimeZone
	}
	loc, err := time.LoadLocation(tz) // "" is UTC
	if err != nil {
		return nil, err
	}
	annotations := maps.Clone(cj.Spec.JobTemplate.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[batchv1.CronJobScheduledTimestampAnnotation] = scheduled.In(loc).Format(time.RFC3339)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       cj.Namespace,
			Name:            jobName(cj, scheduled),
			Labels:          maps.Clone(cj.Spec.JobTemplate.Labels),
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, cronJobGVK)},
		},
	}
	cj.Spec.JobTemplate.Spec.DeepCopyInto(&job.Spec)
	return job, nil
}

// overHistory returns the finished Jobs beyond the successful and failed
// history limits, the oldest of each kind.
func overHistory(cj *batchv1.CronJob, jobs []*batchv1.Job) []*batchv1.Job {
	var succeeded, failed []*batchv1.Job
	for _, j := range jobs {
		switch _, c := finished(j); c {
		case batchv1.JobComplete:
			succeeded = append(succeeded, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	var out []*batchv1.Job
	for _, h := range []struct {
		limit *int32
		jobs  []*batchv1.Job
	}{{cj.Spec.SuccessfulJobsHistoryLimit, succeeded}, {cj.Spec.FailedJobsHistoryLimit, failed}} {
		if h.limit == nil || len(h.jobs) <= int(*h.limit) {
			continue
		}
		sort.SliceStable(h.jobs, func(a, b int) bool { return startedBefore(h.jobs[a], h.jobs[b]) })
		out = append(out, h.jobs[:len(h.jobs)-int(*h.limit)]...)
	}
	return out
}

// startedBefore orders Jobs by start time, those never started last,
// names breaking ties.
func startedBefore(a, b *batchv1.Job) bool {
	sa, sb := a.Status.StartTime, b.Status.StartTime
	switch {
	case sb == nil && sa == nil:
		return a.Name < b.Name
	case sb == nil:
		return true
	case sa == nil:
		return false
	case sa.Equal(sb):
		return a.Name < b.Name
	}
	return sa.Before(sb)
}

// finished reports whether the Job is Complete or Failed, and which.
func finished(j *batchv1.Job) (bool, batchv1.JobConditionType) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true, c.Type
		}
	}
	return false, ""
}

func inActive(active []corev1.ObjectReference, uid types.UID) bool {
	for _, r := range active {
		if r.UID == uid {
			return true
		}
	}
	return false
}

func activeByName(active []corev1.ObjectReference, name string) bool {
	for _, r := range active {
		if r.Name == name {
			return true
		}
	}
	return false
}

func withoutActive(active []corev1.ObjectReference, uid types.UID) []corev1.ObjectReference {
	var out []corev1.ObjectReference
	for _, r := range active {
		if r.UID != uid {
			out = append(out, r)
		}
	}
	return out
}

// jobRef is the reference status.active holds for a Job.
func jobRef(j *batchv1.Job) corev1.ObjectReference {
	return corev1.ObjectReference{
		APIVersion: jobGVK.GroupVersion().String(), Kind: jobGVK.Kind,
		Namespace: j.Namespace, Name: j.Name, UID: j.UID, ResourceVersion: j.ResourceVersion,
	}
}
