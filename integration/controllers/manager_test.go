package controllers_test

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestHealthAndMetrics: the process serves /healthz, /readyz once its
// caches synced, and the work-queue metrics under Kubernetes' names.
func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t)
	d := e.startControllers()
	e.waitHTTP(d, "/healthz", 10*time.Second)
	m := e.metrics(d)
	for _, want := range []string{"workqueue_depth", "workqueue_adds_total", "gantry_controller_syncs_total"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}

// TestLeaderFailover: two gantry-controllers processes share a Lease;
// only the holder acts, and when it dies the other takes over without
// duplicating pods.
func TestLeaderFailover(t *testing.T) {
	e := newEnv(t)
	le := []string{"--leader-elect=true", "--controllers=replicaset",
		"--leader-elect-lease-duration=3s", "--leader-elect-renew-deadline=2s", "--leader-elect-retry-period=500ms"}
	a := e.start("controllers", "gantry-controllers", append([]string{"--leader-elect-identity=a"}, le...))
	b := e.start("controllers", "gantry-controllers", append([]string{"--leader-elect-identity=b"}, le...))
	procs := map[string]*daemon{"a": a, "b": b}

	holder := func() string {
		l, err := e.kube.CoordinationV1().Leases("kube-system").Get(e.ctx, "kube-controller-manager", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	e.eventually(30*time.Second, "a leader", func() (bool, error) { return holder() != "", nil })
	leader := holder()
	e.waitHTTP(procs[leader], "/readyz", 30*time.Second)

	rs := failoverReplicaSet("failover", 5)
	if _, err := e.kube.AppsV1().ReplicaSets("default").Create(e.ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	countPods := func() int {
		pods, err := e.kube.CoreV1().Pods("default").List(e.ctx, metav1.ListOptions{LabelSelector: "app=failover"})
		if err != nil {
			t.Fatal(err)
		}
		return len(pods.Items)
	}
	e.eventually(30*time.Second, "5 pods", func() (bool, error) { return countPods() == 5, nil })

	if err := procs[leader].proc.Kill(); err != nil {
		t.Fatal(err)
	}
	other := map[string]string{"a": "b", "b": "a"}[leader]
	e.eventually(30*time.Second, other+" to take the Lease over", func() (bool, error) { return holder() == other, nil })
	e.waitHTTP(procs[other], "/readyz", 30*time.Second)

	if _, err := e.kube.AppsV1().ReplicaSets("default").Patch(e.ctx, "failover", types.MergePatchType,
		[]byte(`{"spec":{"replicas":8}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually(30*time.Second, "8 pods", func() (bool, error) { return countPods() == 8, nil })
	// And it stays there: the new leader neither lost count nor doubled.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if n := countPods(); n != 8 {
			t.Fatalf("%d pods after the failover, want 8", n)
		}
	}
}

// failoverReplicaSet returns a ReplicaSet of n pods labelled app=name.
func failoverReplicaSet(name string, n int32) *appsv1.ReplicaSet {
	labels := map[string]string{"app": name}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: busybox}}},
			},
		},
	}
}
