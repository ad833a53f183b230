package statefulset

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestParentAndOrdinal(t *testing.T) {
	tests := []struct {
		name   string
		parent string
		ord    int
	}{
		{"web-0", "web", 0},
		{"web-12", "web", 12},
		{"my-db-3", "my-db", 3},
		{"web", "", -1},
		{"web-", "", -1},
		{"web-x", "", -1},
		{"web-99999999999", "", -1}, // beyond int32
	}
	for _, tt := range tests {
		parent, ord := parentAndOrdinal(tt.name)
		if parent != tt.parent || ord != tt.ord {
			t.Errorf("parentAndOrdinal(%q) = %q, %d; want %q, %d", tt.name, parent, ord, tt.parent, tt.ord)
		}
	}
}

func TestNewPod(t *testing.T) {
	set := testSet(3, retain, retain)
	pod := newPod(set, &set.Spec.Template, 1, "web-abc")
	if pod.Name != "web-1" || pod.Namespace != "default" || pod.GenerateName != "" {
		t.Errorf("pod %s/%s (generateName %q), want default/web-1", pod.Namespace, pod.Name, pod.GenerateName)
	}
	for k, v := range map[string]string{
		"app": "web", appsv1.StatefulSetPodNameLabel: "web-1", appsv1.PodIndexLabel: "1",
		appsv1.StatefulSetRevisionLabel: "web-abc",
	} {
		if pod.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, pod.Labels[k], v)
		}
	}
	if pod.Spec.Hostname != "web-1" || pod.Spec.Subdomain != "nginx" {
		t.Errorf("hostname %q subdomain %q, want web-1 and nginx", pod.Spec.Hostname, pod.Spec.Subdomain)
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != "StatefulSet" || ref.Name != "web" || ref.UID != set.UID {
		t.Errorf("controller ref %+v", ref)
	}
	// The claim replaces the template's volume of the same name.
	if len(pod.Spec.Volumes) != 2 {
		t.Fatalf("volumes %+v, want data and cache", pod.Spec.Volumes)
	}
	if v := pod.Spec.Volumes[0]; v.Name != "data" || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "data-web-1" {
		t.Errorf("first volume %+v, want data from claim data-web-1", v)
	}
	if v := pod.Spec.Volumes[1]; v.Name != "cache" || v.EmptyDir == nil {
		t.Errorf("second volume %+v, want the template's cache", v)
	}
	// The template is not touched.
	if set.Spec.Template.Labels[appsv1.StatefulSetPodNameLabel] != "" || set.Spec.Template.Spec.Volumes[0].EmptyDir == nil {
		t.Error("newPod changed the template")
	}
	if !identityMatches(pod) {
		t.Error("a new pod's identity does not match")
	}
}

func TestViewOf(t *testing.T) {
	set := testSet(4, retain, retain)
	set.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	set.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 3}
	set.Spec.MinReadySeconds = 5
	set.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{
		Type: appsv1.RollingUpdateStatefulSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{
			Partition: ptr.To[int32](2), MaxUnavailable: ptr.To(intstr.FromString("50%")),
		},
	}
	v, err := viewOf(set, "web-a", "web-b")
	if err != nil {
		t.Fatal(err)
	}
	want := view{Name: "web", Start: 3, Replicas: 4, Parallel: true, Partition: 2, CurrentBelow: 2, MaxUnavailable: 2,
		MinReady: 5 * time.Second, HasClaims: true, CurrentRevision: "web-a", UpdateRevision: "web-b"}
	if v != want {
		t.Errorf("view = %+v\nwant   %+v", v, want)
	}
	set.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	if v, _ := viewOf(set, "web-a", "web-b"); !v.OnDelete || v.CurrentBelow != 0 || v.MaxUnavailable != 1 {
		t.Errorf("OnDelete view = %+v", v)
	}
}

func TestComputeStatus(t *testing.T) {
	set := testSet(3, retain, retain)
	set.Generation = 4
	set.Spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
	ps := pods(tpod(0, "a", ready), tpod(1, "a", justReady), tpod(2, "b", pending), tpod(3, "a", terminating))
	s := computeStatus(set, ps, "a", "b", 0, 10*time.Second, now)
	want := appsv1.StatefulSetStatus{
		ObservedGeneration: 4, Replicas: 4, ReadyReplicas: 3, AvailableReplicas: 2, CurrentReplicas: 2, UpdatedReplicas: 1,
		CurrentRevision: "a", UpdateRevision: "b", CollisionCount: ptr.To[int32](0),
	}
	if !statusEqual(s, want) {
		t.Errorf("status = %+v\nwant     %+v", s, want)
	}
	completeRollingUpdate(set, &s)
	if s.CurrentRevision != "a" {
		t.Error("completed a rolling update with a pod at the old revision")
	}

	done := computeStatus(set, pods(tpod(0, "b", ready), tpod(1, "b", ready), tpod(2, "b", ready)), "a", "b", 2, 0, now)
	completeRollingUpdate(set, &done)
	if done.CurrentRevision != "b" || done.CurrentReplicas != 3 || ptr.Deref(done.CollisionCount, 0) != 2 {
		t.Errorf("after the update: current %q x%d (collisions %v), want b x3 (2)", done.CurrentRevision, done.CurrentReplicas, done.CollisionCount)
	}
}

func statusEqual(a, b appsv1.StatefulSetStatus) bool {
	return a.ObservedGeneration == b.ObservedGeneration && a.Replicas == b.Replicas && a.ReadyReplicas == b.ReadyReplicas &&
		a.AvailableReplicas == b.AvailableReplicas && a.CurrentReplicas == b.CurrentReplicas &&
		a.UpdatedReplicas == b.UpdatedReplicas && a.CurrentRevision == b.CurrentRevision &&
		a.UpdateRevision == b.UpdateRevision && ptr.Deref(a.CollisionCount, -1) == ptr.Deref(b.CollisionCount, -1)
}
