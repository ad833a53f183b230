package printers

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

func jobCells(job *batchv1.Job, now time.Time) []interface{} {
	cells := []interface{}{
		job.Name,
		jobStatus(job),
		jobCompletions(job),
		jobDuration(job, now),
		age(job.CreationTimestamp, now),
	}
	return append(cells, templateCells(&job.Spec.Template, metav1.FormatLabelSelector(job.Spec.Selector))...)
}

// jobStatus is the job's state, from its conditions, in order of
// precedence.
func jobStatus(job *batchv1.Job) string {
	conds := job.Status.Conditions
	switch {
	case jobCondition(conds, batchv1.JobComplete):
		return "Complete"
	case jobCondition(conds, batchv1.JobFailed):
		return "Failed"
	case job.DeletionTimestamp != nil:
		return "Terminating"
	case jobCondition(conds, batchv1.JobSuspended):
		return "Suspended"
	case jobCondition(conds, batchv1.JobFailureTarget):
		return "FailureTarget"
	}
	return "Running"
}

// jobCompletions is "succeeded/completions"; a job without completions
// needs one success, "0/1", or "0/1 of 3" when it runs pods in parallel.
func jobCompletions(job *batchv1.Job) string {
	succeeded := job.Status.Succeeded
	if c := job.Spec.Completions; c != nil {
		return fmt.Sprintf("%d/%d", succeeded, *c)
	}
	if p := job.Spec.Parallelism; p != nil && *p > 1 {
		return fmt.Sprintf("%d/1 of %d", succeeded, *p)
	}
	return fmt.Sprintf("%d/1", succeeded)
}

// jobDuration is how long the job ran, or has been running; empty before
// it starts.
func jobDuration(job *batchv1.Job, now time.Time) string {
	start, done := job.Status.StartTime, job.Status.CompletionTime
	switch {
	case start == nil:
		return ""
	case done == nil:
		return duration.HumanDuration(now.Sub(start.Time))
	}
	return duration.HumanDuration(done.Sub(start.Time))
}

func jobCondition(conds []batchv1.JobCondition, t batchv1.JobConditionType) bool {
	for _, c := range conds {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func cronJobCells(cj *batchv1.CronJob, now time.Time) []interface{} {
	lastSchedule := "<none>"
	if t := cj.Status.LastScheduleTime; t != nil {
		lastSchedule = age(*t, now)
	}
	timeZone := "<none>"
	if cj.Spec.TimeZone != nil {
		timeZone = *cj.Spec.TimeZone
	}
	cells := []interface{}{
		cj.Name,
		cj.Spec.Schedule,
		timeZone,
		boolString(cj.Spec.Suspend),
		int64(len(cj.Status.Active)),
		lastSchedule,
		age(cj.CreationTimestamp, now),
	}
	job := &cj.Spec.JobTemplate.Spec
	return append(cells, templateCells(&job.Template, metav1.FormatLabelSelector(job.Selector))...)
}

// boolString is "True", "False" or "<unset>". Kubernetes prints the
// boolean Suspend column this way.
func boolString(b *bool) string {
	switch {
	case b == nil:
		return "<unset>"
	case *b:
		return "True"
	}
	return "False"
}
