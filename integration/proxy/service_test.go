package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// webPods are three httpd pods answering with their own name, ready
// while /tmp/ready exists, and a client pod.
const webPods = `
apiVersion: v1
kind: Pod
metadata: {name: NAME, labels: {app: web, name: NAME}}
spec:
  nodeName: {{NODE}}
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: {{IMAGE}}
    command: [sh, -c, 'mkdir -p /www && hostname > /www/index.html && touch /tmp/ready && exec httpd -f -p 8080 -h /www']
    readinessProbe:
      exec: {command: [cat, /tmp/ready]}
      periodSeconds: 1
      failureThreshold: 1
`

const clientPod = `
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: {{NODE}}
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: {{IMAGE}}
    command: [sleep, "3600"]
`

const services = `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  selector: {app: web}
  sessionAffinity: ClientIP
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web0}
spec:
  selector: {name: web-0}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  selector: {app: nothing-matches}
  ports: [{port: 80, targetPort: 8080}]
`

var webNames = []string{"web-0", "web-1", "web-2"}

// fetchLoop asks url n times from pod and returns the names answered.
func (e *env) fetchLoop(pod, url string, n int) ([]string, error) {
	// (busybox wget's own -T crashes in this image: timeout bounds it.)
	script := fmt.Sprintf("for i in $(seq 1 %d); do timeout 5 wget -q -O - %s || echo FAILED; done", n, url)
	out, errOut, err := e.exec(pod, "sh", "-c", script)
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, errOut)
	}
	return strings.Fields(out), nil
}

// waitServing waits until url answers from pod with one of want.
func (e *env) waitServing(pod, url string, want ...string) {
	e.t.Helper()
	var last []string
	err := poll(e.ctx, time.Minute, func() (bool, error) {
		got, err := e.fetchLoop(pod, url, 1)
		last = got
		return err == nil && len(got) == 1 && slices.Contains(want, got[0]), err
	})
	if err != nil {
		e.t.Fatalf("%s never answered %v from %s: %v (last %v)", url, want, pod, err, last)
	}
}

func distinct(names []string) []string {
	s := slices.Clone(names)
	slices.Sort(s)
	return slices.Compact(s)
}

func clusterURL(s *corev1.Service) string {
	return "http://" + net.JoinHostPort(s.Spec.ClusterIP, strconv.Itoa(int(s.Spec.Ports[0].Port))) + "/"
}

