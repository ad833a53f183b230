package apiserver_test

import (
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// backoff retries conflicts for long enough that every worker gets through:
// up to 500 tries 5-15 ms apart. (No Cap: wait.Backoff stops retrying once
// a capped duration is reached.)
var backoff = wait.Backoff{Steps: 500, Duration: 5 * time.Millisecond, Factor: 1, Jitter: 2}

// TestConcurrentUpdates: many clients on both API servers update one
// object; with optimistic concurrency and retries no update is lost.
func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "counter")
	clients := []kubernetes.Interface{e.kube, e.client(1)}
	const workers, each = 8, 10
	for _, name := range []string{"counter", "patched"} {
		if _, err := e.kube.CoreV1().ConfigMaps(e.ns).Create(e.ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"n": "0"},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu        sync.Mutex
		versions  = map[string]bool{}
		conflicts int
		errs      []error
	)
	var wg sync.WaitGroup
	for w := range workers {
		cms := clients[w%2].CoreV1().ConfigMaps(e.ns)
		wg.Go(func() {
			for i := range each {
				err := retry.OnError(backoff, apierrors.IsConflict, func() error {
					cm, err := cms.Get(e.ctx, "counter", metav1.GetOptions{})
					if err != nil {
						return err
					}
					n, err := strconv.Atoi(cm.Data["n"])
					if err != nil {
						return err
					}
					cm.Data["n"] = strconv.Itoa(n + 1)
					out, err := cms.Update(e.ctx, cm, metav1.UpdateOptions{})
					mu.Lock()
					defer mu.Unlock()
					if apierrors.IsConflict(err) {
						conflicts++
					}
					if err == nil {
						versions[out.ResourceVersion] = true
					}
					return err
				})
				// Patches without a resourceVersion are retried by the server.
				if err == nil {
					patch := fmt.Sprintf(`{"data":{"w%d-%d":"x"}}`, w, i)
					_, err = cms.Patch(e.ctx, "patched", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Errorf("worker: %v", err)
	}
	cm, err := e.kube.CoreV1().ConfigMaps(e.ns).Get(e.ctx, "counter", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cm.Data["n"], strconv.Itoa(workers*each); got != want {
		t.Errorf("counter = %s, want %s", got, want)
	}
	if got, want := len(versions), workers*each; got != want {
		t.Errorf("successful updates returned %d distinct resourceVersions, want %d", got, want)
	}
	patched, err := e.client(1).CoreV1().ConfigMaps(e.ns).Get(e.ctx, "patched", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(patched.Data), workers*each+1; got != want {
		t.Errorf("patched configmap has %d keys, want %d", got, want)
	}
	t.Logf("%d conflicts retried", conflicts)
}

// TestTwoAPIServers: API servers on one store see each other's writes, in
// reads and in watches.
func TestTwoAPIServers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "two")
	clients := []kubernetes.Interface{e.kube, e.client(1)}
	for from := range 2 {
		to := 1 - from
		t.Run(fmt.Sprintf("write %d watch %d", from, to), func(t *testing.T) {
			name := fmt.Sprintf("from-%d", from)
			writer, watcher := clients[from].CoreV1().ConfigMaps(e.ns), clients[to].CoreV1().ConfigMaps(e.ns)
			list, err := watcher.List(e.ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			w, err := watcher.Watch(e.ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, FieldSelector: "metadata.name=" + name})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			created, err := writer.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Reads through the other server see the write at once: a get
			// reads the store, a list without resourceVersion is consistent.
			if got, err := watcher.Get(e.ctx, name, metav1.GetOptions{}); err != nil {
				t.Errorf("get through the other server: %v", err)
			} else if got.ResourceVersion != created.ResourceVersion {
				t.Errorf("get through the other server: rv %s, want %s", got.ResourceVersion, created.ResourceVersion)
			}
			after, err := watcher.List(e.ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
			if err != nil || len(after.Items) != 1 {
				t.Errorf("list through the other server right after the create: %v, %d items, want 1", err, len(after.Items))
			}
			created.Data = map[string]string{"k": "v"}
			if _, err := writer.Update(e.ctx, created, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := writer.Delete(e.ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			evs := collect(t, w, 3, 10*time.Second)
			if got, want := describeTypes(evs), fmt.Sprintf("%s %s, %s %s, %s %s", watch.Added, name, watch.Modified, name, watch.Deleted, name); got != want {
				t.Errorf("watch through the other server = %s, want %s", got, want)
			}
		})
	}
}

// TestClusterIPsUnique creates Services at the same time through both API
// servers; no address or node port is handed out twice.
func TestClusterIPsUnique(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "ips")
	clients := []kubernetes.Interface{e.kube, e.client(1)}
	const n = 48
	serviceRange := netip.MustParsePrefix("10.96.0.0/12")
	var (
		mu    sync.Mutex
		ips   = map[string]string{}
		ports = map[int32]string{}
		errs  []error
	)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			svc := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i)},
				Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}, {Name: "b", Port: 81}}},
			}
			if i%2 == 0 {
				svc.Spec.Type = corev1.ServiceTypeNodePort
				svc.Spec.Ports[0].Name = "a"
			} else {
				svc.Spec.Ports = svc.Spec.Ports[:1]
			}
			out, err := clients[i%2].CoreV1().Services(e.ns).Create(e.ctx, svc, metav1.CreateOptions{})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if other, dup := ips[out.Spec.ClusterIP]; dup {
				errs = append(errs, fmt.Errorf("%s and %s both got clusterIP %s", other, out.Name, out.Spec.ClusterIP))
			}
			ips[out.Spec.ClusterIP] = out.Name
			if ip, err := netip.ParseAddr(out.Spec.ClusterIP); err != nil || !serviceRange.Contains(ip) {
				errs = append(errs, fmt.Errorf("%s got clusterIP %q, want one in %s", out.Name, out.Spec.ClusterIP, serviceRange))
			}
			for _, p := range out.Spec.Ports {
				if svc.Spec.Type != corev1.ServiceTypeNodePort {
					if p.NodePort != 0 {
						errs = append(errs, fmt.Errorf("ClusterIP service %s got nodePort %d", out.Name, p.NodePort))
					}
					continue
				}
				if other, dup := ports[p.NodePort]; dup {
					errs = append(errs, fmt.Errorf("%s and %s both got nodePort %d", other, out.Name, p.NodePort))
				}
				ports[p.NodePort] = out.Name
				if p.NodePort < 30000 || p.NodePort > 32767 {
					errs = append(errs, fmt.Errorf("%s got nodePort %d, want one in 30000-32767", out.Name, p.NodePort))
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if got, want := len(ips), n; got != want {
		t.Errorf("%d distinct clusterIPs, want %d", got, want)
	}
	if got, want := len(ports), n; got != want {
		t.Errorf("%d distinct nodePorts, want %d", got, want)
	}
}
