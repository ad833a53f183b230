package framework

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func testNode(name string, ready corev1.ConditionStatus) *corev1.Node {
	alloc := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourcePods: resource.MustParse("10"),
		"example.com/gpu": resource.MustParse("2"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Allocatable: alloc, Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: ready},
		}},
	}
}

func testPod(uid, cpu, gpu string) *corev1.Pod {
	req := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	if gpu != "" {
		req["example.com/gpu"] = resource.MustParse(gpu)
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: uid, UID: types.UID("uid-" + uid)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Resources: corev1.ResourceRequirements{Requests: req},
		}}},
	}
}

// TestNodeInfoKeepsItsNodeAndSums checks what a NodeInfo keeps of its
// node (name, readiness, allocatable) and of its pods (the sums of their
// requests) through SetNode, AddPod, RemovePod, Clone and ClearNode.
func TestNodeInfoKeepsItsNodeAndSums(t *testing.T) {
	n := NewNodeInfo(testPod("a", "1", "1"))
	if n.Name() != "" || n.Ready() {
		t.Fatalf("no node yet: name %q ready %v", n.Name(), n.Ready())
	}
	n.SetNode(testNode("n1", corev1.ConditionTrue))
	if n.Name() != "n1" || !n.Ready() || n.Allocatable.MilliCPU != 4000 || n.Allocatable.AllowedPodNumber != 10 || n.Allocatable.Scalar["example.com/gpu"] != 2 {
		t.Fatalf("after SetNode: name %q ready %v allocatable %+v", n.Name(), n.Ready(), n.Allocatable)
	}
	n.AddPod(NewPodInfo(testPod("b", "500m", "")))
	if n.Requested.MilliCPU != 1500 || n.Requested.Scalar["example.com/gpu"] != 1 {
		t.Fatalf("requested %+v, want 1500m cpu and 1 gpu", n.Requested)
	}

	// A clone's sums and allocatable are its own, extended resources too.
	c := n.Clone()
	c.AddPod(NewPodInfo(testPod("c", "1", "1")))
	c.Allocatable.Scalar["example.com/gpu"] = 5
	if n.Requested.MilliCPU != 1500 || n.Requested.Scalar["example.com/gpu"] != 1 || n.Allocatable.Scalar["example.com/gpu"] != 2 {
		t.Fatalf("changing the clone changed the original: requested %+v allocatable %+v", n.Requested, n.Allocatable)
	}
	if c.Name() != "n1" || !c.Ready() || c.Requested.MilliCPU != 2500 {
		t.Fatalf("clone: name %q ready %v requested %+v", c.Name(), c.Ready(), c.Requested)
	}

	if !n.RemovePod("uid-a") || n.Requested.MilliCPU != 500 || n.Requested.Scalar["example.com/gpu"] != 0 {
		t.Fatalf("after removing a: requested %+v", n.Requested)
	}

	// A node replaced by another: its name and readiness follow.
	n.SetNode(testNode("n2", corev1.ConditionFalse))
	if n.Name() != "n2" || n.Ready() {
		t.Fatalf("after a second SetNode: name %q ready %v", n.Name(), n.Ready())
	}
	n.ClearNode()
	if n.Node != nil || n.Name() != "" || n.Ready() {
		t.Fatalf("after ClearNode: node %v name %q ready %v", n.Node, n.Name(), n.Ready())
	}

	// A NodeInfo built as a literal, without SetNode, still names its node.
	lit := &NodeInfo{Node: testNode("n3", corev1.ConditionTrue)}
	if lit.Name() != "n3" {
		t.Fatalf("literal NodeInfo: name %q", lit.Name())
	}
}
