package apiserver_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNamespaces(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "namespaces")
	missing := uniqueName("missing")
	cmIn := func(ns string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: %s\n", ns)
	}
	t.Run("missing", func(t *testing.T) {
		want := fmt.Sprintf(`Error from server (NotFound): error when creating "STDIN": namespaces %q not found`+"\n", missing)
		if got := e.kubectlFails(cmIn(missing), "apply", "-f", "-"); got != want {
			t.Errorf("apply into a missing namespace printed %q, want %q", got, want)
		}
		want = fmt.Sprintf(`error: failed to create configmap: namespaces %q not found`+"\n", missing)
		if got := e.kubectlFails("", "create", "configmap", "c", "-n", missing); got != want {
			t.Errorf("create in a missing namespace printed %q, want %q", got, want)
		}
		_, err := e.kube.CoreV1().ConfigMaps(missing).Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("create in a missing namespace: %v, want NotFound", err)
		}
	})
	t.Run("terminating", func(t *testing.T) {
		doomed := uniqueName("doomed")
		e.mustKubectl("", "create", "namespace", doomed)
		e.mustKubectl(cmIn(doomed), "apply", "-f", "-")
		if got, want := e.mustKubectl("", "delete", "namespace", doomed, "--wait=false"), fmt.Sprintf("namespace %q deleted\n", doomed); got != want {
			t.Errorf("delete namespace printed %q, want %q", got, want)
		}
		// The namespace controller empties and removes it later; until then
		// it is Terminating.
		rows := fields(e.mustKubectl("", "get", "namespace", doomed))
		if len(rows) != 2 || len(rows[1]) != 3 || rows[1][1] != "Terminating" {
			t.Errorf("get namespace after delete = %v, want STATUS Terminating", rows)
		}
		ns, err := e.kube.CoreV1().Namespaces().Get(e.ctx, doomed, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ns.DeletionTimestamp == nil || ns.Status.Phase != corev1.NamespaceTerminating {
			t.Errorf("namespace after delete: deletionTimestamp %v, phase %q, want set and Terminating", ns.DeletionTimestamp, ns.Status.Phase)
		}
		if got, want := fmt.Sprint(ns.Spec.Finalizers), "[kubernetes]"; got != want {
			t.Errorf("namespace finalizers = %s, want %s", got, want)
		}
		want := fmt.Sprintf(`error: failed to create configmap: configmaps "d" is forbidden: unable to create new content in namespace %s because it is being terminated`+"\n", doomed)
		if got := e.kubectlFails("", "create", "configmap", "d", "-n", doomed); got != want {
			t.Errorf("create in a terminating namespace printed %q, want %q", got, want)
		}
		_, err = e.kube.CoreV1().ConfigMaps(doomed).Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "d"}}, metav1.CreateOptions{})
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			t.Errorf("create in a terminating namespace: %v, want a %s cause", err, corev1.NamespaceTerminatingCause)
		}
		// What was there stays readable, and may still change.
		if got, want := e.mustKubectl("", "get", "configmap", "c", "-n", doomed, "-o", "name"), "configmap/c\n"; got != want {
			t.Errorf("get in a terminating namespace = %q, want %q", got, want)
		}
		if err := e.kube.CoreV1().Namespaces().Delete(e.ctx, doomed, metav1.DeleteOptions{}); err != nil {
			t.Errorf("deleting a terminating namespace again: %v", err)
		}
	})
	t.Run("kube-dns", func(t *testing.T) {
		svc, err := e.kube.CoreV1().Services("kube-system").Get(e.ctx, "kube-dns", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if svc.Spec.ClusterIP != "10.96.0.10" || len(svc.Spec.Ports) != 3 || svc.Spec.Selector["k8s-app"] != "kube-dns" {
			t.Errorf("kube-dns: clusterIP %s, ports %v, selector %v; want 10.96.0.10, dns/dns-tcp/metrics, k8s-app=kube-dns",
				svc.Spec.ClusterIP, svc.Spec.Ports, svc.Spec.Selector)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		for _, name := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
			ns, err := e.kube.CoreV1().Namespaces().Get(e.ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Errorf("namespace %s: %v", name, err)
				continue
			}
			if ns.Status.Phase != corev1.NamespaceActive || ns.Labels[corev1.LabelMetadataName] != name {
				t.Errorf("namespace %s: phase %q, labels %v, want Active and %s=%s", name, ns.Status.Phase, ns.Labels, corev1.LabelMetadataName, name)
			}
		}
	})
}

