package controllers_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The garbage collector's tests use owners and dependents no other
// controller manages: ConfigMaps owned by ConfigMaps, and pods owned by a
// ReplicaSet while the replicaset controller is not running.

const gcHold = "example.com/hold"

// gcConfigMap creates ConfigMap name in ns, owned by owners.
func (e *env) gcConfigMap(ns, name string, finalizers []string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	e.t.Helper()
	cm, err := e.kube.CoreV1().ConfigMaps(ns).Create(e.ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owners, Finalizers: finalizers},
	}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create configmap %s: %v", name, err)
	}
	return cm
}

// gcRef is a reference to owner (a ConfigMap unless kind says otherwise).
func gcRef(owner metav1.Object, apiVersion, kind string, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: owner.GetName(), UID: owner.GetUID(), BlockOwnerDeletion: &block}
}

func cmRef(owner *corev1.ConfigMap, block bool) metav1.OwnerReference {
	return gcRef(owner, "v1", "ConfigMap", block)
}

// gcGone waits until configmap name of ns is gone.
func (e *env) gcGone(ns, name string) {
	e.t.Helper()
	e.eventually(30*time.Second, "configmap "+name+" gone", func() (bool, error) {
		_, err := e.kube.CoreV1().ConfigMaps(ns).Get(e.ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

func (e *env) gcGet(ns, name string) *corev1.ConfigMap {
	e.t.Helper()
	cm, err := e.kube.CoreV1().ConfigMaps(ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("get configmap %s: %v", name, err)
	}
	return cm
}

// gcRelease removes the test's finalizer from configmap name.
func (e *env) gcRelease(ns, name string) {
	e.t.Helper()
	if _, err := e.kube.CoreV1().ConfigMaps(ns).Patch(e.ctx, name, types.JSONPatchType,
		[]byte(`[{"op":"remove","path":"/metadata/finalizers"}]`), metav1.PatchOptions{}); err != nil {
		e.t.Fatalf("release configmap %s: %v", name, err)
	}
}

func gcPolicy(p metav1.DeletionPropagation) metav1.DeleteOptions {
	return metav1.DeleteOptions{PropagationPolicy: &p}
}

// TestGarbageCollectorConfigMaps: cascading deletion in its three modes
// through client-go, and owners that vanish or were never there.
func TestGarbageCollectorConfigMaps(t *testing.T) {
	e := newEnv(t)
	d := e.startControllers("--controllers=garbagecollector")
	const ns = "default"
	cms := e.kube.CoreV1().ConfigMaps(ns)

	t.Run("background", func(t *testing.T) {
		owner := e.gcConfigMap(ns, "bg-owner", nil)
		e.gcConfigMap(ns, "bg-a", nil, cmRef(owner, true))
		e.gcConfigMap(ns, "bg-b", nil, cmRef(owner, false))
		if err := cms.Delete(e.ctx, "bg-owner", gcPolicy(metav1.DeletePropagationBackground)); err != nil {
			t.Fatal(err)
		}
		if _, err := cms.Get(e.ctx, "bg-owner", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("owner after a background delete: %v, want gone at once", err)
		}
		e.gcGone(ns, "bg-a")
		e.gcGone(ns, "bg-b")
	})

	t.Run("foreground keeps the owner until its blocking dependents are gone", func(t *testing.T) {
		owner := e.gcConfigMap(ns, "fg-owner", nil)
		e.gcConfigMap(ns, "fg-held", []string{gcHold}, cmRef(owner, true))
		e.gcConfigMap(ns, "fg-free", nil, cmRef(owner, true))
		if err := cms.Delete(e.ctx, "fg-owner", gcPolicy(metav1.DeletePropagationForeground)); err != nil {
			t.Fatal(err)
		}
		e.gcGone(ns, "fg-free")
		e.eventually(30*time.Second, "the held dependent deleted", func() (bool, error) {
			return e.gcGet(ns, "fg-held").DeletionTimestamp != nil, nil
		})
		got := e.gcGet(ns, "fg-owner")
		if got.DeletionTimestamp == nil || !slices.Contains(got.Finalizers, metav1.FinalizerDeleteDependents) {
			t.Fatalf("owner while a blocking dependent remains: deletionTimestamp %v, finalizers %v", got.DeletionTimestamp, got.Finalizers)
		}
		e.gcRelease(ns, "fg-held")
		e.gcGone(ns, "fg-held")
		e.gcGone(ns, "fg-owner")
	})

	t.Run("orphan leaves the dependents without ownerReferences", func(t *testing.T) {
		owner := e.gcConfigMap(ns, "or-owner", nil)
		other := e.gcConfigMap(ns, "or-other", nil)
		e.gcConfigMap(ns, "or-a", nil, cmRef(owner, true))
		e.gcConfigMap(ns, "or-b", nil, cmRef(owner, false), cmRef(other, false))
		if err := cms.Delete(e.ctx, "or-owner", gcPolicy(metav1.DeletePropagationOrphan)); err != nil {
			t.Fatal(err)
		}
		e.gcGone(ns, "or-owner")
		if refs := e.gcGet(ns, "or-a").OwnerReferences; len(refs) != 0 {
			t.Errorf("or-a still has owners %v", refs)
		}
		if refs := e.gcGet(ns, "or-b").OwnerReferences; len(refs) != 1 || refs[0].UID != other.UID {
			t.Errorf("or-b has owners %v, want only or-other", refs)
		}
	})

	t.Run("orphanDependents=true orphans", func(t *testing.T) {
		owner := e.gcConfigMap(ns, "od-owner", nil)
		e.gcConfigMap(ns, "od-a", nil, cmRef(owner, true))
		orphan := true
		if err := cms.Delete(e.ctx, "od-owner", metav1.DeleteOptions{OrphanDependents: &orphan}); err != nil {
			t.Fatal(err)
		}
		e.gcGone(ns, "od-owner")
		if refs := e.gcGet(ns, "od-a").OwnerReferences; len(refs) != 0 {
			t.Errorf("od-a still has owners %v", refs)
		}
	})

	t.Run("one owner of two gone: the dangling reference goes, the dependent stays", func(t *testing.T) {
		a := e.gcConfigMap(ns, "mo-a", nil)
		b := e.gcConfigMap(ns, "mo-b", nil)
		e.gcConfigMap(ns, "mo-dep", nil, cmRef(a, false), cmRef(b, false))
		if err := cms.Delete(e.ctx, "mo-a", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually(30*time.Second, "the reference to mo-a removed", func() (bool, error) {
			refs := e.gcGet(ns, "mo-dep").OwnerReferences
			return len(refs) == 1 && refs[0].UID == b.UID, fmt.Errorf("owners %v", refs)
		})
	})

	t.Run("an owner that never existed (or has another UID) is absent", func(t *testing.T) {
		impostor := e.gcConfigMap(ns, "ab-owner", nil)
		stale := cmRef(impostor, false)
		stale.UID = "00000000-0000-0000-0000-000000000001"
		e.gcConfigMap(ns, "ab-dep", nil, stale)
		e.gcGone(ns, "ab-dep")
		e.gcGet(ns, "ab-owner") // the object that has the name is not touched
	})

	m := e.metrics(d)
	for _, want := range []string{"gantry_garbagecollector_graph_nodes", "gantry_garbagecollector_delete_attempts_total",
		`workqueue_adds_total{name="garbage_collector_attempt_to_delete"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}

// gcReplicaSet creates a ReplicaSet and n pods it owns, as its controller
// would have made them (no scheduler runs: they stay unbound).
func (e *env) gcReplicaSet(ns, name string, n int) *appsv1.ReplicaSet {
	e.t.Helper()
	labels := map[string]string{"app": name}
	replicas := int32(n)
	rs, err := e.kube.AppsV1().ReplicaSets(ns).Create(e.ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: busybox}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create replicaset %s: %v", name, err)
	}
	ref := *metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))
	for i := range n {
		if _, err := e.kube.CoreV1().Pods(ns).Create(e.ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, i), Labels: labels, OwnerReferences: []metav1.OwnerReference{ref}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: busybox}}},
		}, metav1.CreateOptions{}); err != nil {
			e.t.Fatalf("create pod: %v", err)
		}
	}
	return rs
}

func (e *env) gcPods(ns, app string) []corev1.Pod {
	e.t.Helper()
	pods, err := e.kube.CoreV1().Pods(ns).List(e.ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		e.t.Fatal(err)
	}
	return pods.Items
}

// TestGarbageCollectorKubectlCascade: kubectl delete --cascade=background,
// foreground and orphan of a ReplicaSet whose pods no controller manages.
func TestGarbageCollectorKubectlCascade(t *testing.T) {
	e := newEnv(t)
	e.startControllers("--controllers=garbagecollector,namespace")
	const ns = "default"

	t.Run("background", func(t *testing.T) {
		e.gcReplicaSet(ns, "kbg", 3)
		if out := e.kubectl("delete", "replicaset", "kbg", "--cascade=background", "-n", ns); !strings.Contains(out, `replicaset.apps "kbg" deleted`) {
			t.Errorf("kubectl printed %q", out)
		}
		e.eventually(30*time.Second, "the pods collected", func() (bool, error) { return len(e.gcPods(ns, "kbg")) == 0, nil })
	})

	t.Run("foreground", func(t *testing.T) {
		e.gcReplicaSet(ns, "kfg", 3)
		// kubectl waits until the ReplicaSet is gone; in the foreground
		// its pods (blocking) went first.
		e.kubectl("delete", "replicaset", "kfg", "--cascade=foreground", "-n", ns)
		if _, err := e.kube.AppsV1().ReplicaSets(ns).Get(e.ctx, "kfg", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("replicaset after kubectl returned: %v", err)
		}
		if pods := e.gcPods(ns, "kfg"); len(pods) != 0 {
			t.Errorf("%d pods left after the foreground deletion of their owner", len(pods))
		}
	})

	t.Run("orphan", func(t *testing.T) {
		e.gcReplicaSet(ns, "kor", 2)
		e.kubectl("delete", "replicaset", "kor", "--cascade=orphan", "-n", ns)
		e.eventually(30*time.Second, "the replicaset gone", func() (bool, error) {
			_, err := e.kube.AppsV1().ReplicaSets(ns).Get(e.ctx, "kor", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		pods := e.gcPods(ns, "kor")
		if len(pods) != 2 {
			t.Fatalf("%d pods after an orphaning delete, want 2", len(pods))
		}
		for _, p := range pods {
			if len(p.OwnerReferences) != 0 || p.DeletionTimestamp != nil {
				t.Errorf("pod %s: owners %v, deletionTimestamp %v", p.Name, p.OwnerReferences, p.DeletionTimestamp)
			}
		}
	})

	t.Run("foreground through a chain: Deployment, ReplicaSet, pods", func(t *testing.T) {
		labels := map[string]string{"app": "kch"}
		replicas := int32(2)
		dep, err := e.kube.AppsV1().Deployments(ns).Create(e.ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "kch"},
			Spec: appsv1.DeploymentSpec{
				Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: busybox}}},
				},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rs := e.gcReplicaSet(ns, "kch", 2)
		if _, err := e.kube.AppsV1().ReplicaSets(ns).Patch(e.ctx, rs.Name, types.MergePatchType, fmt.Appendf(nil,
			`{"metadata":{"ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"kch","uid":%q,"controller":true,"blockOwnerDeletion":true}]}}`,
			dep.UID), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		e.kubectl("delete", "deployment", "kch", "--cascade=foreground", "-n", ns)
		if _, err := e.kube.AppsV1().ReplicaSets(ns).Get(e.ctx, "kch", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("replicaset after its deployment's foreground deletion: %v", err)
		}
		if pods := e.gcPods(ns, "kch"); len(pods) != 0 {
			t.Errorf("%d pods left after the foreground deletion of their deployment", len(pods))
		}
	})
}

// TestGarbageCollectorRunningPods: cascading deletions of pods running on
// a simulated node, which the node agent confirms after stopping them.
func TestGarbageCollectorRunningPods(t *testing.T) {
	e := newEnv(t)
	e.startSimulatedNodes("gcsim", 1)
	e.startControllers("--controllers=garbagecollector,namespace")
	const ns = "default"
	running := func(app string, n int) {
		e.eventually(60*time.Second, fmt.Sprintf("%d %s pods running", n, app), func() (bool, error) {
			ready := 0
			for _, p := range e.gcPods(ns, app) {
				if p.Status.Phase == corev1.PodRunning {
					ready++
				}
			}
			return ready == n, nil
		})
	}
	bind := func(app string) {
		for _, p := range e.gcPods(ns, app) {
			if err := e.kube.CoreV1().Pods(ns).Bind(e.ctx, &corev1.Binding{
				ObjectMeta: metav1.ObjectMeta{Name: p.Name}, Target: corev1.ObjectReference{Kind: "Node", Name: "gcsim-0"},
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("foreground waits for the agent to stop the pods", func(t *testing.T) {
		e.gcReplicaSet(ns, "rfg", 2)
		bind("rfg")
		running("rfg", 2)
		e.kubectl("delete", "replicaset", "rfg", "--cascade=foreground", "-n", ns)
		if pods := e.gcPods(ns, "rfg"); len(pods) != 0 {
			t.Errorf("%d pods left after the foreground deletion of their owner", len(pods))
		}
	})

	t.Run("a running pod deleted with orphan or foreground goes once its node confirms", func(t *testing.T) {
		e.gcReplicaSet(ns, "rpod", 2)
		bind("rpod")
		running("rpod", 2)
		e.kubectl("delete", "pod", "rpod-0", "--cascade=orphan", "-n", ns)
		e.kubectl("delete", "pod", "rpod-1", "--cascade=foreground", "-n", ns)
		if pods := e.gcPods(ns, "rpod"); len(pods) != 0 {
			t.Errorf("pods left: %d", len(pods))
		}
	})
}
