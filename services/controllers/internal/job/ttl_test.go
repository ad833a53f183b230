package job

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestTimeLeft(t *testing.T) {
	finishedJob := func(ttl int32, cond batchv1.JobConditionType, at time.Time) *batchv1.Job {
		j := testJob(ptrTo(int32(1)), 1)
		j.Spec.TTLSecondsAfterFinished = ptrTo(ttl)
		if cond != "" {
			j.Status.Conditions = []batchv1.JobCondition{newCondition(cond, corev1.ConditionTrue, "", "", at)}
		}
		return j
	}
	for _, tc := range []struct {
		name    string
		job     *batchv1.Job
		cleanup bool
		left    time.Duration
		err     bool
	}{
		{name: "complete, TTL running", job: finishedJob(60, batchv1.JobComplete, t0), cleanup: true, left: 50 * time.Second},
		{name: "failed, TTL over", job: finishedJob(5, batchv1.JobFailed, t0), cleanup: true, left: -5 * time.Second},
		{name: "TTL 0 goes at once", job: finishedJob(0, batchv1.JobComplete, t0.Add(10*time.Second)), cleanup: true, left: 0},
		{name: "not finished", job: finishedJob(5, batchv1.JobSuccessCriteriaMet, t0)},
		{name: "no finish time", job: finishedJob(5, batchv1.JobComplete, time.Time{}), cleanup: true, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := needsCleanup(tc.job); got != tc.cleanup {
				t.Fatalf("needsCleanup = %v, want %v", got, tc.cleanup)
			}
			if !tc.cleanup {
				return
			}
			left, err := timeLeft(tc.job, t0.Add(10*time.Second))
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if err == nil && left != tc.left {
				t.Errorf("left %v, want %v", left, tc.left)
			}
		})
	}
	noTTL := testJob(ptrTo(int32(1)), 1)
	noTTL.Status.Conditions = []batchv1.JobCondition{newCondition(batchv1.JobComplete, corev1.ConditionTrue, "", "", t0)}
	if needsCleanup(noTTL) {
		t.Error("a job without TTL needs cleanup")
	}
}
