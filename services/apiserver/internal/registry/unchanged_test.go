package registry

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestUnchanged(t *testing.T) {
	t1, t2 := metav1.NewTime(time.Unix(100, 0)), metav1.NewTime(time.Unix(200, 0))
	base := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "p", Namespace: "ns", ResourceVersion: "5", Labels: map[string]string{"a": "1"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m", Operation: metav1.ManagedFieldsOperationUpdate, Time: &t1}},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "i",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}},
		}}},
	}
	for _, tc := range []struct {
		name   string
		change func(*corev1.Pod)
		want   bool
	}{
		{"identical", func(*corev1.Pod) {}, true},
		{"another resourceVersion", func(p *corev1.Pod) { p.ResourceVersion = "9" }, true},
		{"another managed fields time", func(p *corev1.Pod) { p.ManagedFields[0].Time = &t2 }, true},
		{"a quantity written differently", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("0.1")
		}, true},
		{"another label", func(p *corev1.Pod) { p.Labels["a"] = "2" }, false},
		{"another manager", func(p *corev1.Pod) { p.ManagedFields[0].Manager = "other" }, false},
		{"another node", func(p *corev1.Pod) { p.Spec.NodeName = "n" }, false},
		{"another status", func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := base.DeepCopy()
			tc.change(next)
			cur := base.DeepCopy()
			nextBefore, curBefore := next.DeepCopy(), cur.DeepCopy()
			if got := unchanged(next, cur); got != tc.want {
				t.Errorf("unchanged = %v, want %v", got, tc.want)
			}
			// Neither object may be touched: cur may be the watch cache's.
			if !equality.Semantic.DeepEqual(next, nextBefore) || !equality.Semantic.DeepEqual(cur, curBefore) {
				t.Errorf("unchanged modified its arguments: %+v / %+v", next.ObjectMeta, cur.ObjectMeta)
			}
			if next.ManagedFields[0].Time == nil || cur.ManagedFields[0].Time == nil {
				t.Error("unchanged cleared a managed fields time of its arguments")
			}
		})
	}

	// Objects without an embedded ObjectMeta are compared the same way.
	u := func(rv, label string) runtime.Object {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion("example.com/v1")
		o.SetKind("Thing")
		o.SetName("x")
		o.SetResourceVersion(rv)
		o.SetLabels(map[string]string{"a": label})
		return o
	}
	if !unchanged(u("1", "x"), u("2", "x")) {
		t.Error("unstructured objects differing in resourceVersion only: changed, want unchanged")
	}
	if unchanged(u("1", "x"), u("1", "y")) {
		t.Error("unstructured objects with other labels: unchanged, want changed")
	}
	a := u("1", "x")
	unchanged(a, u("2", "x"))
	if a.(*unstructured.Unstructured).GetResourceVersion() != "1" {
		t.Error("unchanged cleared an unstructured argument's resourceVersion")
	}
}
