package multihost_test

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/multihost"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

const image = "gantry.local/busybox:latest"

func TestMain(m *testing.M) {
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	code := m.Run()
	cluster.RemoveBuilt()
	os.Exit(code)
}

// TestPodsReachEachOtherAcrossHosts runs a web server and a client pod on
// each host: each client reaches the other host's server by pod IP
// through the agents' host-gw routes, and the server sees the client's
// own pod IP (no masquerade between pods). A pod CIDR no node has still
// dies on the node (the cluster CIDR's unreachable route).
func TestPodsReachEachOtherAcrossHosts(t *testing.T) {
	c := multihost.Start(t, multihost.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ns := "mh-" + cluster.RandomHex(3)
	if _, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	clusterCIDR := netip.MustParsePrefix(multihost.ClusterCIDR)
	type hostPods struct {
		host            *multihost.Host
		cidr            netip.Prefix
		web, client     string
		webIP, clientIP string
	}
	var hosts []*hostPods
	for i, h := range c.Hosts {
		s, err := h.PodCIDR(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cidr, err := netip.ParsePrefix(s)
		if err != nil || !clusterCIDR.Contains(cidr.Addr()) || cidr.Bits() != 24 {
			t.Fatalf("host %s has pod CIDR %q (%v), want a /24 of %s from node IPAM", h.Name, s, err, clusterCIDR)
		}
		hp := &hostPods{host: h, cidr: cidr, web: fmt.Sprintf("web-%d", i), client: fmt.Sprintf("client-%d", i)}
		hosts = append(hosts, hp)
		createPod(ctx, t, c, ns, hp.web, h.Name,
			`mkdir -p /www && echo "hello from `+h.Name+`" > /www/index.html && exec httpd -f -vv -p 8080 -h /www`)
		createPod(ctx, t, c, ns, hp.client, h.Name, "exec sleep 3600")
	}
	if hosts[0].cidr.Overlaps(hosts[1].cidr) {
		t.Fatalf("the hosts' pod CIDRs overlap: %s, %s", hosts[0].cidr, hosts[1].cidr)
	}
	for _, hp := range hosts {
		hp.webIP = waitPodIP(ctx, t, c, ns, hp.web)
		hp.clientIP = waitPodIP(ctx, t, c, ns, hp.client)
		for _, ip := range []string{hp.webIP, hp.clientIP} {
			if !hp.cidr.Contains(netip.MustParseAddr(ip)) {
				t.Errorf("pod IP %s on %s is not in the host's pod CIDR %s", ip, hp.host.Name, hp.cidr)
			}
		}
	}

	for _, dir := range [][2]*hostPods{{hosts[0], hosts[1]}, {hosts[1], hosts[0]}} {
		from, to := dir[0], dir[1]
		t.Run(from.host.Name+" to "+to.host.Name, func(t *testing.T) {
			url := "http://" + to.webIP + ":8080/"
			var out, stderr string
			var err error
			ok := poll(ctx, time.Minute, func() bool {
				out, stderr, err = c.Kubectl(ctx, nil, "-n", ns, "exec", from.client, "--", "sh", "-c", wget(5, url))
				return err == nil && strings.Contains(out, "hello from "+to.host.Name)
			})
			if !ok {
				t.Fatalf("wget %s from %s: %q %q %v", url, from.client, out, stderr, err)
			}
			// The server saw the client's own address.
			var logs string
			ok = poll(ctx, 30*time.Second, func() bool {
				logs, _, err = c.Kubectl(ctx, nil, "-n", ns, "logs", to.web)
				return err == nil && strings.Contains(logs, from.clientIP)
			})
			if !ok {
				t.Errorf("server %s did not see client address %s (masqueraded?); its log:\n%s", to.web, from.clientIP, logs)
			}
		})
	}

	t.Run("unassigned pod CIDR is unreachable", func(t *testing.T) {
		free := unassignedPodCIDR(t, clusterCIDR, hosts[0].cidr, hosts[1].cidr)
		target := "http://" + free.Addr().Next().String() + ":8080/"
		start := time.Now()
		out, stderr, err := c.Kubectl(ctx, nil, "-n", ns, "exec", hosts[0].client, "--", "sh", "-c", wget(20, target))
		if err == nil {
			t.Fatalf("wget %s succeeded: %q", target, out)
		}
		if !strings.Contains(stderr, "No route to host") && !strings.Contains(stderr, "unreachable") {
			t.Errorf("wget %s: %q %v; want no route to host", target, stderr, err)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("wget %s failed only after %v (timed out instead of being refused on the node)", target, d)
		}
		// The node itself has no route there either.
		if out, err := hosts[0].host.Run(ctx, "ip", "route", "get", free.Addr().Next().String()); err == nil {
			t.Errorf("host %s has a route to the unassigned %s: %s", hosts[0].host.Name, free, out)
		}
	})
}

// wget is a shell command fetching url, given up after seconds. (Not
// wget -T: busybox 1.35's wget crashes with it.)
func wget(seconds int, url string) string {
	return fmt.Sprintf("timeout %d wget -q -O - %s", seconds, url)
}

// TestRoutesFollowNodes adds Nodes without an agent: one on the hosts'
// link gets a route on both hosts until it is deleted; one whose address
// is not on the link, and one claiming a pod CIDR outside the cluster
// CIDR, get none, and a FailedToCreateRoute event each says why.
func TestRoutesFollowNodes(t *testing.T) {
	c := multihost.Start(t, multihost.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	onLink := netip.MustParsePrefix("10.250.99.0/24")
	b := c.Subnet.Addr().As4()
	b[3] = 9 // on the link, no host there
	ghostIP := netip.AddrFrom4(b)
	ghost := addNode(ctx, t, c, "ghost-"+cluster.RandomHex(3), onLink.String(), ghostIP.String())
	offLink := addNode(ctx, t, c, "far-"+cluster.RandomHex(3), "10.250.98.0/24", "192.0.2.77")
	hijack := addNode(ctx, t, c, "hijack-"+cluster.RandomHex(3), "0.0.0.0/0", ghostIP.String())

	want := onLink.String() + " via " + ghostIP.String()
	for _, h := range c.Hosts {
		waitRoutes(ctx, t, h, func(routes string) bool { return strings.Contains(routes, want) }, "a route "+want)
	}
	for _, n := range []struct{ name, reason string }{
		{offLink, "unreachable"},
		{hijack, "outside the cluster CIDR"},
	} {
		var got []string
		if !poll(ctx, time.Minute, func() bool {
			evs, err := c.Kube.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
			if err != nil {
				return false
			}
			got = got[:0]
			from := map[string]bool{}
			for _, e := range evs.Items {
				if e.InvolvedObject.Kind == "Node" && e.InvolvedObject.Name == n.name && e.Reason == "FailedToCreateRoute" {
					got = append(got, e.Message)
					if strings.Contains(e.Message, n.reason) {
						from[e.Source.Host] = true
					}
				}
			}
			return len(from) == len(c.Hosts)
		}) {
			t.Errorf("node %s: FailedToCreateRoute events %q, want one from each host saying %q", n.name, got, n.reason)
		}
	}
	for _, h := range c.Hosts {
		routes, err := h.Run(ctx, "ip", "-4", "route", "show", "proto", fmt.Sprint(multihost.RouteProtocol))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(routes, "10.250.98.0/24") || strings.Contains(routes, "default") {
			t.Errorf("host %s routes for a node it must not route to:\n%s", h.Name, routes)
		}
	}

	if err := c.Kube.CoreV1().Nodes().Delete(ctx, ghost, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, h := range c.Hosts {
		waitRoutes(ctx, t, h, func(routes string) bool { return !strings.Contains(routes, onLink.String()) }, "no route to "+onLink.String())
	}
}

// addNode writes a Node with no agent behind it, deleted when t ends.
func addNode(ctx context.Context, t *testing.T, c *multihost.Cluster, name, podCIDR, ip string) string {
	t.Helper()
	n, err := c.Kube.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.NodeSpec{PodCIDR: podCIDR, PodCIDRs: []string{podCIDR}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Kube.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}
	if _, err := c.Kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// waitRoutes waits until the host's host-gw routes satisfy ok.
func waitRoutes(ctx context.Context, t *testing.T, h *multihost.Host, ok func(string) bool, what string) {
	t.Helper()
	var routes string
	var err error
	if !poll(ctx, time.Minute, func() bool {
		routes, err = h.Run(ctx, "ip", "-4", "route", "show", "proto", fmt.Sprint(multihost.RouteProtocol))
		return err == nil && ok(routes)
	}) {
		t.Fatalf("host %s: want %s; routes (%v):\n%s", h.Name, what, err, routes)
	}
}

func createPod(ctx context.Context, t *testing.T, c *multihost.Cluster, ns, name, node, script string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{{
				Name: "main", Image: image, ImagePullPolicy: corev1.PullNever,
				Command: []string{"sh", "-c", script},
			}},
			TerminationGracePeriodSeconds: new(int64),
		},
	}
	if _, err := c.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitPodIP(ctx context.Context, t *testing.T, c *multihost.Cluster, ns, name string) string {
	t.Helper()
	var pod *corev1.Pod
	var err error
	if !poll(ctx, 2*time.Minute, func() bool {
		pod, err = c.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && pod.Status.Phase == corev1.PodRunning && pod.Status.PodIP != ""
	}) {
		t.Fatalf("pod %s not running with an IP: %v %+v", name, err, pod.Status)
	}
	return pod.Status.PodIP
}

// unassignedPodCIDR returns a /24 of clusterCIDR that neither host has.
func unassignedPodCIDR(t *testing.T, clusterCIDR netip.Prefix, used ...netip.Prefix) netip.Prefix {
	t.Helper()
	base := clusterCIDR.Addr().As4()
	for x := 250; x > 0; x-- {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{base[0], base[1], byte(x), 0}), 24)
		free := true
		for _, u := range used {
			free = free && !u.Overlaps(p)
		}
		if free {
			return p
		}
	}
	t.Fatal("no unassigned /24")
	return netip.Prefix{}
}

// poll calls cond until it holds or timeout (or ctx) ends.
func poll(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
}
