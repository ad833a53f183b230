package controllers_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNodeFailureReplacesPods is the whole chain with every default
// controller: a node whose agent dies stops renewing its Lease, turns
// Unknown and gets the unreachable taint; its pods are evicted when
// their toleration runs out, and their ReplicaSet replaces them on the
// node that is still alive (the scheduler no longer places pods on the
// tainted one).
func TestNodeFailureReplacesPods(t *testing.T) {
	e := newEnv(t)
	e.startControllers("--node-monitor-grace-period=15s", "--node-monitor-period=1s")
	e.startScheduler()
	doomed := e.startSimulatedNodes("doomed", 1)
	e.startSimulatedNodes("survivor", 1)

	rs := failoverReplicaSet("spread", 4)
	two := int64(2)
	rs.Spec.Template.Spec.Tolerations = []corev1.Toleration{{
		Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &two,
	}}
	// One pod per node at most at first, so both nodes get some.
	rs.Spec.Template.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
		MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.ScheduleAnyway,
		LabelSelector: rs.Spec.Selector,
	}}
	if _, err := e.kube.AppsV1().ReplicaSets("default").Create(e.ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	running := func() map[string]int {
		pods, err := e.kube.CoreV1().Pods("default").List(e.ctx, metav1.ListOptions{LabelSelector: "app=spread"})
		if err != nil {
			t.Fatal(err)
		}
		on := map[string]int{}
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				on[p.Spec.NodeName]++
			}
		}
		return on
	}
	e.eventually(time.Minute, "4 running pods on both nodes", func() (bool, error) {
		on := running()
		return on["doomed-0"] > 0 && on["survivor-0"] > 0 && on["doomed-0"]+on["survivor-0"] == 4, nil
	})

	if err := doomed.proc.Kill(); err != nil {
		t.Fatal(err)
	}
	e.eventually(time.Minute, "doomed-0 tainted unreachable", func() (bool, error) {
		n, err := e.kube.CoreV1().Nodes().Get(e.ctx, "doomed-0", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, taint := range n.Spec.Taints {
			if taint.Key == corev1.TaintNodeUnreachable && taint.Effect == corev1.TaintEffectNoExecute {
				return true, nil
			}
		}
		return false, nil
	})
	e.eventually(time.Minute, "4 running pods, all on survivor-0", func() (bool, error) {
		on := running()
		return on["survivor-0"] == 4, nil
	})
	// The evicted pods are Terminating (their node cannot confirm), not
	// counted: the ReplicaSet holds 4 live replicas.
	out := e.kubectl("get", "rs", "spread", "-o", "jsonpath={.status.replicas}")
	if strings.TrimSpace(out) != "4" {
		t.Errorf("ReplicaSet status.replicas %q, want 4", out)
	}
}
