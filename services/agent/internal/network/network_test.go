package network

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestSetupNode(t *testing.T) {
	cfg := testConfig(t, 24)
	n := newTestNetwork(t, cfg)
	ctx := context.Background()
	// A second call (an agent restart) changes nothing.
	if err := n.SetupNode(ctx); err != nil {
		t.Fatal(err)
	}

	conf, err := os.ReadFile(cfg.confPath())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(conf, n.conf) {
		t.Errorf("conflist on disk differs from the one in use:\n%s", conf)
	}
	for _, key := range []string{"net/bridge/bridge-nf-call-iptables", "net/ipv4/ip_forward"} {
		if v, err := os.ReadFile(sysctlPath(key)); err != nil || strings.TrimSpace(string(v)) != "1" {
			t.Errorf("%s = %q, %v; want 1", key, v, err)
		}
	}
	if got := strings.Count(mustOutput(t, "iptables", "-t", "nat", "-S", natChain), "-A "+natChain); got != 1 {
		t.Errorf("%s has %d rules, want 1", natChain, got)
	}
	if got := strings.Count(mustOutput(t, "iptables", "-t", "filter", "-S", filterChain), "-A "+filterChain); got != 2 {
		t.Errorf("%s has %d rules, want 2", filterChain, got)
	}
	for _, j := range jumps {
		if got := strings.Count(mustOutput(t, "iptables", "-t", j.table, "-S", j.from), "-j "+j.to); got != 1 {
			t.Errorf("%s %s jumps to %s %d times, want once", j.table, j.from, j.to, got)
		}
	}

	// An address of the cluster CIDR outside every pod CIDR is refused on
	// the node.
	if _, err := netlink.RouteGet(net.ParseIP("10.255.250.1")); !errors.Is(err, unix.EHOSTUNREACH) {
		t.Errorf("route to an unused cluster address: %v, want %v", err, unix.EHOSTUNREACH)
	}
	// A ClusterIP goes to the dummy device.
	routes, err := netlink.RouteGet(net.ParseIP("10.254.3.4"))
	if err != nil {
		t.Fatal(err)
	}
	dummy, err := netlink.LinkByName(cfg.DummyDevice)
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 1 || routes[0].LinkIndex != dummy.Attrs().Index {
		t.Errorf("route to a ClusterIP: %+v, want dev %s", routes, cfg.DummyDevice)
	}
}

func TestPodsReachEachOther(t *testing.T) {
	cfg := testConfig(t, 24)
	n := newTestNetwork(t, cfg)
	ctx := context.Background()
	podA, podB := podAt(newPodNetns(t)), podAt(newPodNetns(t))
	resA, err := n.Setup(ctx, podA)
	if err != nil {
		t.Fatal(err)
	}
	resB, err := n.Setup(ctx, podB)
	if err != nil {
		t.Fatal(err)
	}
	gw := net.IP(cfg.gateway().AsSlice())
	for _, res := range []Result{resA, resB} {
		if len(res.IPs) != 1 || !cfg.PodCIDR.Contains(addrOf(res.IPs[0])) || res.IPs[0].Equal(gw) {
			t.Errorf("IPs %v: want one address of %s other than the gateway", res.IPs, cfg.PodCIDR)
		}
		if !res.Gateway.Equal(gw) || res.Interface != PodInterface {
			t.Errorf("gateway %v, interface %q; want %v, %q", res.Gateway, res.Interface, gw, PodInterface)
		}
	}
	if resA.IPs[0].Equal(resB.IPs[0]) {
		t.Fatalf("both pods got %v", resA.IPs[0])
	}
	serve(t, podA.NetNS, "a", 8080)
	serve(t, podB.NetNS, "b", 8080)
	addrA, addrB := hostPort(resA.IPs[0], 8080), hostPort(resB.IPs[0], 8080)

	// Pod to pod, both ways, without NAT: each sees the other's address.
	if got := expectReply(t, podB.NetNS, addrA, "a"); !strings.Contains(got, resB.IPs[0].String()+":") {
		t.Errorf("pod a saw %q, want pod b's address %v", got, resB.IPs[0])
	}
	expectReply(t, podA.NetNS, addrB, "b")
	// The node reaches pods.
	expectReply(t, "", addrA, "a")
	// A pod's packet for an unused cluster address dies on the node.
	if _, err := dial(podA.NetNS, "10.255.250.1:80"); !errors.Is(err, unix.EHOSTUNREACH) {
		t.Errorf("dial an unused cluster address from a pod: %v, want %v", err, unix.EHOSTUNREACH)
	}
}

