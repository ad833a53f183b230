package controllers_test

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pgcPod creates a pod bound to node with the given phase (the test
// plays the node's agent).
func (e *env) pgcPod(name, node string, phase corev1.PodPhase) {
	e.t.Helper()
	pod, err := e.kube.CoreV1().Pods("default").Create(e.ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "main", Image: busybox}}},
	}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	if phase == corev1.PodPending {
		return
	}
	pod.Status.Phase = phase
	if _, err := e.kube.CoreV1().Pods("default").UpdateStatus(e.ctx, pod, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// pgcExists reports whether pod name is still there.
func (e *env) pgcExists(name string) bool {
	e.t.Helper()
	_, err := e.kube.CoreV1().Pods("default").Get(e.ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return true
}

// TestPodGC: the pods of a deleted node are force-deleted, even one
// stuck terminating there; finished pods beyond the threshold go, the
// oldest first.
func TestPodGC(t *testing.T) {
	e := newEnv(t)
	e.addNode("pgc-gone", nil)
	e.addNode("pgc-stays", nil)
	e.pgcPod("orphan", "pgc-gone", corev1.PodRunning)
	e.pgcPod("stuck", "pgc-gone", corev1.PodRunning)
	// A graceful delete on a node without an agent never completes.
	if err := e.kube.CoreV1().Pods("default").Delete(e.ctx, "stuck", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.pgcPod("running", "pgc-stays", corev1.PodRunning)
	for i := range 4 {
		e.pgcPod(fmt.Sprintf("done-%d", i), "pgc-stays", corev1.PodSucceeded)
	}
	e.startControllers("--controllers=podgc", "--terminated-pod-gc-threshold=2")

	e.eventually(30*time.Second, "the two oldest finished pods collected", func() (bool, error) {
		return !e.pgcExists("done-0") && !e.pgcExists("done-1"), nil
	})
	if !e.pgcExists("done-2") || !e.pgcExists("done-3") || !e.pgcExists("running") || !e.pgcExists("orphan") {
		t.Error("a pod that should stay was collected")
	}

	if err := e.kube.CoreV1().Nodes().Delete(e.ctx, "pgc-gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually(30*time.Second, "the pods of the deleted node collected", func() (bool, error) {
		return !e.pgcExists("orphan") && !e.pgcExists("stuck"), nil
	})
	if !e.pgcExists("running") {
		t.Error("the pod of the remaining node was collected")
	}
}
