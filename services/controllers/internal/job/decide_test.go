package job

import (
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestAssess(t *testing.T) {
	type want struct {
		active, ready, terminating int32
		succeeded, failed          int32
		verdict                    *verdict
		recheckIn                  time.Duration
		startTimeSet               bool
	}
	for _, tc := range []struct {
		name  string
		job   func(*batchv1.Job)
		pods  []*corev1.Pod
		going []string
		want  want
	}{
		{name: "counts pods", pods: pods(
			pod("run", corev1.PodRunning), pod("pend", corev1.PodPending), pod("ok", corev1.PodSucceeded),
			pod("bad", corev1.PodFailed), pod("bye", corev1.PodRunning, deleting),
		), want: want{active: 2, ready: 1, terminating: 1, succeeded: 1, failed: 2, startTimeSet: true}},
		{name: "counted pods are not counted again", job: func(j *batchv1.Job) {
			j.Status.Succeeded, j.Status.Failed = 3, 1
			j.Status.UncountedTerminatedPods.Succeeded = []types.UID{"uid-ok"}
		}, pods: pods(pod("ok", corev1.PodSucceeded), pod("old", corev1.PodSucceeded, noFinalizer), pod("going", corev1.PodFailed)),
			going: []string{"uid-going"},
			want:  want{succeeded: 4, failed: 1, startTimeSet: true}},
		{name: "more failures than backoffLimit", job: func(j *batchv1.Job) { j.Spec.BackoffLimit = ptrTo(int32(1)); j.Status.Failed = 1 },
			pods: pods(pod("bad", corev1.PodFailed)),
			want: want{failed: 2, startTimeSet: true, verdict: &verdict{reason: "BackoffLimitExceeded", message: msgBackoffLimit}}},
		{name: "at backoffLimit still runs", job: func(j *batchv1.Job) { j.Spec.BackoffLimit = ptrTo(int32(1)) },
			pods: pods(pod("bad", corev1.PodFailed)), want: want{failed: 1, startTimeSet: true}},
		{name: "restarts count with OnFailure", job: func(j *batchv1.Job) {
			j.Spec.BackoffLimit = ptrTo(int32(2))
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		}, pods: pods(pod("r", corev1.PodRunning, func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", RestartCount: 2}}
		})), want: want{active: 1, ready: 1, startTimeSet: true, verdict: &verdict{reason: "BackoffLimitExceeded", message: msgBackoffLimit}}},
		{name: "deadline passed", job: func(j *batchv1.Job) {
			j.Spec.ActiveDeadlineSeconds = ptrTo(int64(30))
			j.Status.StartTime = ptrTo(metav1.NewTime(t0))
		}, pods: pods(pod("run", corev1.PodRunning)),
			want: want{active: 1, ready: 1, startTimeSet: true, verdict: &verdict{reason: "DeadlineExceeded", message: msgDeadline}}},
		{name: "deadline ahead: check again then", job: func(j *batchv1.Job) {
			j.Spec.ActiveDeadlineSeconds = ptrTo(int64(90))
			j.Status.StartTime = ptrTo(metav1.NewTime(t0))
		}, want: want{startTimeSet: true, recheckIn: 30 * time.Second}},
		{name: "suspended: no start time, no deadline", job: func(j *batchv1.Job) {
			j.Spec.Suspend = ptrTo(true)
			j.Spec.ActiveDeadlineSeconds = ptrTo(int64(1))
		}, want: want{}},
		{name: "FailJob rule", job: func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:      batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{3}},
			}}}
		}, pods: pods(pod("bad", corev1.PodFailed, exitCode(3, t0))), want: want{failed: 1, startTimeSet: true, verdict: &verdict{
			reason: "PodFailurePolicy", message: "Container c for pod ns/bad failed with exit code 3 matching FailJob rule at index 0"}}},
		{name: "Ignore rule does not count", job: func(j *batchv1.Job) {
			j.Spec.BackoffLimit = ptrTo(int32(0))
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:      batchv1.PodFailurePolicyActionIgnore,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{3}},
			}}}
		}, pods: pods(pod("bad", corev1.PodFailed, exitCode(3, t0))), want: want{startTimeSet: true}},
		{name: "failure target set earlier stands", job: func(j *batchv1.Job) {
			j.Status.Conditions = []batchv1.JobCondition{newCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, "DeadlineExceeded", "m", t0)}
		}, want: want{startTimeSet: true, verdict: &verdict{reason: "DeadlineExceeded", message: "m"}}},
		{name: "success criteria met earlier stand", job: func(j *batchv1.Job) {
			j.Status.Conditions = []batchv1.JobCondition{newCondition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "CompletionsReached", "m", t0)}
		}, want: want{startTimeSet: true, verdict: &verdict{success: true, reason: "CompletionsReached", message: "m"}}},
		{name: "indexed: succeeded are distinct indexes", job: func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptrTo(batchv1.IndexedCompletion)
			j.Status.CompletedIndexes = "0"
		}, pods: pods(pod("a", corev1.PodSucceeded, withIndex(1)), pod("b", corev1.PodSucceeded, withIndex(1)), pod("c", corev1.PodSucceeded, withIndex(9))),
			want: want{succeeded: 2, startTimeSet: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := testJob(ptrTo(int32(3)), 2)
			if tc.job != nil {
				tc.job(job)
			}
			in := newInput(job, tc.pods)
			in.finalizersGoing.Insert(tc.going...)
			a := assess(in)
			got := want{
				active: int32(len(a.active)), ready: a.ready, terminating: a.terminating,
				succeeded: a.succeeded, failed: a.failed, verdict: a.verdict, recheckIn: a.recheckIn,
				startTimeSet: a.startTime != nil,
			}
			if got.verdict == nil && tc.want.verdict != nil || got.verdict != nil && (tc.want.verdict == nil || *got.verdict != *tc.want.verdict) {
				t.Errorf("verdict %+v, want %+v", got.verdict, tc.want.verdict)
			}
			got.verdict = tc.want.verdict
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestManage(t *testing.T) {
	running := func(name string) *corev1.Pod { return pod(name, corev1.PodRunning) }
	for _, tc := range []struct {
		name        string
		completions *int32
		parallelism int32
		job         func(*batchv1.Job)
		pods        []*corev1.Pod
		backoff     backoffRecord
		want        manageAction
	}{
		{name: "starts parallelism pods", completions: ptrTo(int32(5)), parallelism: 2, want: manageAction{create: 2}},
		{name: "no more than the completions missing", completions: ptrTo(int32(5)), parallelism: 3,
			pods: pods(pod("a", corev1.PodSucceeded), pod("b", corev1.PodSucceeded), pod("c", corev1.PodSucceeded), running("d")),
			want: manageAction{create: 1}},
		{name: "all done", completions: ptrTo(int32(2)), parallelism: 2,
			pods: pods(pod("a", corev1.PodSucceeded), pod("b", corev1.PodSucceeded)), want: manageAction{}},
		{name: "parallelism 0 runs nothing", completions: ptrTo(int32(2)), parallelism: 0,
			pods: pods(running("a")), want: manageAction{remove: pods(running("a"))}},
		{name: "scales down cheapest first", completions: ptrTo(int32(9)), parallelism: 1,
			pods: pods(running("ready"), pod("pending", corev1.PodPending), pod("unscheduled", corev1.PodPending, unscheduled)),
			want: manageAction{remove: pods(pod("unscheduled", corev1.PodPending, unscheduled), pod("pending", corev1.PodPending))}},
		{name: "suspended removes every active pod", completions: ptrTo(int32(3)), parallelism: 3,
			job: func(j *batchv1.Job) { j.Spec.Suspend = ptrTo(true) }, pods: pods(running("a"), pod("ok", corev1.PodSucceeded)),
			want: manageAction{remove: pods(running("a"))}},
		{name: "waits for the back-off", completions: ptrTo(int32(3)), parallelism: 1,
			backoff: backoffRecord{failures: 2, lastFailureTime: t0.Add(50 * time.Second)}, want: manageAction{wait: 10 * time.Second}},
		{name: "back-off over", completions: ptrTo(int32(3)), parallelism: 1,
			backoff: backoffRecord{failures: 1, lastFailureTime: t0}, want: manageAction{create: 1}},
		{name: "terminating pods are replaced at once", completions: ptrTo(int32(3)), parallelism: 2,
			pods: pods(running("a"), pod("t", corev1.PodRunning, deleting)), want: manageAction{create: 1}},
		{name: "unless only failed pods are replaced", completions: ptrTo(int32(3)), parallelism: 2,
			job:  func(j *batchv1.Job) { j.Spec.PodReplacementPolicy = ptrTo(batchv1.Failed) },
			pods: pods(running("a"), pod("t", corev1.PodRunning, deleting)), want: manageAction{}},
		{name: "no completions: parallelism until a success", parallelism: 3, pods: pods(running("a")), want: manageAction{create: 2}},
		{name: "no completions: none new after a success", parallelism: 3,
			pods: pods(running("a"), pod("ok", corev1.PodSucceeded)), want: manageAction{}},
		{name: "indexed: pending indexes", completions: ptrTo(int32(4)), parallelism: 3,
			job:  func(j *batchv1.Job) { j.Spec.CompletionMode = ptrTo(batchv1.IndexedCompletion) },
			pods: pods(pod("a", corev1.PodRunning, withIndex(0)), pod("b", corev1.PodSucceeded, withIndex(1))),
			want: manageAction{create: 2, indexes: []int{2, 3}}},
		{name: "indexed: duplicates go first", completions: ptrTo(int32(4)), parallelism: 3,
			job:  func(j *batchv1.Job) { j.Spec.CompletionMode = ptrTo(batchv1.IndexedCompletion) },
			pods: pods(pod("a", corev1.PodRunning, withIndex(0)), pod("b", corev1.PodRunning, withIndex(0), notReady)),
			want: manageAction{remove: pods(pod("b", corev1.PodRunning, withIndex(0), notReady))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := testJob(tc.completions, tc.parallelism)
			if tc.job != nil {
				tc.job(job)
			}
			in := newInput(job, tc.pods)
			in.backoff = tc.backoff
			a := assess(in)
			got := manage(in, a)
			if !slices.Equal(names(got.remove), names(tc.want.remove)) || got.create != tc.want.create ||
				!slices.Equal(got.indexes, tc.want.indexes) || got.wait != tc.want.wait {
				t.Errorf("got remove %v create %d indexes %v wait %v; want remove %v create %d indexes %v wait %v",
					names(got.remove), got.create, got.indexes, got.wait,
					names(tc.want.remove), tc.want.create, tc.want.indexes, tc.want.wait)
			}
		})
	}
}

func TestIsComplete(t *testing.T) {
	three := testJob(ptrTo(int32(3)), 1)
	none := testJob(nil, 2)
	for _, tc := range []struct {
		name              string
		job               *batchv1.Job
		succeeded, active int32
		want              bool
	}{
		{"completions reached", three, 3, 0, true},
		{"completions reached, pods still active", three, 3, 1, false},
		{"completions missing", three, 2, 0, false},
		{"no completions: one success and nothing active", none, 1, 0, true},
		{"no completions: nothing yet", none, 0, 0, false},
	} {
		if got := isComplete(tc.job, tc.succeeded, tc.active); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSuspension(t *testing.T) {
	var st batchv1.JobStatus
	if r, _ := suspension(&st, false, t0); r != "" || len(st.Conditions) != 0 {
		t.Fatalf("running job got %q and conditions %v", r, st.Conditions)
	}
	if r, _ := suspension(&st, true, t0); r != "Suspended" || !hasSuspended(st, corev1.ConditionTrue) {
		t.Fatalf("suspending: %q, conditions %v", r, st.Conditions)
	}
	if r, _ := suspension(&st, true, t0); r != "" {
		t.Fatalf("still suspended reported %q", r)
	}
	later := t0.Add(time.Hour)
	if r, _ := suspension(&st, false, later); r != "Resumed" || !hasSuspended(st, corev1.ConditionFalse) || !st.StartTime.Time.Equal(later) {
		t.Fatalf("resuming: %q, conditions %v, start %v", r, st.Conditions, st.StartTime)
	}
}

func hasSuspended(st batchv1.JobStatus, s corev1.ConditionStatus) bool {
	c := findCondition(st.Conditions, batchv1.JobSuspended)
	return c != nil && c.Status == s
}
