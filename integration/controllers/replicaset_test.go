package controllers_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// rsManifest returns a ReplicaSet of n pods labelled app=name.
func rsManifest(name string, n int32) *appsv1.ReplicaSet {
	labels := map[string]string{"app": name}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: busybox}}},
			},
		},
	}
}

// rsCreate creates rs.
func (e *env) rsCreate(rs *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	e.t.Helper()
	out, err := e.kube.AppsV1().ReplicaSets(rs.Namespace).Create(e.ctx, rs, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create replica set %s: %v", rs.Name, err)
	}
	return out
}

// rsActivePods returns the pods labelled app=app that are not being
// deleted.
func (e *env) rsActivePods(app string) []corev1.Pod {
	e.t.Helper()
	list, err := e.kube.CoreV1().Pods("default").List(e.ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// rsAwaitStatus waits until the status of ReplicaSet name, for its
// current generation, has replicas, readyReplicas and availableReplicas
// all equal to n.
func (e *env) rsAwaitStatus(name string, n int32) *appsv1.ReplicaSet {
	e.t.Helper()
	var rs *appsv1.ReplicaSet
	e.eventually(60*time.Second, fmt.Sprintf("replica set %s at %d ready and available replicas", name, n), func() (bool, error) {
		var err error
		rs, err = e.kube.AppsV1().ReplicaSets("default").Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := rs.Status
		return st.ObservedGeneration == rs.Generation && st.Replicas == n && st.ReadyReplicas == n &&
				st.AvailableReplicas == n && st.FullyLabeledReplicas == n,
			fmt.Errorf("status %+v, generation %d", st, rs.Generation)
	})
	return rs
}

// rsEventCount counts the events of reason about the object named name.
func (e *env) rsEventCount(name, reason string) int {
	e.t.Helper()
	evs, err := e.kube.CoreV1().Events("default").List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, ev := range evs.Items {
		if ev.InvolvedObject.Name == name && ev.Reason == reason {
			n += max(int(ev.Count), 1)
		}
	}
	return n
}

func rsControlledBy(p *corev1.Pod, uid types.UID) bool {
	ref := metav1.GetControllerOf(p)
	return ref != nil && ref.UID == uid && ref.Kind == "ReplicaSet"
}

// TestReplicaSetScale: a ReplicaSet gets its pods on simulated nodes,
// reports them ready and available, and follows scaling both ways,
// recording SuccessfulCreate and SuccessfulDelete.
func TestReplicaSetScale(t *testing.T) {
	e := newEnv(t)
	e.startScheduler()
	e.startSimulatedNodes("rs", 2)
	e.startControllers("--controllers=replicaset")

	rs := e.rsCreate(rsManifest("scale", 3))
	e.rsAwaitStatus("scale", 3)
	pods := e.rsActivePods("scale")
	if len(pods) != 3 {
		t.Fatalf("%d pods, want 3", len(pods))
	}
	for _, p := range pods {
		if !rsControlledBy(&p, rs.UID) || !strings.HasPrefix(p.Name, "scale-") {
			t.Errorf("pod %s: owner references %+v", p.Name, p.OwnerReferences)
		}
	}

	e.kubectl("scale", "rs/scale", "--replicas=5")
	e.rsAwaitStatus("scale", 5)
	e.kubectl("scale", "rs/scale", "--replicas=1")
	e.rsAwaitStatus("scale", 1)
	if n := len(e.rsActivePods("scale")); n != 1 {
		t.Errorf("%d active pods after scaling to 1", n)
	}
	e.eventually(10*time.Second, "events", func() (bool, error) {
		c, d := e.rsEventCount("scale", "SuccessfulCreate"), e.rsEventCount("scale", "SuccessfulDelete")
		return c == 5 && d == 4, fmt.Errorf("%d SuccessfulCreate, %d SuccessfulDelete", c, d)
	})

	// A pod deleted behind its back is replaced.
	victim := e.rsActivePods("scale")[0]
	if err := e.kube.CoreV1().Pods("default").Delete(e.ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually(30*time.Second, "a replacement pod", func() (bool, error) {
		pods := e.rsActivePods("scale")
		return len(pods) == 1 && pods[0].Name != victim.Name, nil
	})
	e.rsAwaitStatus("scale", 1)
}

// TestReplicaSetAdoptAndRelease: a ReplicaSet adopts a matching orphan
// instead of creating a pod, and lets go of a pod whose labels stop
// matching, replacing it.
func TestReplicaSetAdoptAndRelease(t *testing.T) {
	e := newEnv(t)
	e.startControllers("--controllers=replicaset")

	orphan, err := e.kube.CoreV1().Pods("default").Create(e.ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: map[string]string{"app": "adopt"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: busybox}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs := e.rsCreate(rsManifest("adopt", 2))
	e.eventually(30*time.Second, "the orphan adopted and one pod created", func() (bool, error) {
		pods := e.rsActivePods("adopt")
		owned := 0
		adopted := false
		for _, p := range pods {
			if rsControlledBy(&p, rs.UID) {
				owned++
				adopted = adopted || p.Name == orphan.Name
			}
		}
		return len(pods) == 2 && owned == 2 && adopted, fmt.Errorf("%d pods, %d owned, orphan adopted: %v", len(pods), owned, adopted)
	})
	if n := e.rsEventCount("adopt", "SuccessfulCreate"); n != 1 {
		t.Errorf("%d pods created, want 1 (the orphan was adopted)", n)
	}

	// The orphan's labels change: released, and replaced.
	if _, err := e.kube.CoreV1().Pods("default").Patch(e.ctx, orphan.Name, types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"app":"elsewhere"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually(30*time.Second, "the relabelled pod released and replaced", func() (bool, error) {
		p, err := e.kube.CoreV1().Pods("default").Get(e.ctx, orphan.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if ref := metav1.GetControllerOf(p); ref != nil {
			return false, fmt.Errorf("still controlled by %s", ref.Name)
		}
		pods := e.rsActivePods("adopt")
		return len(pods) == 2, fmt.Errorf("%d pods labelled app=adopt", len(pods))
	})
	got, err := e.kube.AppsV1().ReplicaSets("default").Get(e.ctx, "adopt", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Replicas != 2 {
		e.eventually(10*time.Second, "status.replicas 2", func() (bool, error) {
			got, err = e.kube.AppsV1().ReplicaSets("default").Get(e.ctx, "adopt", metav1.GetOptions{})
			return err == nil && got.Status.Replicas == 2, err
		})
	}
}

// TestReplicaSetMinReadySeconds: pods count as available only once ready
// for minReadySeconds, which the controller notices by itself (no pod
// changes then).
func TestReplicaSetMinReadySeconds(t *testing.T) {
	e := newEnv(t)
	e.startScheduler()
	e.startSimulatedNodes("rsmin", 1)
	e.startControllers("--controllers=replicaset")

	w, err := e.kube.AppsV1().ReplicaSets("default").Watch(e.ctx, metav1.ListOptions{FieldSelector: "metadata.name=slow"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	rs := rsManifest("slow", 2)
	rs.Spec.MinReadySeconds = 3
	e.rsCreate(rs)
	sawReadyNotAvailable := false
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch ended")
			}
			got, ok := ev.Object.(*appsv1.ReplicaSet)
			if !ok {
				continue
			}
			st := got.Status
			if st.ReadyReplicas == 2 && st.AvailableReplicas < 2 {
				sawReadyNotAvailable = true
			}
			if st.AvailableReplicas == 2 {
				if !sawReadyNotAvailable {
					t.Fatalf("available without having been ready and unavailable first: %+v", st)
				}
				return
			}
		case <-timeout:
			t.Fatalf("timed out; ready but not available seen: %v", sawReadyNotAvailable)
		}
	}
}
