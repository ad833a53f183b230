package job

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

const (
	// completionIndexEnv is the variable holding a pod's completion index.
	completionIndexEnv = "JOB_COMPLETION_INDEX"
	// noIndex is the completion index of a pod that has none (or a bad one).
	noIndex = -1
)

var jobGVK = batchv1.SchemeGroupVersion.WithKind("Job")

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// isActive: the pod runs or will run (not terminated, not being deleted).
func isActive(p *corev1.Pod) bool {
	return !isTerminal(p) && p.DeletionTimestamp == nil
}

// isTerminating: the pod is being deleted and has not terminated yet.
func isTerminating(p *corev1.Pod) bool {
	return p.DeletionTimestamp != nil && !isTerminal(p)
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasTrackingFinalizer(p *corev1.Pod) bool {
	for _, f := range p.Finalizers {
		if f == batchv1.JobTrackingFinalizer {
			return true
		}
	}
	return false
}

// onlyReplaceFailed: pods are replaced once they have failed, not as soon
// as they are being deleted (podReplacementPolicy Failed, implied by a
// podFailurePolicy).
func onlyReplaceFailed(job *batchv1.Job) bool {
	if job.Spec.PodFailurePolicy != nil {
		return true
	}
	return job.Spec.PodReplacementPolicy != nil && *job.Spec.PodReplacementPolicy == batchv1.Failed
}

// isPodFailed: the pod failed, or (unless only failed pods are replaced)
// is being deleted before it succeeded — it will never succeed.
func isPodFailed(p *corev1.Pod, job *batchv1.Job) bool {
	if p.Status.Phase == corev1.PodFailed {
		return true
	}
	if onlyReplaceFailed(job) {
		return false
	}
	return p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded
}

// completionIndex is the pod's completion index, or noIndex.
func completionIndex(p *corev1.Pod) int {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		return noIndex
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return noIndex
	}
	return i
}

// validIndex: the pod has a completion index within the Job's completions.
func validIndex(p *corev1.Pod, job *batchv1.Job) bool {
	ix := completionIndex(p)
	return ix != noIndex && ix < int(deref(job.Spec.Completions, 0))
}

// finishedAt estimates when a terminated pod finished: the last of its
// containers' exits, else when it turned not ready, else the moment of
// its deletion, else its creation.
func finishedAt(p *corev1.Pod) time.Time {
	var last *time.Time
	all := len(p.Status.ContainerStatuses) > 0
	for _, cs := range p.Status.ContainerStatuses {
		t := cs.State.Terminated
		if t == nil || t.FinishedAt.IsZero() {
			all = false
			break
		}
		if last == nil || last.Before(t.FinishedAt.Time) {
			last = &t.FinishedAt.Time
		}
	}
	if all && last != nil {
		return *last
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionFalse && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime.Time
		}
	}
	if p.DeletionTimestamp != nil {
		return p.DeletionTimestamp.Add(-time.Duration(deref(p.DeletionGracePeriodSeconds, 0)) * time.Second)
	}
	return p.CreationTimestamp.Time
}

// newPod is the pod the Job runs next: its template with the tracking
// finalizer and, for a completion index (not noIndex), the index's
// annotation, label, variable and hostname.
func newPod(job *batchv1.Job, index int) *corev1.Pod {
	tmpl := job.Spec.Template.DeepCopy()
	if isIndexed(job) {
		for i := range tmpl.Spec.InitContainers {
			addIndexEnv(&tmpl.Spec.InitContainers[i])
		}
		for i := range tmpl.Spec.Containers {
			addIndexEnv(&tmpl.Spec.Containers[i])
		}
	}
	pod := controller.PodFromTemplate(tmpl, job, jobGVK)
	if !hasTrackingFinalizer(pod) {
		pod.Finalizers = append(pod.Finalizers, batchv1.JobTrackingFinalizer)
	}
	if index != noIndex {
		ix := strconv.Itoa(index)
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[batchv1.JobCompletionIndexAnnotation] = ix
		if pod.Labels == nil {
			pod.Labels = map[string]string{}
		}
		pod.Labels[batchv1.JobCompletionIndexAnnotation] = ix
		pod.Spec.Hostname = fmt.Sprintf("%s-%d", job.Name, index)
		pod.GenerateName = indexedNamePrefix(job.Name, index)
	}
	return pod
}

// addIndexEnv gives a container JOB_COMPLETION_INDEX (from the pod's
// index label) unless it sets the variable itself.
func addIndexEnv(c *corev1.Container) {
	for _, e := range c.Env {
		if e.Name == completionIndexEnv {
			return
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{
		Name: completionIndexEnv,
		ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
			FieldPath: fmt.Sprintf("metadata.labels['%s']", batchv1.JobCompletionIndexAnnotation),
		}},
	})
}

// indexedNamePrefix is the generateName of an index's pods,
// "<job>-<index>-", the job name shortened to keep names valid.
func indexedNamePrefix(job string, index int) string {
	suffix := "-" + strconv.Itoa(index) + "-"
	maxLen := validation.DNS1123SubdomainMaxLength - 5 // generateName adds 5 characters
	if len(job)+len(suffix) > maxLen {
		job = job[:max(maxLen-len(suffix), 0)]
	}
	return job + suffix
}

// removeFinalizerPatch is the strategic-merge patch taking the tracking
// finalizer off a pod.
func removeFinalizerPatch() []byte {
	b, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"$deleteFromPrimitiveList/finalizers": []string{batchv1.JobTrackingFinalizer}},
	})
	return b
}

// addFinalizerPatch puts the tracking finalizer on an adopted pod.
func addFinalizerPatch() []byte {
	b, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"finalizers": []string{batchv1.JobTrackingFinalizer}},
	})
	return b
}

// sortForRemoval orders active pods from the cheapest to lose to the
// dearest: unscheduled before scheduled, pending before running, not
// ready before ready, ready for less time before longer, more restarts
// before fewer, newer before older (Kubernetes' order).
func sortForRemoval(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool { return removeFirst(pods[i], pods[j]) })
}

func removeFirst(a, b *corev1.Pod) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	rank := map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}
	if rank[a.Status.Phase] != rank[b.Status.Phase] {
		return rank[a.Status.Phase] < rank[b.Status.Phase]
	}
	if isReady(a) != isReady(b) {
		return !isReady(a)
	}
	if isReady(a) && isReady(b) {
		ta, tb := readySince(a), readySince(b)
		if !ta.Equal(tb) {
			return ta.After(tb)
		}
	}
	if ra, rb := restarts(a), restarts(b); ra != rb {
		return ra > rb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.After(b.CreationTimestamp.Time)
	}
	return a.Name < b.Name
}

func readySince(p *corev1.Pod) time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
