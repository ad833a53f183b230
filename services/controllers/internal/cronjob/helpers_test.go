package cronjob

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// t0 is a whole hour, UTC.
var t0 = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

func ptrTo[T any](v T) *T { return &v }

func testCronJob(schedule string, created time.Time) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "backup", UID: "cj-uid", CreationTimestamp: metav1.NewTime(created)},
		Spec: batchv1.CronJobSpec{
			Schedule: schedule, TimeZone: ptrTo("UTC"),
			ConcurrencyPolicy: batchv1.AllowConcurrent, Suspend: ptrTo(false),
			SuccessfulJobsHistoryLimit: ptrTo(int32(3)), FailedJobsHistoryLimit: ptrTo(int32(1)),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "backup"}},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
				}}},
			},
		},
	}
}

// childJob is a Job of cj for scheduled time at.
func childJob(cj *batchv1.CronJob, at time.Time, cond batchv1.JobConditionType) *batchv1.Job {
	j, err := jobFromTemplate(cj, at)
	if err != nil {
		panic(err)
	}
	j.UID = types.UID("uid-" + j.Name)
	j.Status.StartTime = ptrTo(metav1.NewTime(at))
	if cond != "" {
		j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}
		if cond == batchv1.JobComplete {
			j.Status.CompletionTime = ptrTo(metav1.NewTime(at.Add(30 * time.Second)))
		}
	}
	return j
}

func reasons(evs []event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.reason)
	}
	return out
}

func timeOf(t *metav1.Time) *time.Time {
	if t == nil {
		return nil
	}
	return &t.Time
}

func timeEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func durEqual(a, b *time.Duration) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func show(events []string, create string, replace, prune, active []string, requeue *time.Duration, lastOK *time.Time) string {
	r := "nil"
	if requeue != nil {
		r = requeue.String()
	}
	l := "nil"
	if lastOK != nil {
		l = lastOK.String()
	}
	return fmt.Sprintf("events=%v create=%q replace=%v prune=%v active=%v requeue=%s lastOK=%s", events, create, replace, prune, active, r, l)
}

func equalCronJobs(a, b *batchv1.CronJob) bool { return apiequality.Semantic.DeepEqual(a, b) }
