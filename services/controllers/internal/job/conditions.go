package job

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition messages, as Kubernetes writes them.
const (
	msgCompletionsReached = "Reached expected number of succeeded pods"
	msgBackoffLimit       = "Job has reached the specified backoff limit"
	msgDeadline           = "Job was active longer than specified deadline"
)

// verdict is where a Job is heading: success or failure, with the reason
// and message its conditions will carry.
type verdict struct {
	success         bool
	reason, message string
}

// interimType is the condition recorded first (before the pods'
// finalizers go), finalType the one recorded once every pod is counted
// and none is terminating.
func (v *verdict) interimType() batchv1.JobConditionType {
	if v.success {
		return batchv1.JobSuccessCriteriaMet
	}
	return batchv1.JobFailureTarget
}

func (v *verdict) finalType() batchv1.JobConditionType {
	if v.success {
		return batchv1.JobComplete
	}
	return batchv1.JobFailed
}

func findCondition(conds []batchv1.JobCondition, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

func hasTrueCondition(job *batchv1.Job, t batchv1.JobConditionType) bool {
	c := findCondition(job.Status.Conditions, t)
	return c != nil && c.Status == corev1.ConditionTrue
}

// isFinished: the Job is Complete or Failed.
func isFinished(job *batchv1.Job) bool {
	return hasTrueCondition(job, batchv1.JobComplete) || hasTrueCondition(job, batchv1.JobFailed)
}

// finishedAtTime is when the Job finished: the transition of its Complete
// or Failed condition (zero if it has none).
func finishedAtTime(job *batchv1.Job) time.Time {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// setCondition sets condition t to status, reason and message, and
// reports whether anything changed. A condition absent and asked False
// is not added (there is nothing to say).
func setCondition(conds []batchv1.JobCondition, t batchv1.JobConditionType, status corev1.ConditionStatus,
	reason, message string, now time.Time) ([]batchv1.JobCondition, bool) {
	if c := findCondition(conds, t); c != nil {
		if c.Status == status && c.Reason == reason && c.Message == message {
			return conds, false
		}
		*c = newCondition(t, status, reason, message, now)
		return conds, true
	}
	if status == corev1.ConditionFalse {
		return conds, false
	}
	return append(conds, newCondition(t, status, reason, message, now)), true
}

func newCondition(t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) batchv1.JobCondition {
	return batchv1.JobCondition{
		Type: t, Status: status, Reason: reason, Message: message,
		LastProbeTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now),
	}
}