func TestServices(t *testing.T) {
	e := newEnv(t)
	var pods strings.Builder
	for i, n := range webNames {
		if i > 0 {
			pods.WriteString("---\n")
		}
		pods.WriteString(strings.ReplaceAll(webPods, "NAME", n))
	}
	e.apply(pods.String() + "---\n" + clientPod)
	e.apply(services)
	ready := e.waitReady(append(slices.Clone(webNames), "client")...)
	web := e.service("web")

	t.Run("ClusterIPFromPodSpreadsOverAllEndpoints", func(t *testing.T) {
		e.waitServing("client", clusterURL(web), webNames...)
		var seen []string
		err := poll(e.ctx, time.Minute, func() (bool, error) {
			got, err := e.fetchLoop("client", clusterURL(web), 30)
			seen = distinct(append(seen, got...))
			return slices.Equal(seen, webNames), err
		})
		if err != nil || !slices.Equal(seen, webNames) {
			t.Fatalf("answers came from %v, want all of %v (err %v)", seen, webNames, err)
		}
	})

	t.Run("Hairpin", func(t *testing.T) {
		// web-0 reaches itself through a Service whose only endpoint it is.
		e.waitServing("web-0", clusterURL(e.service("web0")), "web-0")
	})

	t.Run("ClusterIPFromHost", func(t *testing.T) {
		got := waitHostGet(t, e.ctx, clusterURL(web))
		if !slices.Contains(webNames, got) {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("NodePortFromHost", func(t *testing.T) {
		np := e.service("web-np").Spec.Ports[0].NodePort
		if np == 0 {
			t.Fatal("no nodePort allocated")
		}
		// The node's address in the test harness is 127.0.0.1, so this
		// is both the node IP and localhost (route_localnet). The
		// nftables mode, like kube-proxy's, answers NodePorts on no
		// 127.0.0.0/8 address: there, the node's address on the pod
		// bridge.
		addr := "127.0.0.1"
		if proxyMode == "nftables" {
			addr = bridgeIP(e.node.PodCIDR)
		}
		url := "http://" + net.JoinHostPort(addr, strconv.Itoa(int(np))) + "/"
		if got := waitHostGet(t, e.ctx, url); !slices.Contains(webNames, got) {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("SessionAffinity", func(t *testing.T) {
		url := clusterURL(e.service("sticky"))
		e.waitServing("client", url, webNames...)
		got, err := e.fetchLoop("client", url, 20)
		if err != nil {
			t.Fatal(err)
		}
		if d := distinct(got); len(d) != 1 || len(got) != 20 {
			t.Fatalf("a ClientIP-affine Service answered from %v (%d answers), want one pod", d, len(got))
		}
	})

	t.Run("NoEndpointsRefuses", func(t *testing.T) {
		empty := e.service("empty")
		e.waitRules("rejecting the Service without endpoints", func(r string) bool {
			if proxyMode == "nftables" {
				return strings.Contains(r, empty.Spec.ClusterIP+" . tcp . 80 comment \""+e.ns+"/empty\" : goto reject-chain")
			}
			return strings.Contains(r, e.ns+"/empty has no endpoints") && strings.Contains(r, "-j REJECT")
		})
		// From a pod: wget says "Connection refused", not a timeout.
		_, errOut, err := e.exec("client", "timeout", "20", "wget", "-q", "-O", "-", clusterURL(empty))
		if err == nil || !strings.Contains(errOut, "refused") {
			t.Errorf("wget from a pod: err %v, stderr %q; want connection refused", err, errOut)
		}
		// From the host.
		c, err := net.DialTimeout("tcp", net.JoinHostPort(empty.Spec.ClusterIP, "80"), 20*time.Second)
		if err == nil {
			c.Close()
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial from the host: %v; want connection refused", err)
		}
	})

	t.Run("NotReadyEndpointLeavesTheRules", func(t *testing.T) {
		ip := ready["web-2"].Status.PodIP
		dnat := byMode("--to-destination ", "dnat to ") + ip + ":8080"
		e.waitRules("including web-2", func(r string) bool { return strings.Contains(r, dnat) })
		if _, errOut, err := e.exec("web-2", "rm", "/tmp/ready"); err != nil {
			t.Fatalf("rm /tmp/ready: %v: %s", err, errOut)
		}
		e.waitRules("without web-2", func(r string) bool { return !strings.Contains(r, dnat) })
		got, err := e.fetchLoop("client", clusterURL(web), 30)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(got, "web-2") || slices.Contains(got, "FAILED") {
			t.Fatalf("answers after web-2 turned not ready: %v", got)
		}
		// And back.
		if _, errOut, err := e.exec("web-2", "touch", "/tmp/ready"); err != nil {
			t.Fatalf("touch /tmp/ready: %v: %s", err, errOut)
		}
		e.waitRules("with web-2 again", func(r string) bool { return strings.Contains(r, dnat) })
	})

	t.Run("Metrics", func(t *testing.T) {
		resp, err := http.Get(e.proxy.metricsURL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, m := range []string{
			"kubeproxy_sync_proxy_rules_duration_seconds_count", "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
			byMode(`kubeproxy_sync_proxy_rules_iptables_total{table="nat"}`, `kubeproxy_sync_proxy_rules_iptables_total{table="`+strings.ToLower(e.proxy.prefix)+`-proxy"}`),
			"kubeproxy_sync_proxy_rules_endpoint_changes_pending",
			"kubeproxy_sync_proxy_rules_service_changes_pending", "kubeproxy_network_programming_duration_seconds",
		} {
			if !strings.Contains(string(b), m) {
				t.Errorf("/metrics has no %s", m)
			}
		}
	})
}

// waitHostGet GETs url from the test process until it answers 200 and
// returns the body.
func waitHostGet(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 3 * time.Second}
	var body string
	err := poll(ctx, time.Minute, func() (bool, error) {
		resp, err := c.Get(url)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = strings.TrimSpace(string(b))
		return resp.StatusCode == http.StatusOK && err == nil, err
	})
	if err != nil {
		t.Fatalf("GET %s from the host: %v", url, err)
	}
	return body
}

// Odd Services and thousands of endpoints: valid rules, a healthy proxy.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: Service
metadata: {name: odd}
spec:
  ports:
  - {name: u, port: 5353, protocol: UDP}
  - {name: s, port: 9999, protocol: SCTP}
  - {name: t, port: 65535, protocol: TCP}
---
apiVersion: v1
kind: Service
metadata: {name: big}
spec:
  ports: [{port: 80}]
`)
	// 3,000 endpoints for "big" in three slices (1,000 is the most one
	// slice may hold). The addresses are never contacted.
	tcp := corev1.ProtocolTCP
	for s := range 3 {
		sl := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("big-%d", s),
				Labels: map[string]string{discoveryv1.LabelServiceName: "big"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr(""), Port: ptr(int32(80)), Protocol: &tcp}},
		}
		for i := range 1000 {
			n := s*1000 + i
			sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{
				Addresses: []string{fmt.Sprintf("10.250.%d.%d", 200+n/250, n%250+1)}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)},
			})
		}
		if _, err := e.cs.DiscoveryV1().EndpointSlices(e.ns).Create(e.ctx, sl, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	odd := e.service("odd")
	e.waitRules("covering the odd and the big Service", func(r string) bool {
		if proxyMode == "nftables" {
			// One element per endpoint in big's endpoint map.
			return len(bigEndpointElement.FindAllString(r, -1)) == 3000 &&
				strings.Contains(r, odd.Spec.ClusterIP+" . sctp . 9999") &&
				strings.Contains(r, odd.Spec.ClusterIP+" . udp . 5353") &&
				strings.Contains(r, odd.Spec.ClusterIP+" . tcp . 65535")
		}
		return strings.Count(r, "--comment \""+e.ns+"/big -> ") == 3000 &&
			strings.Contains(r, "-d "+odd.Spec.ClusterIP+"/32 -p sctp") &&
			strings.Contains(r, "-d "+odd.Spec.ClusterIP+"/32 -p udp") &&
			strings.Contains(r, "--dport 65535")
	})
	if err := waitHTTP(e.ctx, e.proxy.healthzURL, e.proxy.proc); err != nil {
		t.Fatal(err)
	}
}

// bigEndpointElement is an element of an nftables endpoint map sending
// a run of random numbers to one of TestBadInput's 3,000 endpoints.
var bigEndpointElement = regexp.MustCompile(`\b\d+-\d+ : 10\.250\.2\d\d\.\d+ \. 80\b`)

func ptr[T any](v T) *T { return &v }

// --cleanup removes every chain and rule of the proxy, and nothing else.
func TestCleanupLeavesNoTrace(t *testing.T) {
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: Service
metadata: {name: some}
spec:
  type: NodePort
  ports: [{port: 80}]
`)
	// A second proxy of the node, with chains of its own prefix.
	p, err := shared.startProxy(e.ctx, "--cluster-dns", "")
	if err != nil {
		t.Fatal(err)
	}
	before, err := ourRules(e.ctx, p.prefix)
	if err != nil {
		t.Fatal(err)
	}
	wants := []string{":" + p.prefix + "-SERVICES", "-j " + p.prefix + "-POSTROUTING", e.ns + "/some has no endpoints"}
	if proxyMode == "nftables" {
		wants = []string{"chain nat-prerouting", "chain nat-postrouting", "comment \"" + e.ns + "/some\" : goto reject-chain"}
	}
	for _, want := range wants {
		if !strings.Contains(before, want) {
			t.Fatalf("the second proxy's rules have no %q:\n%s", want, before)
		}
	}
	if err := cleanupProxy(p); err != nil {
		t.Fatal(err)
	}
	if left, err := ourRules(e.ctx, p.prefix); err != nil || left != "" {
		t.Fatalf("--cleanup left rules behind (%v):\n%s", err, left)
	}
	if proxyMode == "nftables" {
		// Nor iptables chains of the prefix.
		out, err := exec.CommandContext(e.ctx, "iptables-save").Output()
		if err != nil || strings.Contains(string(out), p.prefix+"-") {
			t.Fatalf("iptables-save (%v) still has %s- chains", err, p.prefix)
		}
	}
	// The shared proxy's rules are untouched.
	if left, err := ourRules(e.ctx, e.proxy.prefix); err != nil || !strings.Contains(left, byMode(":"+e.proxy.prefix+"-SERVICES", "chain services")) {
		t.Fatalf("--cleanup of one prefix removed another's rules (%v)", err)
	}
}

// bridgeIP is the node's address on the pod bridge: the first address of
// its pod CIDR.
func bridgeIP(podCIDR string) string {
	return netip.MustParsePrefix(podCIDR).Masked().Addr().Next().String()
}