// TestPodBinding posts Bindings as a scheduler does.
func TestPodBinding(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "binding")
	e.mustKubectl(pod("p", ""), "apply", "-f", "-")
	pods := e.kube.CoreV1().Pods(e.ns)
	bind := func(node string) error {
		return pods.Bind(e.ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: "p"},
			Target:     corev1.ObjectReference{Kind: "Node", Name: node},
		}, metav1.CreateOptions{})
	}
	before, err := pods.Get(e.ctx, "p", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := bind("n1"); err != nil {
		t.Fatalf("bind: %v", err)
	}
	p, err := pods.Get(e.ctx, "p", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "n1" {
		t.Errorf("spec.nodeName after binding = %q, want n1", p.Spec.NodeName)
	}
	// As in Kubernetes, a binding leaves the pod's managedFields alone.
	if !equality.Semantic.DeepEqual(p.ManagedFields, before.ManagedFields) {
		t.Errorf("managedFields after binding = %v, want them unchanged: %v", p.ManagedFields, before.ManagedFields)
	}
	var scheduled corev1.ConditionStatus
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			scheduled = c.Status
		}
	}
	if scheduled != corev1.ConditionTrue {
		t.Errorf("PodScheduled = %q, want True; conditions %v", scheduled, p.Status.Conditions)
	}
	rows := fields(e.mustKubectl("", "get", "pod", "p", "-o", "wide"))
	if len(rows) != 2 || len(rows[0]) < 7 || rows[0][6] != "NODE" || rows[1][6] != "n1" {
		t.Errorf("get pod -o wide = %v, want NODE n1", rows)
	}

	err = bind("n2")
	if !apierrors.IsConflict(err) {
		t.Fatalf("second bind: %v, want a 409 Conflict", err)
	}
	if got, want := err.Error(), `Operation cannot be fulfilled on pods/binding "p": pod p is already assigned to node "n1"`; got != want {
		t.Errorf("second bind: %q, want %q", got, want)
	}
	err = pods.Bind(e.ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "nope"}, Target: corev1.ObjectReference{Name: "n1"}}, metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("bind of a missing pod: %v, want NotFound", err)
	}
	// Nothing but a binding may set the node of a scheduled pod.
	p.Spec.NodeName = "n2"
	if _, err := pods.Update(e.ctx, p, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("update of spec.nodeName: %v, want 422 Invalid", err)
	}
}

// TestFieldSelectors lists with the field and label selectors Kubernetes
// supports for pods.
func TestFieldSelectors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "selectors")
	e.mustKubectl(pod("a", "n1")+"---\n"+pod("b", "n2")+"---\n"+pod("c", "n1")+"---\n"+pod("d", ""), "apply", "-f", "-")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--field-selector", "spec.nodeName=n1"}, "pod/a\npod/c\n"},
		{[]string{"--field-selector", "spec.nodeName!=n1"}, "pod/b\npod/d\n"},
		{[]string{"--field-selector", "spec.nodeName="}, "pod/d\n"},
		{[]string{"--field-selector", "metadata.name=b"}, "pod/b\n"},
		{[]string{"--field-selector", "status.phase=Pending,spec.nodeName=n2"}, "pod/b\n"},
		{[]string{"--field-selector", "metadata.namespace=" + e.ns, "-l", "app in (a,d)"}, "pod/a\npod/d\n"},
		{[]string{"-l", "app=c"}, "pod/c\n"},
		{[]string{"-l", "app!=c,app!=d"}, "pod/a\npod/b\n"},
		{[]string{"-l", "missing"}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := append([]string{"get", "pods", "-o", "name"}, tt.args...)
			if got := e.mustKubectl("", args...); got != tt.want {
				t.Errorf("kubectl %s = %q, want %q", strings.Join(args, " "), got, tt.want)
			}
		})
	}
	t.Run("across namespaces", func(t *testing.T) {
		list, err := e.kube.CoreV1().Pods("").List(e.ctx, metav1.ListOptions{FieldSelector: "metadata.namespace=" + e.ns + ",spec.nodeName=n2"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 || list.Items[0].Name != "b" {
			t.Errorf("cluster-wide list with selectors = %d items, want b", len(list.Items))
		}
	})
	t.Run("unsupported field", func(t *testing.T) {
		_, err := e.kube.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{FieldSelector: "spec.containers=x"})
		if !apierrors.IsBadRequest(err) {
			t.Errorf("list with an unsupported field selector: %v, want 400 BadRequest", err)
		}
	})
}

