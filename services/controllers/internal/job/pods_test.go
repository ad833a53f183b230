package job

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestNewPod(t *testing.T) {
	j := indexedJob(3, 3)
	j.Spec.Template.Spec.Containers = append(j.Spec.Template.Spec.Containers,
		corev1.Container{Name: "own", Env: []corev1.EnvVar{{Name: completionIndexEnv, Value: "mine"}}})
	p := newPod(j, 2)
	if p.GenerateName != "pi-2-" || p.Spec.Hostname != "pi-2" {
		t.Errorf("generateName %q hostname %q", p.GenerateName, p.Spec.Hostname)
	}
	if p.Annotations[batchv1.JobCompletionIndexAnnotation] != "2" || p.Labels[batchv1.JobCompletionIndexAnnotation] != "2" {
		t.Errorf("annotations %v labels %v", p.Annotations, p.Labels)
	}
	if p.Labels[batchv1.JobNameLabel] != "pi" || !hasTrackingFinalizer(p) {
		t.Errorf("labels %v finalizers %v", p.Labels, p.Finalizers)
	}
	env := p.Spec.Containers[0].Env
	if len(env) != 1 || env[0].Name != completionIndexEnv || env[0].ValueFrom.FieldRef.FieldPath != "metadata.labels['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("env %+v", env)
	}
	if own := p.Spec.Containers[1].Env; len(own) != 1 || own[0].Value != "mine" {
		t.Errorf("a container's own JOB_COMPLETION_INDEX replaced: %+v", own)
	}
	if ref := p.OwnerReferences; len(ref) != 1 || ref[0].Kind != "Job" || ref[0].UID != j.UID || !*ref[0].Controller {
		t.Errorf("owner references %+v", ref)
	}
	if len(j.Spec.Template.Spec.Containers[0].Env) != 0 {
		t.Error("the job's template was modified")
	}

	plain := newPod(testJob(ptrTo(int32(1)), 1), noIndex)
	if plain.GenerateName != "pi-" || plain.Spec.Hostname != "" || len(plain.Spec.Containers[0].Env) != 0 || !hasTrackingFinalizer(plain) {
		t.Errorf("NonIndexed pod %+v", plain)
	}
}

func TestIndexedNamePrefix(t *testing.T) {
	long := strings.Repeat("a", 300)
	got := indexedNamePrefix(long, 12)
	if len(got) != 253-5 || !strings.HasSuffix(got, "a-12-") {
		t.Errorf("len %d, suffix %q", len(got), got[len(got)-6:])
	}
}
