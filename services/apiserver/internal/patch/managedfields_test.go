package patch

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestRecordManagedFieldsOnCreate(t *testing.T) {
	p := newPatcher(t)
	obj := deployment()
	before := obj.DeepCopy()
	if err := p.RecordManagedFields(obj, nil, "kubectl-create", ""); err != nil {
		t.Fatal(err)
	}
	e := mustEntry(t, obj, "kubectl-create", metav1.ManagedFieldsOperationUpdate)
	if e.APIVersion != "apps/v1" || e.Subresource != "" || e.Time == nil {
		t.Fatalf("entry = %+v", e)
	}
	for _, f := range []string{"f:replicas", "f:labels", `k:{\"name\":\"sidecar\"}`} {
		if !owns(e, f) {
			t.Errorf("entry does not own %s: %s", f, e.FieldsV1.Raw)
		}
	}
	if gvk := obj.GetObjectKind().GroupVersionKind(); gvk != deploymentGVK {
		t.Fatalf("kind = %v", gvk)
	}
	// Nothing else of the object changed.
	after := obj.DeepCopy()
	after.ManagedFields, after.TypeMeta = nil, before.TypeMeta
	unchanged(t, before, after)
}

func TestRecordManagedFieldsOnUpdate(t *testing.T) {
	p := newPatcher(t)
	old := recorded(t, p, deployment(), nil, "kubectl-create", "").(*appsv1.Deployment)
	obj := old.DeepCopy()
	obj.Spec.Template.Spec.Containers[0].Image = "nginx:1.27"
	oldBefore := old.DeepCopy()

	if err := p.RecordManagedFields(obj, old, ManagerName("", "kube-controller-manager/v1.31.0 (linux/amd64)"), ""); err != nil {
		t.Fatal(err)
	}
	unchanged(t, oldBefore, old)
	if &obj.ManagedFields[0] == &old.ManagedFields[0] {
		t.Fatal("the updated object shares its managedFields with the current one")
	}

	ctrl := mustEntry(t, obj, "kube-controller-manager", metav1.ManagedFieldsOperationUpdate)
	if !owns(ctrl, "f:image") || owns(ctrl, "f:replicas") {
		t.Fatalf("controller entry: %s", ctrl.FieldsV1.Raw)
	}
	if !owns(mustEntry(t, obj, "kubectl-create", metav1.ManagedFieldsOperationUpdate), "f:replicas") {
		t.Fatal("the creator lost spec.replicas")
	}
}

func TestRecordManagedFieldsOfStatus(t *testing.T) {
	p := newPatcher(t)
	old := recorded(t, p, pod(), nil, "kubectl", "").(*corev1.Pod)
	obj := old.DeepCopy()
	obj.Status.Phase = corev1.PodRunning
	obj.Spec.NodeName = "n1" // reset by the status strategy: not owned

	if err := p.RecordManagedFields(obj, old, "kubelet", "status"); err != nil {
		t.Fatal(err)
	}
	e := mustEntry(t, obj, "kubelet", metav1.ManagedFieldsOperationUpdate)
	if e.Subresource != "status" || !owns(e, "f:phase") || owns(e, "f:nodeName") {
		t.Fatalf("entry = %+v %s", e, e.FieldsV1.Raw)
	}
}

func TestManagerName(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct{ fieldManager, userAgent, want string }{
		{"kubectl-client-side-apply", "kubectl/v1.31.0 (linux/amd64) kubernetes/abc", "kubectl-client-side-apply"},
		{"", "kubectl/v1.31.0 (linux/amd64) kubernetes/abc", "kubectl"},
		{"", "Go-http-client/1.1", "Go-http-client"},
		{"", "curl", "curl"},
		{"", "bad\x00agent/1", "badagent"},
		{"", long, long[:128]},
		{"", "", ""},
	}
	for _, tc := range tests {
		if got := ManagerName(tc.fieldManager, tc.userAgent); got != tc.want {
			t.Errorf("ManagerName(%q, %q) = %q, want %q", tc.fieldManager, tc.userAgent, got, tc.want)
		}
	}
}

func TestParsePatchType(t *testing.T) {
	for _, ct := range []string{
		"application/json-patch+json",
		"application/merge-patch+json; charset=utf-8",
		"application/strategic-merge-patch+json",
		"application/apply-patch+yaml",
	} {
		if _, err := ParsePatchType(ct); err != nil {
			t.Errorf("ParsePatchType(%q): %v", ct, err)
		}
	}
	for _, ct := range []string{"application/json", string(types.ApplyCBORPatchType), ""} {
		_, err := ParsePatchType(ct)
		checkStatus(t, err, 415, "the body of the request was in an unknown format")
	}
}
