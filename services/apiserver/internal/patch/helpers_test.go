package patch

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var (
	deploymentGVK = appsv1.SchemeGroupVersion.WithKind("Deployment")
	podGVK        = corev1.SchemeGroupVersion.WithKind("Pod")
)

func newPatcher(t testing.TB) *Patcher {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func int32p(i int32) *int32 { return &i }

// recorded returns a copy of obj with the managed fields of its write by
// manager to sub recorded (see RecordManagedFields).
func recorded(t testing.TB, p *Patcher, obj, old runtime.Object, manager, sub string) runtime.Object {
	t.Helper()
	out := obj.DeepCopyObject()
	if err := p.RecordManagedFields(out, old, manager, sub); err != nil {
		t.Fatal(err)
	}
	return out
}

// deployment is a stored Deployment "web" with two containers, as a cache
// would hold it: no TypeMeta.
func deployment() *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "default", UID: types.UID("d-1"), ResourceVersion: "7",
			Labels: map[string]string{"app": "web", "tier": "front"},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: int32p(2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       podSpec(),
			},
		},
	}
}

func pod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-0", Namespace: "default", UID: types.UID("p-1"), ResourceVersion: "3",
			Labels: map[string]string{"app": "web", "tier": "front"},
		},
		Spec: podSpec(),
	}
}

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{
		{Name: "web", Image: "nginx:1.25", Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}},
		{Name: "sidecar", Image: "busybox:1.36"},
	}}
}

func containers(t *testing.T, obj runtime.Object) []corev1.Container {
	t.Helper()
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return o.Spec.Template.Spec.Containers
	case *corev1.Pod:
		return o.Spec.Containers
	}
	t.Fatalf("no containers in %T", obj)
	return nil
}

func images(t *testing.T, obj runtime.Object) map[string]string {
	out := map[string]string{}
	for _, c := range containers(t, obj) {
		out[c.Name] = c.Image
	}
	return out
}

func labelsOf(t *testing.T, obj runtime.Object) map[string]string {
	t.Helper()
	a, err := meta.Accessor(obj)
	if err != nil {
		t.Fatal(err)
	}
	return a.GetLabels()
}

// entry finds the managedFields entry of a manager and operation.
func entry(t *testing.T, obj runtime.Object, manager string, op metav1.ManagedFieldsOperationType) *metav1.ManagedFieldsEntry {
	t.Helper()
	a, err := meta.Accessor(obj)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range a.GetManagedFields() {
		if e.Manager == manager && e.Operation == op {
			return &e
		}
	}
	return nil
}

func mustEntry(t *testing.T, obj runtime.Object, manager string, op metav1.ManagedFieldsOperationType) *metav1.ManagedFieldsEntry {
	t.Helper()
	e := entry(t, obj, manager, op)
	if e == nil {
		a, _ := meta.Accessor(obj)
		t.Fatalf("no %s entry for %q in %+v", op, manager, a.GetManagedFields())
	}
	return e
}

func owns(e *metav1.ManagedFieldsEntry, field string) bool {
	return e.FieldsV1 != nil && strings.Contains(string(e.FieldsV1.Raw), `"`+field+`"`)
}

// checkStatus fails unless err is a status error with the given code and
// a message holding msg.
func checkStatus(t *testing.T, err error, code int32, msg string) {
	t.Helper()
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		t.Fatalf("want a %d status error, got %T %v", code, err, err)
	}
	if got := status.Status().Code; got != code {
		t.Fatalf("code = %d, want %d (%v)", got, code, err)
	}
	if !strings.Contains(status.Status().Message, msg) {
		t.Fatalf("message %q does not contain %q", status.Status().Message, msg)
	}
}

// unchanged fails if obj differs from the copy taken before the call.
func unchanged(t *testing.T, before, obj runtime.Object) {
	t.Helper()
	if !reflect.DeepEqual(before, obj) {
		t.Fatalf("the current object was changed:\nbefore %+v\nafter  %+v", before, obj)
	}
}

func namespaceOf(t *testing.T, obj runtime.Object) string {
	t.Helper()
	a, err := meta.Accessor(obj)
	if err != nil {
		t.Fatal(err)
	}
	return a.GetNamespace()
}

func schemaGVK(group, version, kind string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: group, Version: version, Kind: kind}
}

// replaceOnce replaces old, which must be in s, once.
func replaceOnce(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("replaceOnce: " + old + " not found")
	}
	return strings.Replace(s, old, new, 1)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
