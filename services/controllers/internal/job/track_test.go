package job

import (
	"slices"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
)

func TestTrack(t *testing.T) {
	type want struct {
		release              []string
		uncountedSucceeded   []types.UID
		uncountedFailed      []types.UID
		succeeded, failed    int32
		completedIndexes     string
		interim              batchv1.JobConditionType
		withFinalizerCounted int
	}
	for _, tc := range []struct {
		name    string
		job     func(*batchv1.Job)
		pods    []*corev1.Pod
		verdict *verdict
		going   []string
		want    want
	}{
		{name: "records finished pods, leaves running ones", pods: pods(
			pod("run", corev1.PodRunning), pod("ok", corev1.PodSucceeded), pod("bad", corev1.PodFailed), pod("bye", corev1.PodRunning, deleting),
		), want: want{release: []string{"ok", "bad", "bye"}, uncountedSucceeded: []types.UID{"uid-ok"},
			uncountedFailed: []types.UID{"uid-bad", "uid-bye"}, withFinalizerCounted: 4}},
		{name: "uncounted pods without finalizer move to the counters", job: func(j *batchv1.Job) {
			j.Status.Succeeded = 1
			j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"uid-gone", "uid-ok"}, Failed: []types.UID{"uid-bad"}}
		}, pods: pods(pod("ok", corev1.PodSucceeded), pod("bad", corev1.PodFailed, noFinalizer)),
			want: want{release: []string{"ok"}, uncountedSucceeded: []types.UID{"uid-ok"}, succeeded: 2, failed: 1, withFinalizerCounted: 1}},
		{name: "finalizers already going are skipped", pods: pods(pod("ok", corev1.PodSucceeded)), going: []string{"uid-ok"}},
		{name: "a failing job counts every unfinished pod failed", verdict: &verdict{reason: "DeadlineExceeded", message: "m"},
			pods: pods(pod("run", corev1.PodRunning), pod("ok", corev1.PodSucceeded)),
			want: want{release: []string{"run", "ok"}, uncountedSucceeded: []types.UID{"uid-ok"}, uncountedFailed: []types.UID{"uid-run"},
				interim: batchv1.JobFailureTarget, withFinalizerCounted: 2}},
		{name: "a succeeding job releases running pods uncounted", verdict: &verdict{success: true, reason: "CompletionsReached"},
			pods: pods(pod("run", corev1.PodRunning)),
			want: want{release: []string{"run"}, interim: batchv1.JobSuccessCriteriaMet, withFinalizerCounted: 1}},
		{name: "ignored failures are released uncounted", job: func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:      batchv1.PodFailurePolicyActionIgnore,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{3}},
			}}}
		}, pods: pods(pod("bad", corev1.PodFailed, exitCode(3, t0))), want: want{release: []string{"bad"}, withFinalizerCounted: 1}},
		{name: "indexed: successes go to completedIndexes", job: func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptrTo(batchv1.IndexedCompletion)
			j.Status.CompletedIndexes = "0"
			j.Status.Succeeded = 1
		}, pods: pods(pod("a", corev1.PodSucceeded, withIndex(1)), pod("b", corev1.PodSucceeded, withIndex(2)), pod("c", corev1.PodFailed, withIndex(7))),
			want: want{release: []string{"a", "b", "c"}, completedIndexes: "0-2", succeeded: 3, withFinalizerCounted: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := testJob(ptrTo(int32(3)), 2)
			if tc.job != nil {
				tc.job(job)
			}
			prev, cur := succeededIndexes(job, tc.pods)
			tr := track(job, tc.pods, tc.verdict, sets.New(tc.going...), prev, cur, t0)
			st := job.Status
			var interim batchv1.JobConditionType
			for _, c := range st.Conditions {
				interim = c.Type
			}
			got := want{
				release: names(tr.release), uncountedSucceeded: st.UncountedTerminatedPods.Succeeded, uncountedFailed: st.UncountedTerminatedPods.Failed,
				succeeded: st.Succeeded, failed: st.Failed, completedIndexes: st.CompletedIndexes, interim: interim,
				withFinalizerCounted: tr.withFinalizer.Len(),
			}
			if tc.want.release == nil {
				tc.want.release = []string{}
			}
			if !slices.Equal(got.release, tc.want.release) || !slices.Equal(got.uncountedSucceeded, tc.want.uncountedSucceeded) ||
				!slices.Equal(got.uncountedFailed, tc.want.uncountedFailed) || got.succeeded != tc.want.succeeded ||
				got.failed != tc.want.failed || got.completedIndexes != tc.want.completedIndexes || got.interim != tc.want.interim ||
				got.withFinalizerCounted != tc.want.withFinalizerCounted {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestCountReleasedThenFinish(t *testing.T) {
	job := testJob(ptrTo(int32(2)), 2)
	ps := pods(pod("a", corev1.PodSucceeded), pod("b", corev1.PodSucceeded))
	v := &verdict{success: true, reason: batchv1.JobReasonCompletionsReached, message: msgCompletionsReached}
	tr := track(job, ps, v, sets.New[string](), nil, nil, t0)
	if finish(&job.Status, v, 0, t0) {
		t.Fatal("finished with pods still uncounted")
	}
	// The finalizer of a is removed, b's removal failed.
	tr.withFinalizer.Delete("uid-a")
	if !countReleased(&job.Status, tr.withFinalizer) || job.Status.Succeeded != 1 {
		t.Fatalf("after releasing a: succeeded %d, uncounted %v", job.Status.Succeeded, job.Status.UncountedTerminatedPods)
	}
	if finish(&job.Status, v, 0, t0) {
		t.Fatal("finished with b uncounted")
	}
	tr.withFinalizer.Delete("uid-b")
	countReleased(&job.Status, tr.withFinalizer)
	if finish(&job.Status, v, 1, t0) {
		t.Fatal("finished with a pod terminating")
	}
	if !finish(&job.Status, v, 0, t0) {
		t.Fatal("not finished with every pod counted")
	}
	if job.Status.Succeeded != 2 || !hasTrueCondition(job, batchv1.JobSuccessCriteriaMet) || !hasTrueCondition(job, batchv1.JobComplete) ||
		job.Status.CompletionTime == nil {
		t.Fatalf("final status %+v", job.Status)
	}
}

func TestFinishFailed(t *testing.T) {
	st := batchv1.JobStatus{}
	v := &verdict{reason: "BackoffLimitExceeded", message: msgBackoffLimit}
	if !finish(&st, v, 0, t0) {
		t.Fatal("not finished")
	}
	c := findCondition(st.Conditions, batchv1.JobFailed)
	if c == nil || c.Reason != "BackoffLimitExceeded" || c.Message != msgBackoffLimit || st.CompletionTime != nil {
		t.Fatalf("status %+v", st)
	}
}
