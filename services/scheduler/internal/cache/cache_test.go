package cache

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func node(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{
		Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")},
		Images:      []corev1.ContainerImage{{Names: []string{"img:1"}, SizeBytes: 1000}},
	}}
}

func pod(name, node, cpu string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name)},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c"}}}}
	if cpu != "" {
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	}
	return p
}

func TestAssumeConfirmForget(t *testing.T) {
	c := New()
	c.AddNode(node("n1"))
	c.AddNode(node("n2"))
	s := NewEmptySnapshot()
	c.UpdateSnapshot(s)
	if s.NumNodes() != 2 {
		t.Fatalf("%d nodes", s.NumNodes())
	}
	a := pod("a", "n1", "1")
	if err := c.AssumePod(a); err != nil {
		t.Fatal(err)
	}
	if err := c.AssumePod(a); err == nil {
		t.Fatal("assumed twice")
	}
	c.UpdateSnapshot(s)
	n1, _ := s.Get("n1")
	if n1.Requested.MilliCPU != 1000 || !c.IsAssumed("a") {
		t.Fatalf("assumed pod not counted: %d", n1.Requested.MilliCPU)
	}
	// The informer confirms it on another node than assumed.
	c.AddPod(pod("a", "n2", "1"))
	c.UpdateSnapshot(s)
	n1, _ = s.Get("n1")
	n2, _ := s.Get("n2")
	if n1.Requested.MilliCPU != 0 || n2.Requested.MilliCPU != 1000 || c.IsAssumed("a") {
		t.Fatalf("after confirmation: n1 %d n2 %d", n1.Requested.MilliCPU, n2.Requested.MilliCPU)
	}
	b := pod("b", "n1", "2")
	c.AssumePod(b)
	c.ForgetPod(b)
	c.UpdateSnapshot(s)
	if n1, _ = s.Get("n1"); n1.Requested.MilliCPU != 0 {
		t.Fatal("forgotten pod still counted")
	}
}

func TestSnapshotFollowsNodesAndAffinity(t *testing.T) {
	c := New()
	s := NewEmptySnapshot()
	c.AddPod(pod("early", "n1", "")) // before its node
	c.UpdateSnapshot(s)
	if s.NumNodes() != 0 {
		t.Fatal("a node without a Node object is listed")
	}
	c.AddNode(node("n1"))
	c.UpdateSnapshot(s)
	n1, err := s.Get("n1")
	if err != nil || len(n1.Pods) != 1 || n1.ImageStates["img:1"] == nil || n1.ImageStates["img:1"].NumNodes != 1 {
		t.Fatalf("n1: %+v %v", n1, err)
	}
	aff := pod("aff", "n1", "")
	aff.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: "kubernetes.io/hostname"}},
	}}
	c.AddPod(aff)
	c.UpdateSnapshot(s)
	if len(s.HavePodsWithAffinityList()) != 1 || len(s.HavePodsWithRequiredAntiAffinityList()) != 1 {
		t.Fatal("affinity lists not updated")
	}
	c.RemovePod(aff)
	c.RemoveNode(node("n1"))
	c.UpdateSnapshot(s)
	if s.NumNodes() != 0 || len(s.HavePodsWithAffinityList()) != 0 {
		t.Fatal("removed node still listed")
	}
	if _, err := s.Get("n1"); err == nil {
		t.Fatal("removed node still found")
	}
}
