package scheduler_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Two schedulers elect one leader through a Lease; when the leader dies
// the standby takes over within the lease duration and schedules.
func TestLeaderFailover(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lease := []string{"--leader-elect=true", "--leader-elect-lease-duration=3s",
		"--leader-elect-renew-deadline=2s", "--leader-elect-retry-period=500ms"}
	first := e.startScheduler("", append(lease, "--leader-elect-identity=first")...)
	e.addNode(nodeSpec{name: "n1"})
	e.create(pod("before", ""))
	e.waitScheduled("before")
	second := e.startScheduler("", append(lease, "--leader-elect-identity=second")...)

	l, err := e.kube.CoordinationV1().Leases("kube-system").Get(e.ctx, "kube-scheduler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "first" {
		t.Fatalf("lease holder %v, want first", l.Spec.HolderIdentity)
	}
	if err := first.proc.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	e.create(pod("after", ""))
	e.waitPod("after", 30*time.Second, "scheduled by the standby", func(p *corev1.Pod) bool { return p.Spec.NodeName != "" })
	took := time.Since(killed)
	l, err = e.kube.CoordinationV1().Leases("kube-system").Get(e.ctx, "kube-scheduler", metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "second" {
		t.Fatalf("lease after failover: %+v %v", l, err)
	}
	t.Logf("the standby scheduled a pod %v after the leader was killed (lease duration 3s)", took.Round(100*time.Millisecond))
	_ = second
}
