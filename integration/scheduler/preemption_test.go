package scheduler_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// A high-priority pod that does not fit preempts the lowest-priority pod
// whose removal makes room: the victim is deleted gracefully, the
// preemptor is nominated to the node and bound once the victim is gone.
func TestPreemption(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startScheduler("")
	e.addNode(nodeSpec{name: "only", cpu: "2"})
	never := corev1.PreemptNever
	for _, pc := range []schedulingv1.PriorityClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "lowest"}, Value: 1},
		{ObjectMeta: metav1.ObjectMeta{Name: "low"}, Value: 10},
		{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000},
		{ObjectMeta: metav1.ObjectMeta{Name: "polite"}, Value: 2000, PreemptionPolicy: &never},
	} {
		if _, err := e.kube.SchedulingV1().PriorityClasses().Create(e.ctx, &pc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	low := pod("low", "1")
	low.Spec.PriorityClassName = "low"
	lowest := pod("lowest", "1")
	lowest.Spec.PriorityClassName = "lowest"
	e.create(low)
	e.create(lowest)
	e.waitScheduled("low")
	e.waitScheduled("lowest")

	high := pod("high", "1")
	high.Spec.PriorityClassName = "high"
	e.create(high)
	// Without an agent a deleted pod bound to a node stays Terminating:
	// the test plays the agent and removes the victim for good.
	victim := e.waitPod("lowest", 30*time.Second, "preempted", func(p *corev1.Pod) bool { return p.DeletionTimestamp != nil })
	e.waitPod("high", 30*time.Second, "nominated", func(p *corev1.Pod) bool { return p.Status.NominatedNodeName == "only" })
	if p, err := e.kube.CoreV1().Pods(ns).Get(e.ctx, "low", metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Fatalf("low (priority 10) was preempted too, or is gone: %v", err)
	}
	if err := e.kube.CoreV1().Pods(ns).Delete(e.ctx, victim.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	if node := e.waitScheduled("high"); node != "only" {
		t.Fatalf("high scheduled on %s", node)
	}

	// preemptionPolicy Never: the pod waits instead.
	e.create(func() *corev1.Pod { p := pod("never", "1"); p.Spec.PriorityClassName = "polite"; return p }())
	e.waitUnschedulable("never", "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.")
	if p, err := e.kube.CoreV1().Pods(ns).Get(e.ctx, "low", metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Fatalf("a pod with preemptionPolicy Never preempted low: %v", err)
	}
}
