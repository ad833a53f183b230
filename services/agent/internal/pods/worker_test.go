package pods

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOnlyStatusChanged(t *testing.T) {
	base := pod("p", corev1.RestartPolicyAlways, ctr("c"))
	base.ResourceVersion = "10"
	now := metav1.Now()
	for _, tc := range []struct {
		name   string
		change func(p *corev1.Pod)
		want   bool
	}{
		{"status and resourceVersion", func(p *corev1.Pod) {
			p.ResourceVersion = "11"
			p.Status.Phase = corev1.PodRunning
			p.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "gantry-agent"}}
		}, true},
		{"a label", func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} }, false},
		{"an annotation", func(p *corev1.Pod) { p.Annotations = map[string]string{"a": "b"} }, false},
		{"the spec", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "other" }, false},
		{"deletion", func(p *corev1.Pod) { p.DeletionTimestamp = &now }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := base.DeepCopy()
			tc.change(next)
			if got := onlyStatusChanged(base, next); got != tc.want {
				t.Errorf("onlyStatusChanged = %v, want %v", got, tc.want)
			}
		})
	}
}
