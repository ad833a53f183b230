package multihost_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/multihost"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// whoScript serves /cgi-bin/who on port 8080: the pod's name and the
// address the request came from (httpd listens on IPv6 too and reports
// "[::ffff:a.b.c.d]": the script prints a.b.c.d).
const whoScript = `mkdir -p /www/cgi-bin
cat > /www/cgi-bin/who <<'END'
#!/bin/sh
echo "Content-Type: text/plain"
echo
echo "$(hostname) $(echo "$REMOTE_ADDR" | sed 's/^\[//; s/\]$//; s/^::ffff://')"
END
chmod +x /www/cgi-bin/who
exec httpd -f -p 8080 -h /www`

// TestServicesAcrossHosts runs gantry-proxy on both hosts and checks
// Services whose endpoints live on the other host: ClusterIP from a pod
// and from a node, NodePort from outside the cluster (masqueraded so the
// reply returns through the node it came in by), externalTrafficPolicy
// Local (client address kept; a node without a local endpoint drops),
// and the Service's name through cluster DNS on each host.
func TestServicesAcrossHosts(t *testing.T) {
	c := multihost.Start(t, multihost.Options{Proxy: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ns := "mhsvc-" + cluster.RandomHex(3)
	if _, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a, b := c.Hosts[0], c.Hosts[1]
	createWeb(ctx, t, c, ns, "web-a", a.Name, "a")
	createWeb(ctx, t, c, ns, "web-b", b.Name, "b")
	createPod(ctx, t, c, ns, "client", a.Name, "exec sleep 3600")
	clientIP := waitPodIP(ctx, t, c, ns, "client")
	web := createService(ctx, t, c, ns, "web", map[string]string{"app": "web"}, corev1.ServiceExternalTrafficPolicyCluster)
	onlyB := createService(ctx, t, c, ns, "web-b", map[string]string{"app": "web", "at": "b"}, corev1.ServiceExternalTrafficPolicyLocal)
	waitReadyEndpoints(ctx, t, c, ns, "web", 2)
	waitReadyEndpoints(ctx, t, c, ns, "web-b", 1)

	t.Run("ClusterIP from a pod spreads over both hosts", func(t *testing.T) {
		url := "http://" + web.Spec.ClusterIP + "/cgi-bin/who"
		want := []string{"web-a " + clientIP, "web-b " + clientIP}
		var out, stderr string
		var err error
		if !poll(ctx, time.Minute, func() bool {
			out, stderr, err = c.Kubectl(ctx, nil, "-n", ns, "exec", "client", "--", "sh", "-c",
				"for i in $(seq 20); do "+wget(5, url)+"; done")
			return err == nil && containsAll(out, want)
		}) {
			t.Fatalf("20 fetches of %s from a pod on %s: %q %q %v; want answers %q (both pods, client address kept)", url, a.Name, out, stderr, err, want)
		}
	})

	t.Run("ClusterIP from a node to the other host's pod", func(t *testing.T) {
		url := "http://" + onlyB.Spec.ClusterIP + "/cgi-bin/who"
		var out string
		var err error
		if !poll(ctx, time.Minute, func() bool {
			out, err = a.Run(ctx, "timeout", "5", "busybox", "wget", "-q", "-O", "-", url)
			return err == nil && strings.Contains(out, "web-b "+a.IP.String())
		}) {
			t.Fatalf("fetch %s on host %s: %q %v; want web-b answering the node's own address %s (masqueraded)", url, a.Name, out, err, a.IP)
		}
	})

	nodePort := func(svc *corev1.Service) int32 { return svc.Spec.Ports[0].NodePort }
	t.Run("NodePort from outside reaches the other host", func(t *testing.T) {
		url := fmt.Sprintf("http://%s:%d/cgi-bin/who", a.IP, nodePort(web))
		seen := map[string]bool{}
		var last error
		if !poll(ctx, time.Minute, func() bool {
			var body string
			if body, last = get(ctx, url); last == nil {
				seen[body] = true
			}
			return seen["web-b "+a.IP.String()] && hasPrefix(seen, "web-a ")
		}) {
			t.Fatalf("GET %s from outside the hosts: answers %v (last error %v); want web-a and web-b, web-b seeing %s (the node it came in by)", url, keys(seen), last, a.IP)
		}
	})

	t.Run("externalTrafficPolicy Local", func(t *testing.T) {
		url := fmt.Sprintf("http://%s:%d/cgi-bin/who", b.IP, nodePort(onlyB))
		var body string
		var err error
		if !poll(ctx, time.Minute, func() bool {
			body, err = get(ctx, url)
			return err == nil && body == "web-b "+c.RootIP.String()
		}) {
			t.Fatalf("GET %s: %q %v; want web-b seeing the client's own address %s", url, body, err, c.RootIP)
		}
		// Host A has no endpoint of web-b: its NodePort drops the
		// traffic rather than sending it to host B.
		url = fmt.Sprintf("http://%s:%d/cgi-bin/who", a.IP, nodePort(onlyB))
		if body, err := get(ctx, url); err == nil {
			t.Errorf("GET %s (no local endpoint on %s) answered %q; want no answer", url, a.Name, body)
		}
	})

	t.Run("cluster DNS on each host", func(t *testing.T) {
		for pod, host := range map[string]*multihost.Host{"client": a, "web-b": b} {
			name := "web." + ns + ".svc.cluster.local"
			var out, stderr string
			var err error
			if !poll(ctx, time.Minute, func() bool {
				out, stderr, err = c.Kubectl(ctx, nil, "-n", ns, "exec", pod, "--", "nslookup", name)
				return err == nil && strings.Contains(out, web.Spec.ClusterIP)
			}) {
				t.Errorf("nslookup %s in %s on %s: %q %q %v; want %s", name, pod, host.Name, out, stderr, err, web.Spec.ClusterIP)
			}
		}
	})
}

func createWeb(ctx context.Context, t *testing.T, c *multihost.Cluster, ns, name, node, at string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "web", "at": at}},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{{
				Name: "web", Image: image, ImagePullPolicy: corev1.PullNever,
				Command: []string{"sh", "-c", whoScript},
				Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/cgi-bin/who", Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 1,
				},
			}},
			TerminationGracePeriodSeconds: new(int64),
		},
	}
	if _, err := c.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func createService(ctx context.Context, t *testing.T, c *multihost.Cluster, ns, name string, selector map[string]string, policy corev1.ServiceExternalTrafficPolicy) *corev1.Service {
	t.Helper()
	svc, err := c.Kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeNodePort,
			Selector:              selector,
			ExternalTrafficPolicy: policy,
			Ports:                 []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.Ports[0].NodePort == 0 {
		t.Fatalf("service %s got no ClusterIP or NodePort: %+v", name, svc.Spec)
	}
	return svc
}

// waitReadyEndpoints waits until the Service's EndpointSlices list n
// ready endpoints.
func waitReadyEndpoints(ctx context.Context, t *testing.T, c *multihost.Cluster, ns, svc string, n int) {
	t.Helper()
	var ready int
	if !poll(ctx, 2*time.Minute, func() bool {
		list, err := c.Kube.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
		if err != nil {
			return false
		}
		ready = 0
		for _, s := range list.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					ready++
				}
			}
		}
		return ready == n
	}) {
		t.Fatalf("service %s has %d ready endpoints, want %d", svc, ready, n)
	}
}

// get fetches url from the root namespace (outside every host), with no
// HTTP proxy, giving up after 3 s.
func get(ctx context.Context, url string) (string, error) {
	client := &http.Client{
		Timeout:   3 * time.Second,
		Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 3 * time.Second}).DialContext, DisableKeepAlives: true},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s: %s", url, resp.Status, body)
	}
	return strings.TrimSpace(string(body)), nil
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func hasPrefix(seen map[string]bool, prefix string) bool {
	for k := range seen {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