func TestSetupIsIdempotentAndSurvivesRestart(t *testing.T) {
	cfg := testConfig(t, 24)
	n := newTestNetwork(t, cfg)
	ctx := context.Background()
	pod := podAt(newPodNetns(t), PortMapping{HostPort: 18081, ContainerPort: 8080})
	first, err := n.Setup(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	again, err := n.Setup(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	if !sameResult(first, again) {
		t.Errorf("second Setup returned %+v, first %+v", again, first)
	}
	if ips := ipamFiles(t, cfg); len(ips) != 1 {
		t.Errorf("host-local holds %v, want one address", ips)
	}

	// A restarted agent re-adopts the pod and remembers its host port.
	restarted, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	adopted, err := restarted.Setup(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	if !sameResult(first, adopted) {
		t.Errorf("Setup after restart returned %+v, want %+v", adopted, first)
	}
	status, err := restarted.Status(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	if !sameResult(first, status) {
		t.Errorf("Status returned %+v, want %+v", status, first)
	}
	other := podAt(newPodNetns(t), PortMapping{HostPort: 18081, ContainerPort: 80})
	if _, err := restarted.Setup(ctx, other); !errors.Is(err, ErrHostPortConflict) {
		t.Errorf("Setup of a second pod on the same host port after restart: %v, want %v", err, ErrHostPortConflict)
	}
}

func TestTeardownReleasesAddress(t *testing.T) {
	cfg := testConfig(t, 29) // five pod addresses
	n := newTestNetwork(t, cfg)
	ctx := context.Background()
	netns := newPodNetns(t)
	// More rounds than the pod CIDR has addresses: each Teardown must
	// give its address back, and Setup must work again after Teardown.
	for round := range 8 {
		pod := podAt(netns)
		res, err := n.Setup(ctx, pod)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if ips := ipamFiles(t, cfg); !slices.Equal(ips, []string{res.IPs[0].String()}) {
			t.Fatalf("round %d: host-local holds %v, want %v", round, ips, res.IPs)
		}
		if err := n.Teardown(ctx, pod); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if ips := ipamFiles(t, cfg); len(ips) != 0 {
			t.Fatalf("round %d: host-local still holds %v after Teardown", round, ips)
		}
		if _, err := n.Status(ctx, pod); !errors.Is(err, ErrNotFound) {
			t.Fatalf("round %d: Status after Teardown: %v, want %v", round, err, ErrNotFound)
		}
		// Teardown is idempotent.
		if err := n.Teardown(ctx, pod); err != nil {
			t.Fatalf("round %d: second Teardown: %v", round, err)
		}
	}
}

func TestTeardownAfterNetnsIsGone(t *testing.T) {
	cfg := testConfig(t, 24)
	n := newTestNetwork(t, cfg)
	ctx := context.Background()
	netns := newPodNetns(t)
	pod := podAt(netns, PortMapping{HostPort: 18082, ContainerPort: 8080})
	if _, err := n.Setup(ctx, pod); err != nil {
		t.Fatal(err)
	}
	deletePodNetns(t, netns)
	gone := pod
	gone.NetNS = "" // the runtime may no longer know it
	if err := n.Teardown(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if ips := ipamFiles(t, cfg); len(ips) != 0 {
		t.Errorf("host-local still holds %v", ips)
	}
	if strings.Contains(mustOutput(t, "iptables-save", "-t", "nat"), pod.UID) {
		t.Errorf("the pod's port mapping rules are still there")
	}
	// Its host port is free again.
	next := podAt(newPodNetns(t), PortMapping{HostPort: 18082, ContainerPort: 8080})
	if _, err := n.Setup(ctx, next); err != nil {
		t.Fatal(err)
	}
}

func TestSetupInNewNetnsReplacesOldAttachment(t *testing.T) {
	cfg := testConfig(t, 24)
	n := newTestNetwork(t, cfg)
	ctx := context.Background()
	pod := podAt(newPodNetns(t))
	if _, err := n.Setup(ctx, pod); err != nil {
		t.Fatal(err)
	}
	// The runtime recreated the sandbox: same pod, new namespace.
	pod.NetNS = newPodNetns(t)
	res, err := n.Setup(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	if ips := ipamFiles(t, cfg); !slices.Equal(ips, []string{res.IPs[0].String()}) {
		t.Errorf("host-local holds %v, want only %v", ips, res.IPs)
	}
	serve(t, pod.NetNS, "new", 8080)
	expectReply(t, "", hostPort(res.IPs[0], 8080), "new")
}

func TestHostPorts(t *testing.T) {
	cfg := testConfig(t, 24)
	n := newTestNetwork(t, cfg)
	ctx := context.Background()
	podA := podAt(newPodNetns(t), PortMapping{HostPort: 18080, ContainerPort: 8080})
	if _, err := n.Setup(ctx, podA); err != nil {
		t.Fatal(err)
	}
	serve(t, podA.NetNS, "a", 8080)
	gw := net.IP(cfg.gateway().AsSlice())

	// The node reaches the pod through the host port on its bridge
	// address (127.0.0.1 would need route_localnet, which stays off).
	expectReply(t, "", hostPort(gw, 18080), "a")
	// Hairpin: the pod reaches itself through its host port; portmap
	// masquerades, so it sees the bridge's address.
	if got := expectReply(t, podA.NetNS, hostPort(gw, 18080), "a"); !strings.Contains(got, gw.String()+":") {
		t.Errorf("hairpin connection seen as %q, want from %v", got, gw)
	}
	// Another pod reaches it too.
	podC := podAt(newPodNetns(t))
	if _, err := n.Setup(ctx, podC); err != nil {
		t.Fatal(err)
	}
	expectReply(t, podC.NetNS, hostPort(gw, 18080), "a")

	for _, tc := range []struct {
		name     string
		mapping  PortMapping
		conflict bool
	}{
		{"same port", PortMapping{HostPort: 18080, ContainerPort: 80}, true},
		{"same port explicit TCP", PortMapping{HostPort: 18080, ContainerPort: 80, Protocol: "TCP"}, true},
		{"same port on one address", PortMapping{HostPort: 18080, ContainerPort: 80, HostIP: gw.String()}, true},
		{"same port over UDP", PortMapping{HostPort: 18080, ContainerPort: 80, Protocol: "UDP"}, false},
		{"other port", PortMapping{HostPort: 18083, ContainerPort: 8080}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := podAt(newPodNetns(t), tc.mapping)
			_, err := n.Setup(ctx, pod)
			if tc.conflict {
				if !errors.Is(err, ErrHostPortConflict) || !strings.Contains(err.Error(), podA.String()) ||
					!strings.Contains(err.Error(), pod.String()) {
					t.Fatalf("Setup: %v; want %v naming both pods", err, ErrHostPortConflict)
				}
				if _, err := n.Status(ctx, pod); !errors.Is(err, ErrNotFound) {
					t.Errorf("the refused pod has a network: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Teardown(ctx, pod); err != nil {
				t.Fatal(err)
			}
		})
	}

	// Once pod a is gone, another pod may take its port.
	if err := n.Teardown(ctx, podA); err != nil {
		t.Fatal(err)
	}
	podB := podAt(newPodNetns(t), PortMapping{HostPort: 18080, ContainerPort: 9090})
	if _, err := n.Setup(ctx, podB); err != nil {
		t.Fatal(err)
	}
	serve(t, podB.NetNS, "b", 9090)
	expectReply(t, "", hostPort(gw, 18080), "b")
}

func TestCleanupNodeTearsDownPods(t *testing.T) {
	cfg := testConfig(t, 24)
	n := newTestNetwork(t, cfg) // its cleanup checks the node is as before
	ctx := context.Background()
	for _, port := range []int32{18090, 18091} {
		if _, err := n.Setup(ctx, podAt(newPodNetns(t), PortMapping{HostPort: port, ContainerPort: 80})); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.CleanupNode(ctx); err != nil {
		t.Fatal(err)
	}
	if ips := ipamFiles(t, cfg); len(ips) != 0 {
		t.Errorf("host-local still holds %v", ips)
	}
	if atts, err := n.cachedAttachments(""); err != nil || len(atts) != 0 {
		t.Errorf("CNI cache still holds %d attachments (%v)", len(atts), err)
	}
	for _, name := range []string{cfg.BridgeName, cfg.DummyDevice} {
		if _, err := netlink.LinkByName(name); err == nil {
			t.Errorf("%s is still there", name)
		}
	}
	for _, chain := range []string{natChain, portmapDNATChain, portmapMasqChain, portmapSetMarkChain} {
		if ok, err := chainExists(ctx, "nat", chain); ok || err != nil {
			t.Errorf("nat chain %s still there (%v)", chain, err)
		}
	}
	if ok, err := chainExists(ctx, "filter", filterChain); ok || err != nil {
		t.Errorf("filter chain %s still there (%v)", filterChain, err)
	}
}

func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip.To4())
	return a
}

func hostPort(ip net.IP, port int) string {
	return net.JoinHostPort(ip.String(), strconv.Itoa(port))
}

func sameResult(a, b Result) bool {
	return slices.EqualFunc(a.IPs, b.IPs, net.IP.Equal) && a.Gateway.Equal(b.Gateway) && a.Interface == b.Interface
}

// TestServiceTraffic plays the proxy's part with a DNAT rule for one
// ClusterIP and checks what the node setup must give it: a pod reaches
// a Service backed by a pod on the same bridge (bridge-nf-call-iptables),
// a pod reaches itself through its Service (hairpin mode and the proxy's
// masquerade mark), and the node reaches the ClusterIP (the route to the
// dummy device gives connect a route before the OUTPUT DNAT).
func TestServiceTraffic(t *testing.T) {
	cfg := testConfig(t, 24)
	n := newTestNetwork(t, cfg)
	ctx := context.Background()
	podA, podB := podAt(newPodNetns(t)), podAt(newPodNetns(t))
	resA, err := n.Setup(ctx, podA)
	if err != nil {
		t.Fatal(err)
	}
	resB, err := n.Setup(ctx, podB)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, podA.NetNS, "a", 8080)

	const clusterIP, svcChain, masqChain = "10.254.0.10", "GANTRY-TEST-SVC", "GANTRY-TEST-MASQ"
	t.Cleanup(func() {
		for _, c := range []string{svcChain, masqChain} {
			if err := deleteChain(ctx, "nat", c); err != nil {
				t.Error(err)
			}
		}
	})
	rules := strings.Join([]string{
		"*nat",
		":" + svcChain + " - [0:0]",
		":" + masqChain + " - [0:0]",
		"-A PREROUTING -j " + svcChain,
		"-A OUTPUT -j " + svcChain,
		"-A POSTROUTING -j " + masqChain,
		"-A " + svcChain + " -d " + clusterIP + "/32 -p tcp --dport 80 -s " + resA.IPs[0].String() + "/32 -j MARK --set-xmark 0x4000/0x4000",
		"-A " + svcChain + " -d " + clusterIP + "/32 -p tcp --dport 80 -j DNAT --to-destination " + hostPort(resA.IPs[0], 8080),
		"-A " + masqChain + " -m mark --mark 0x4000/0x4000 -j MASQUERADE",
		"COMMIT", "",
	}, "\n")
	if err := iptablesRestore(ctx, rules); err != nil {
		t.Fatal(err)
	}
	svc := net.JoinHostPort(clusterIP, "80")

	if got := expectReply(t, podB.NetNS, svc, "a"); !strings.Contains(got, resB.IPs[0].String()+":") {
		t.Errorf("Service backend saw %q, want pod b's address %v", got, resB.IPs[0])
	}
	gw := cfg.gateway().String()
	if got := expectReply(t, podA.NetNS, svc, "a"); !strings.Contains(got, gw+":") {
		t.Errorf("hairpin through the Service seen as %q, want from %v", got, gw)
	}
	expectReply(t, "", svc, "a")
}

func TestFailedSetupLeavesNothing(t *testing.T) {
	cfg := testConfig(t, 24)
	n := newTestNetwork(t, cfg)
	ctx := context.Background()
	pod := podAt("/run/netns/gantry-test-missing-"+randomHex(4), PortMapping{HostPort: 18084, ContainerPort: 80})
	_, err := n.Setup(ctx, pod)
	if err == nil || !strings.Contains(err.Error(), pod.String()) {
		t.Fatalf("Setup in a missing namespace: %v; want an error naming %s", err, pod)
	}
	if ips := ipamFiles(t, cfg); len(ips) != 0 {
		t.Errorf("host-local holds %v after a failed Setup", ips)
	}
	if _, err := n.Status(ctx, pod); !errors.Is(err, ErrNotFound) {
		t.Errorf("Status after a failed Setup: %v, want %v", err, ErrNotFound)
	}
	// The host port was given back.
	if _, err := n.Setup(ctx, podAt(newPodNetns(t), PortMapping{HostPort: 18084, ContainerPort: 80})); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentSetup(t *testing.T) {
	cfg := testConfig(t, 24)
	n := newTestNetwork(t, cfg)
	ctx := context.Background()
	pods := make([]PodNetwork, 6)
	for i := range pods {
		pods[i] = podAt(newPodNetns(t))
	}
	results := make([]Result, len(pods))
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, pod := range pods {
		wg.Go(func() { results[i], errs[i] = n.Setup(ctx, pod) })
		wg.Go(func() { _, _ = n.Setup(ctx, pod) }) // the same pod twice at once
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, res := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		ip := res.IPs[0].String()
		if seen[ip] {
			t.Errorf("%s given twice", ip)
		}
		seen[ip] = true
	}
	if ips := ipamFiles(t, cfg); len(ips) != len(pods) {
		t.Errorf("host-local holds %d addresses for %d pods: %v", len(ips), len(pods), ips)
	}
	for i, pod := range pods {
		wg.Go(func() { errs[i] = n.Teardown(ctx, pod) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if ips := ipamFiles(t, cfg); len(ips) != 0 {
		t.Errorf("host-local still holds %v", ips)
	}
}
