package network

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHostGatewayRoutes plays a second node in a namespace of its own,
// linked to the node by a veth pair (the nodes' shared network): it has
// the address 10.77.0.2 and "hosts" the pod address 10.255.200.7 of the
// pod CIDR 10.255.200.0/24. A pod of this node reaches it through the
// host-gw route, unmasqueraded, even with the FORWARD policy DROP.
func TestHostGatewayRoutes(t *testing.T) {
	cfg := testConfig(t, 24)
	n := newTestNetwork(t, cfg)
	ctx := context.Background()

	peer := newPodNetns(t)
	peerName := filepath.Base(peer)
	link := "gtv" + randomHex(3)
	mustRun(t, "ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", peerName)
	t.Cleanup(func() { _ = run("ip", "link", "del", link) })
	mustRun(t, "ip", "addr", "add", "10.77.0.1/24", "dev", link)
	mustRun(t, "ip", "link", "set", link, "up")
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "add", "10.77.0.2/24", "dev", "eth0"},
		{"link", "set", "eth0", "up"},
		{"addr", "add", "10.255.200.7/32", "dev", "lo"},
		{"route", "add", testClusterCIDR.String(), "via", "10.77.0.1"},
	} {
		mustRun(t, "ip", append([]string{"-n", peerName}, args...)...)
	}
	serve(t, peer, "remote", 8080)

	peerCIDR := netip.MustParsePrefix("10.255.200.0/24")
	toPeer := NodeRoute{Node: "peer", PodCIDR: peerCIDR, NodeIP: netip.MustParseAddr("10.77.0.2")}
	// A route a previous run left for a node that is gone.
	mustRun(t, "ip", "route", "add", "10.255.203.0/24", "via", "10.77.0.2", "proto", strconv.Itoa(RouteProtocol))
	skipped, err := n.SyncRoutes(ctx, []NodeRoute{toPeer})
	if err != nil || len(skipped) != 0 {
		t.Fatalf("SyncRoutes: skipped %v, err %v", skipped, err)
	}
	expectHostRoutes(t, n, toPeer)
	if out := mustOutput(t, "ip", "route", "show", "proto", strconv.Itoa(RouteProtocol)); !strings.Contains(out, "10.255.200.0/24 via 10.77.0.2 dev "+link) {
		t.Errorf("ip route show proto %d:\n%s", RouteProtocol, out)
	}

	pod := podAt(newPodNetns(t))
	res, err := n.Setup(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	// Pod to the other node's pod: routed, forwarded, not masqueraded.
	if got := expectReply(t, pod.NetNS, "10.255.200.7:8080", "remote"); !strings.Contains(got, " "+res.IPs[0].String()+":") {
		t.Errorf("the other node's pod saw %q, want the pod's own address %v", got, res.IPs[0])
	}
	// A pod CIDR of no node still dies on the node.
	if _, err := dial(pod.NetNS, "10.255.201.1:80"); !errors.Is(err, unix.EHOSTUNREACH) {
		t.Errorf("dial an unassigned pod CIDR: %v, want %v", err, unix.EHOSTUNREACH)
	}

	// Routes that cannot be host-gw routes are reported, not installed.
	mustRun(t, "ip", "route", "add", "10.88.0.0/24", "via", "10.77.0.2")
	mustRun(t, "ip", "route", "add", "10.255.202.0/24", "via", "10.77.0.2")
	bad := []struct {
		route  NodeRoute
		reason string
	}{
		{NodeRoute{Node: "behind-router", PodCIDR: netip.MustParsePrefix("10.255.210.0/24"), NodeIP: netip.MustParseAddr("10.88.0.5")},
			"is not on a directly connected network"},
		{NodeRoute{Node: "own-address", PodCIDR: netip.MustParsePrefix("10.255.211.0/24"), NodeIP: netip.MustParseAddr("10.77.0.1")},
			"is an address of this node"},
		{NodeRoute{Node: "nowhere", PodCIDR: netip.MustParsePrefix("10.255.212.0/24"), NodeIP: netip.MustParseAddr("10.99.0.1")},
			"unreachable"},
		{NodeRoute{Node: "foreign", PodCIDR: netip.MustParsePrefix("10.255.202.0/24"), NodeIP: netip.MustParseAddr("10.77.0.2")},
			"not made by gantry-agent"},
	}
	want := []NodeRoute{toPeer}
	for _, b := range bad {
		want = append(want, b.route)
	}
	skipped, err = n.SyncRoutes(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != len(bad) {
		t.Fatalf("skipped %+v, want %d", skipped, len(bad))
	}
	for i, b := range bad {
		if skipped[i].Node != b.route.Node || !strings.Contains(skipped[i].Reason, b.reason) {
			t.Errorf("skipped %+v, want node %s with a reason containing %q", skipped[i], b.route.Node, b.reason)
		}
	}
	expectHostRoutes(t, n, toPeer)

	// The node's address changes: the route follows.
	moved := toPeer
	moved.NodeIP = netip.MustParseAddr("10.77.0.3")
	if _, err := n.SyncRoutes(ctx, []NodeRoute{moved}); err != nil {
		t.Fatal(err)
	}
	expectHostRoutes(t, n, moved)
	// The node is gone.
	if _, err := n.SyncRoutes(ctx, nil); err != nil {
		t.Fatal(err)
	}
	expectHostRoutes(t, n)

	// CleanupNode removes the routes (and leaves the foreign one).
	if _, err := n.SyncRoutes(ctx, []NodeRoute{toPeer}); err != nil {
		t.Fatal(err)
	}
	if err := n.CleanupNode(ctx); err != nil {
		t.Fatal(err)
	}
	expectHostRoutes(t, n)
	if out := mustOutput(t, "ip", "route", "show", "10.255.202.0/24"); !strings.Contains(out, "via 10.77.0.2") {
		t.Errorf("CleanupNode removed a route it did not make: %q", out)
	}
}

func expectHostRoutes(t *testing.T, n *Network, want ...NodeRoute) {
	t.Helper()
	got, err := n.HostRoutes()
	if err != nil {
		t.Fatal(err)
	}
	var g, w []string
	for _, r := range got {
		g = append(g, r.String())
	}
	for _, r := range want {
		w = append(w, r.String())
	}
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("host-gw routes %v, want %v", g, w)
	}
}