// TestServiceAllocation checks ClusterIPs and NodePorts.
func TestServiceAllocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "services")
	serviceRange := netip.MustParsePrefix("10.96.0.0/12")
	svc := func(name, typ, ip string) string {
		s := fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\nspec:\n  type: %s\n  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: 8080\n", name, typ)
		if ip != "" {
			s += "  clusterIP: " + ip + "\n"
		}
		return s
	}
	e.mustKubectl(svc("plain", "ClusterIP", "")+"---\n"+svc("np", "NodePort", ""), "apply", "-f", "-")
	services := e.kube.CoreV1().Services(e.ns)
	plain, err := services.Get(e.ctx, "plain", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip, err := netip.ParseAddr(plain.Spec.ClusterIP)
	if err != nil || !serviceRange.Contains(ip) {
		t.Errorf("clusterIP = %q, want an address in %s", plain.Spec.ClusterIP, serviceRange)
	}
	if got, want := fmt.Sprint(plain.Spec.ClusterIPs), "["+plain.Spec.ClusterIP+"]"; got != want {
		t.Errorf("clusterIPs = %s, want %s", got, want)
	}
	np, err := services.Get(e.ctx, "np", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	port := np.Spec.Ports[0].NodePort
	if port < 30000 || port > 32767 {
		t.Errorf("nodePort = %d, want one in 30000-32767", port)
	}
	rows := fields(e.mustKubectl("", "get", "service", "np"))
	if want := fmt.Sprintf("np NodePort %s <none> 80:%d/TCP", np.Spec.ClusterIP, port); len(rows) != 2 || strings.Join(rows[1][:5], " ") != want {
		t.Errorf("get service = %v, want a row %q", rows, want)
	}
	if got, want := strings.Join(rows[0], " "), "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE"; got != want {
		t.Errorf("header = %q, want %q", got, want)
	}

	t.Run("kubernetes service", func(t *testing.T) {
		k, err := e.kube.CoreV1().Services("default").Get(e.ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if k.Spec.ClusterIP != "10.96.0.1" {
			t.Errorf("kubernetes service clusterIP = %s, want 10.96.0.1", k.Spec.ClusterIP)
		}
	})
	t.Run("duplicate clusterIP", func(t *testing.T) {
		addr := fmt.Sprintf("10.%d.%d.%d", 100+rand.IntN(10), rand.IntN(256), 2+rand.IntN(250))
		e.mustKubectl(svc("first", "ClusterIP", addr), "apply", "-f", "-")
		want := fmt.Sprintf(`The Service "second" is invalid: spec.clusterIPs: Invalid value: [%q]: failed to allocate IP %s: provided IP is already allocated`+"\n", addr, addr)
		got := e.kubectlFails(svc("second", "ClusterIP", addr), "apply", "-f", "-")
		if !strings.Contains(got, "provided IP is already allocated") {
			t.Fatalf("duplicate clusterIP printed %q, want %q", got, want)
		}
		if got != want {
			t.Errorf("duplicate clusterIP printed %q, want %q", got, want)
		}
		_, err := services.Create(e.ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "third"},
			Spec:       corev1.ServiceSpec{ClusterIP: addr, Ports: []corev1.ServicePort{{Port: 80}}},
		}, metav1.CreateOptions{})
		if se, ok := err.(*apierrors.StatusError); !ok || se.Status().Code != 422 {
			t.Errorf("create with a duplicate clusterIP: %v, want 422", err)
		}
		// Deleting the owner frees the address.
		e.mustKubectl("", "delete", "service", "first")
		if got, want := e.mustKubectl(svc("second", "ClusterIP", addr), "apply", "-f", "-"), "service/second created\n"; got != want {
			t.Errorf("reuse of a released clusterIP printed %q, want %q", got, want)
		}
	})
	t.Run("out of range", func(t *testing.T) {
		got := e.kubectlFails(svc("outside", "ClusterIP", "192.168.7.7"), "apply", "-f", "-")
		if want := "the provided IP (192.168.7.7) is not in the valid range. The range of valid IPs is 10.96.0.0/12"; !strings.Contains(got, want) {
			t.Errorf("clusterIP out of range printed %q, want %q in it", got, want)
		}
	})
	t.Run("duplicate nodePort", func(t *testing.T) {
		s := strings.Replace(svc("np2", "NodePort", ""), "targetPort: 8080\n", fmt.Sprintf("targetPort: 8080\n    nodePort: %d\n", port), 1)
		want := fmt.Sprintf(`The Service "np2" is invalid: spec.ports[0].nodePort: Invalid value: %d: provided port is already allocated`+"\n", port)
		if got := e.kubectlFails(s, "apply", "-f", "-"); got != want {
			t.Errorf("duplicate nodePort printed %q, want %q", got, want)
		}
	})
	t.Run("headless", func(t *testing.T) {
		e.mustKubectl(svc("headless", "ClusterIP", "None"), "apply", "-f", "-")
		if got, want := e.mustKubectl("", "get", "service", "headless", "-o", "jsonpath={.spec.clusterIP}"), "None"; got != want {
			t.Errorf("headless clusterIP = %q, want %q", got, want)
		}
	})
}
