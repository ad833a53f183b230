package job

import (
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func ptrTo[T any](v T) *T { return &v }

// testJob is a NonIndexed Job with the given completions (nil: none)
// and parallelism.
func testJob(completions *int32, parallelism int32) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pi", UID: "job-uid"},
		Spec: batchv1.JobSpec{
			Completions: completions, Parallelism: ptrTo(parallelism), BackoffLimit: ptrTo(int32(6)),
			CompletionMode: ptrTo(batchv1.NonIndexedCompletion), Suspend: ptrTo(false),
			PodReplacementPolicy: ptrTo(batchv1.TerminatingOrFailed),
			Selector:             &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: "job-uid"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{batchv1.ControllerUidLabel: "job-uid", batchv1.JobNameLabel: "pi"}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
				},
			},
		},
		Status: batchv1.JobStatus{UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{}},
	}
}

func indexedJob(completions, parallelism int32) *batchv1.Job {
	j := testJob(&completions, parallelism)
	j.Spec.CompletionMode = ptrTo(batchv1.IndexedCompletion)
	return j
}

// pod is a pod of the test Job in phase, holding the tracking finalizer.
type podOpt func(*corev1.Pod)

func pod(name string, phase corev1.PodPhase, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "ns", Name: name, UID: types.UID("uid-" + name),
			Finalizers:        []string{batchv1.JobTrackingFinalizer},
			CreationTimestamp: metav1.NewTime(t0),
		},
		Spec:   corev1.PodSpec{NodeName: "node-1"},
		Status: corev1.PodStatus{Phase: phase},
	}
	if phase == corev1.PodRunning {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)}}
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func withIndex(ix int) podOpt {
	return func(p *corev1.Pod) {
		p.Annotations = map[string]string{batchv1.JobCompletionIndexAnnotation: strconv.Itoa(ix)}
	}
}

func noFinalizer(p *corev1.Pod) { p.Finalizers = nil }

func deleting(p *corev1.Pod) { p.DeletionTimestamp = ptrTo(metav1.NewTime(t0)) }

func unscheduled(p *corev1.Pod) { p.Spec.NodeName = "" }

func notReady(p *corev1.Pod) { p.Status.Conditions = nil }

func exitCode(code int32, at time.Time) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, FinishedAt: metav1.NewTime(at)}},
		}}
	}
}

func withCondition(t corev1.PodConditionType) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue})
	}
}

func pods(ps ...*corev1.Pod) []*corev1.Pod { return ps }

func names(ps []*corev1.Pod) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func newInput(job *batchv1.Job, ps []*corev1.Pod) *input {
	return &input{job: job, pods: ps, now: t0.Add(time.Minute), satisfied: true, finalizersGoing: sets.New[string]()}
}
