package controllers_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// nsCondition is a namespace's condition of type t (nil when missing).
func nsCondition(ns *corev1.Namespace, t corev1.NamespaceConditionType) *corev1.NamespaceCondition {
	for i := range ns.Status.Conditions {
		if ns.Status.Conditions[i].Type == t {
			return &ns.Status.Conditions[i]
		}
	}
	return nil
}

func (e *env) nsCreate(name string) {
	e.t.Helper()
	if _, err := e.kube.CoreV1().Namespaces().Create(e.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create namespace %s: %v", name, err)
	}
}

// nsGone waits until namespace name no longer exists.
func (e *env) nsGone(name string, timeout time.Duration) {
	e.t.Helper()
	e.eventually(timeout, "namespace "+name+" gone", func() (bool, error) {
		ns, err := e.kube.CoreV1().Namespaces().Get(e.ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		return false, fmt.Errorf("phase %s, spec.finalizers %v, conditions %+v", ns.Status.Phase, ns.Spec.Finalizers, ns.Status.Conditions)
	})
}

// nsConditionIs waits until namespace name has condition t with status
// and a message containing msg.
func (e *env) nsConditionIs(name string, t corev1.NamespaceConditionType, status corev1.ConditionStatus, msg string) {
	e.t.Helper()
	e.eventually(30*time.Second, fmt.Sprintf("namespace %s condition %s=%s", name, t, status), func() (bool, error) {
		ns, err := e.kube.CoreV1().Namespaces().Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c := nsCondition(ns, t)
		if c == nil {
			return false, fmt.Errorf("no condition %s", t)
		}
		return c.Status == status && strings.Contains(c.Message, msg), fmt.Errorf("%s %s %q", c.Status, c.Reason, c.Message)
	})
}

// TestNamespaceDeletion: deleting a namespace deletes its pods (unbound,
// and bound to a node whose "kubelet" the test plays), configmaps,
// secrets, services and owned objects, then the namespace itself.
func TestNamespaceDeletion(t *testing.T) {
	e := newEnv(t)
	e.startControllers("--controllers=namespace,garbagecollector")
	e.addNode("bare-1", nil)
	const name = "doomed"
	e.nsCreate(name)
	e.kubectlIn(`
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: b}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: x}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: unbound, labels: {app: web}}
spec:
  containers: [{name: c, image: gantry.local/busybox:latest}]
---
apiVersion: v1
kind: Pod
metadata: {name: bound, labels: {app: web}}
spec:
  nodeName: bare-1
  containers: [{name: c, image: gantry.local/busybox:latest}]
`, "apply", "-n", name, "-f", "-")

	if out := e.kubectl("delete", "namespace", name, "--wait=false"); out != fmt.Sprintf("namespace %q deleted\n", name) {
		t.Errorf("kubectl printed %q", out)
	}
	// The bound pod waits for its node to confirm; meanwhile the
	// namespace says what remains.
	e.eventually(30*time.Second, "the bound pod terminating", func() (bool, error) {
		p, err := e.kube.CoreV1().Pods(name).Get(e.ctx, "bound", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return p.DeletionTimestamp != nil, nil
	})
	e.nsConditionIs(name, corev1.NamespaceContentRemaining, corev1.ConditionTrue, "Some resources are remaining: pods. has 1 resource instances")
	ns, err := e.kube.CoreV1().Namespaces().Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Status.Phase != corev1.NamespaceTerminating || len(ns.Spec.Finalizers) != 1 {
		t.Errorf("namespace phase %s, finalizers %v; want Terminating, [kubernetes]", ns.Status.Phase, ns.Spec.Finalizers)
	}
	for _, c := range []corev1.NamespaceConditionType{corev1.NamespaceDeletionDiscoveryFailure, corev1.NamespaceDeletionContentFailure} {
		if got := nsCondition(ns, c); got == nil || got.Status != corev1.ConditionFalse {
			t.Errorf("condition %s: %+v, want False", c, got)
		}
	}
	for _, check := range []struct {
		what string
		list func() (int, error)
	}{
		{"configmaps", func() (int, error) {
			l, err := e.kube.CoreV1().ConfigMaps(name).List(e.ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		}},
		{"secrets", func() (int, error) {
			l, err := e.kube.CoreV1().Secrets(name).List(e.ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		}},
		{"services", func() (int, error) {
			l, err := e.kube.CoreV1().Services(name).List(e.ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		}},
	} {
		if n, err := check.list(); err != nil || n != 0 {
			t.Errorf("%s left: %d (%v)", check.what, n, err)
		}
	}
	// The node confirms the pod stopped.
	zero := int64(0)
	if err := e.kube.CoreV1().Pods(name).Delete(e.ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	e.nsGone(name, 30*time.Second)
	if _, err := e.kube.CoreV1().Pods(name).Get(e.ctx, "unbound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("unbound pod after its namespace went: %v", err)
	}
}

// TestNamespaceFinalizersBlock: an object held by a finalizer keeps its
// namespace Terminating, with the condition naming the finalizer, until
// the finalizer is removed.
func TestNamespaceFinalizersBlock(t *testing.T) {
	e := newEnv(t)
	e.startControllers("--controllers=namespace")
	const name = "held"
	e.nsCreate(name)
	if _, err := e.kube.CoreV1().ConfigMaps(name).Create(e.ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "keep", Finalizers: []string{"example.com/hold"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.kube.CoreV1().Namespaces().Delete(e.ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.nsConditionIs(name, corev1.NamespaceFinalizersRemaining, corev1.ConditionTrue,
		"Some finalizers are remaining: example.com/hold in 1 resource instances")
	e.nsConditionIs(name, corev1.NamespaceContentRemaining, corev1.ConditionTrue,
		"Some resources are remaining: configmaps. has 1 resource instances")
	cm, err := e.kube.CoreV1().ConfigMaps(name).Get(e.ctx, "keep", metav1.GetOptions{})
	if err != nil || cm.DeletionTimestamp == nil {
		t.Fatalf("held configmap: %v, %+v", err, cm)
	}
	if _, err := e.kube.CoreV1().ConfigMaps(name).Patch(e.ctx, "keep", types.JSONPatchType,
		[]byte(`[{"op":"remove","path":"/metadata/finalizers"}]`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	e.nsGone(name, 40*time.Second)
}

// TestNamespaceFinalizeSubresource: the API server serves
// namespaces/{name}/finalize (PUT) as Kubernetes does: it changes
// spec.finalizers, which an ordinary update leaves alone, and removing
// the last one deletes a namespace being deleted.
func TestNamespaceFinalizeSubresource(t *testing.T) {
	e := newEnv(t)
	const name = "manual"
	e.nsCreate(name)
	nss := e.kube.CoreV1().Namespaces()
	ns, err := nss.Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns.Spec.Finalizers = nil
	if ns, err = nss.Update(e.ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(ns.Spec.Finalizers) != 1 {
		t.Errorf("an update changed spec.finalizers to %v", ns.Spec.Finalizers)
	}
	if err := nss.Delete(e.ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if ns, err = nss.Get(e.ctx, name, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	ns.Spec.Finalizers = nil
	if _, err := nss.Finalize(e.ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("finalize: %v", err)
	}
	if _, err := nss.Get(e.ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace after its last finalizer went: %v, want NotFound", err)
	}
	if out := e.kubectl("get", "--raw", "/api/v1"); strings.Count(out, `"namespaces/finalize"`) != 1 {
		t.Errorf("discovery lists namespaces/finalize %d times", strings.Count(out, `"namespaces/finalize"`))
	}
}

// TestNamespaceDeletionRunningPods: pods running on a simulated node are
// stopped by its agent, and the namespace goes as soon as they are gone.
func TestNamespaceDeletionRunningPods(t *testing.T) {
	e := newEnv(t)
	e.startSimulatedNodes("nssim", 1)
	e.startControllers("--controllers=namespace")
	const name = "busy"
	e.nsCreate(name)
	for i := range 3 {
		if _, err := e.kube.CoreV1().Pods(name).Create(e.ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i)},
			Spec:       corev1.PodSpec{NodeName: "nssim-0", Containers: []corev1.Container{{Name: "c", Image: busybox}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.eventually(60*time.Second, "3 pods running", func() (bool, error) {
		pods, err := e.kube.CoreV1().Pods(name).List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		n := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				n++
			}
		}
		return n == 3, nil
	})
	// No garbage collector runs: a pod deleted with the orphan finalizer
	// stays once its node confirmed (grace period 0)...
	e.kubectl("delete", "pod", "p0", "--cascade=orphan", "--wait=false", "-n", name)
	e.eventually(30*time.Second, "p0 confirmed by its node, held by the orphan finalizer", func() (bool, error) {
		p, err := e.kube.CoreV1().Pods(name).Get(e.ctx, "p0", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		g := p.DeletionGracePeriodSeconds
		return g != nil && *g == 0 && len(p.Finalizers) == 1 && p.Finalizers[0] == metav1.FinalizerOrphanDependents,
			fmt.Errorf("grace %v, finalizers %v", g, p.Finalizers)
	})
	// ... until the namespace controller deletes it in the background,
	// which drops that finalizer. kubectl waits until the namespace is gone.
	e.kubectl("delete", "namespace", name)
	if _, err := e.kube.CoreV1().Namespaces().Get(e.ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace after kubectl delete returned: %v", err)
	}
}
