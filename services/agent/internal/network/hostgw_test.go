package network

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func TestPlanRoutes(t *testing.T) {
	cluster := netip.MustParsePrefix("10.244.0.0/16")
	own := netip.MustParsePrefix("10.244.0.0/24")
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	peer := func(name string, cidrs []string, ips ...string) PeerNode {
		return PeerNode{Name: name, Created: t0, PodCIDRs: cidrs, InternalIPs: ips}
	}
	route := func(node, cidr, ip string) NodeRoute {
		return NodeRoute{Node: node, PodCIDR: netip.MustParsePrefix(cidr), NodeIP: netip.MustParseAddr(ip)}
	}
	for _, tc := range []struct {
		name    string
		nodes   []PeerNode
		routes  []NodeRoute
		skipped []SkippedNode
	}{
		{name: "no nodes"},
		{
			name:  "self is left out",
			nodes: []PeerNode{peer("self", []string{"10.244.0.0/24"}, "192.168.1.1")},
		},
		{
			name: "one route per other node, sorted by name",
			nodes: []PeerNode{
				peer("self", []string{"10.244.0.0/24"}, "192.168.1.1"),
				peer("c", []string{"10.244.2.0/24"}, "192.168.1.3"),
				peer("b", []string{"10.244.1.0/24"}, "192.168.1.2"),
			},
			routes: []NodeRoute{route("b", "10.244.1.0/24", "192.168.1.2"), route("c", "10.244.2.0/24", "192.168.1.3")},
		},
		{
			name:   "dual stack: the IPv4 CIDR and address",
			nodes:  []PeerNode{peer("b", []string{"fd00:10:244:1::/64", "10.244.1.0/24"}, "fd00::2", "192.168.1.2")},
			routes: []NodeRoute{route("b", "10.244.1.0/24", "192.168.1.2")},
		},
		{
			name:    "no pod CIDR yet",
			nodes:   []PeerNode{peer("b", nil, "192.168.1.2")},
			skipped: []SkippedNode{{Node: "b", Reason: "the node has no pod CIDR yet", Pending: true}},
		},
		{
			name:    "no address yet",
			nodes:   []PeerNode{peer("b", []string{"10.244.1.0/24"})},
			skipped: []SkippedNode{{Node: "b", Reason: "the node has no IPv4 InternalIP", Pending: true}},
		},
		{
			name:    "only IPv6",
			nodes:   []PeerNode{peer("b", []string{"fd00:10:244:1::/64"}, "fd00::2")},
			skipped: []SkippedNode{{Node: "b", Reason: "no IPv4 pod CIDR in [fd00:10:244:1::/64] (only IPv4 is supported)"}},
		},
		{
			name:    "garbage CIDR",
			nodes:   []PeerNode{peer("b", []string{"10.244.1.0"}, "192.168.1.2")},
			skipped: []SkippedNode{{Node: "b", Reason: `pod CIDR "10.244.1.0" is invalid`}},
		},
		{
			name:    "host bits",
			nodes:   []PeerNode{peer("b", []string{"10.244.1.7/24"}, "192.168.1.2")},
			skipped: []SkippedNode{{Node: "b", Reason: "pod CIDR 10.244.1.7/24 has host bits set"}},
		},
		{
			name: "outside the cluster CIDR, incl. the default route",
			nodes: []PeerNode{
				peer("b", []string{"0.0.0.0/0"}, "192.168.1.2"),
				peer("c", []string{"10.0.0.0/8"}, "192.168.1.3"),
				peer("d", []string{"10.245.0.0/24"}, "192.168.1.4"),
			},
			skipped: []SkippedNode{
				{Node: "b", Reason: "pod CIDR 0.0.0.0/0 is outside the cluster CIDR 10.244.0.0/16"},
				{Node: "c", Reason: "pod CIDR 10.0.0.0/8 is outside the cluster CIDR 10.244.0.0/16"},
				{Node: "d", Reason: "pod CIDR 10.245.0.0/24 is outside the cluster CIDR 10.244.0.0/16"},
			},
		},
		{
			name: "overlapping this node's",
			nodes: []PeerNode{
				peer("b", []string{"10.244.0.0/24"}, "192.168.1.2"),
				peer("c", []string{"10.244.0.128/25"}, "192.168.1.3"),
			},
			skipped: []SkippedNode{
				{Node: "b", Reason: "pod CIDR 10.244.0.0/24 overlaps this node's pod CIDR 10.244.0.0/24"},
				{Node: "c", Reason: "pod CIDR 10.244.0.128/25 overlaps this node's pod CIDR 10.244.0.0/24"},
			},
		},
		{
			name: "overlapping another node's: the older node keeps its route",
			nodes: []PeerNode{
				{Name: "a-new", Created: t0.Add(time.Hour), PodCIDRs: []string{"10.244.1.0/24"}, InternalIPs: []string{"192.168.1.2"}},
				{Name: "z-old", Created: t0, PodCIDRs: []string{"10.244.0.0/23"}, InternalIPs: []string{"192.168.1.3"}},
				// Own is 10.244.0.0/24: z-old overlaps it too.
			},
			skipped: []SkippedNode{
				{Node: "z-old", Reason: "pod CIDR 10.244.0.0/23 overlaps this node's pod CIDR 10.244.0.0/24"},
			},
			routes: []NodeRoute{route("a-new", "10.244.1.0/24", "192.168.1.2")},
		},
		{
			name: "same CIDR on two nodes",
			nodes: []PeerNode{
				{Name: "b", Created: t0.Add(time.Minute), PodCIDRs: []string{"10.244.5.0/24"}, InternalIPs: []string{"192.168.1.2"}},
				{Name: "c", Created: t0, PodCIDRs: []string{"10.244.5.0/24"}, InternalIPs: []string{"192.168.1.3"}},
			},
			routes:  []NodeRoute{route("c", "10.244.5.0/24", "192.168.1.3")},
			skipped: []SkippedNode{{Node: "b", Reason: "pod CIDR 10.244.5.0/24 overlaps node c's pod CIDR 10.244.5.0/24"}},
		},
		{
			name: "unusable node IPs",
			nodes: []PeerNode{
				peer("b", []string{"10.244.1.0/24"}, "127.0.0.1"),
				peer("c", []string{"10.244.2.0/24"}, "10.244.9.9"),
				peer("d", []string{"10.244.3.0/24"}, "0.0.0.0"),
				peer("e", []string{"10.244.4.0/24"}, "not-an-ip"),
			},
			skipped: []SkippedNode{
				{Node: "b", Reason: "node IP 127.0.0.1 cannot be a gateway"},
				{Node: "c", Reason: "node IP 10.244.9.9 is inside the cluster CIDR 10.244.0.0/16"},
				{Node: "d", Reason: "node IP 0.0.0.0 cannot be a gateway"},
				{Node: "e", Reason: "the node has no IPv4 InternalIP", Pending: true},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanRoutes("self", own, cluster, tc.nodes)
			if !reflect.DeepEqual(got.Routes, tc.routes) {
				t.Errorf("routes:\n got %v\nwant %v", got.Routes, tc.routes)
			}
			if !reflect.DeepEqual(got.Skipped, tc.skipped) {
				t.Errorf("skipped:\n got %+v\nwant %+v", got.Skipped, tc.skipped)
			}
		})
	}
}

func TestDiffRoutes(t *testing.T) {
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	want := func(cidr, gw string, link int) wantedRoute {
		return wantedRoute{NodeRoute: NodeRoute{Node: "n-" + cidr, PodCIDR: p(cidr), NodeIP: a(gw)}, LinkIndex: link}
	}
	have := func(cidr, gw string, link int) installedRoute {
		return installedRoute{Dst: p(cidr), Gw: a(gw), LinkIndex: link}
	}
	for _, tc := range []struct {
		name      string
		installed []installedRoute
		wanted    []wantedRoute
		replace   []wantedRoute
		del       []netip.Prefix
	}{
		{name: "nothing"},
		{
			name:    "new routes",
			wanted:  []wantedRoute{want("10.244.1.0/24", "192.168.1.2", 2)},
			replace: []wantedRoute{want("10.244.1.0/24", "192.168.1.2", 2)},
		},
		{
			name:      "up to date",
			installed: []installedRoute{have("10.244.1.0/24", "192.168.1.2", 2)},
			wanted:    []wantedRoute{want("10.244.1.0/24", "192.168.1.2", 2)},
		},
		{
			name:      "node IP changed",
			installed: []installedRoute{have("10.244.1.0/24", "192.168.1.2", 2)},
			wanted:    []wantedRoute{want("10.244.1.0/24", "192.168.1.9", 2)},
			replace:   []wantedRoute{want("10.244.1.0/24", "192.168.1.9", 2)},
		},
		{
			name:      "device changed",
			installed: []installedRoute{have("10.244.1.0/24", "192.168.1.2", 2)},
			wanted:    []wantedRoute{want("10.244.1.0/24", "192.168.1.2", 3)},
			replace:   []wantedRoute{want("10.244.1.0/24", "192.168.1.2", 3)},
		},
		{
			name: "nodes gone (or stale after a restart)",
			installed: []installedRoute{
				have("10.244.3.0/24", "192.168.1.4", 2),
				have("10.244.1.0/24", "192.168.1.2", 2),
				have("10.244.2.0/24", "192.168.1.3", 2),
			},
			wanted: []wantedRoute{want("10.244.2.0/24", "192.168.1.3", 2)},
			del:    []netip.Prefix{p("10.244.1.0/24"), p("10.244.3.0/24")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := diffRoutes(tc.installed, tc.wanted)
			if !reflect.DeepEqual(got.Replace, tc.replace) {
				t.Errorf("replace:\n got %v\nwant %v", got.Replace, tc.replace)
			}
			if !reflect.DeepEqual(got.Delete, tc.del) {
				t.Errorf("delete: got %v, want %v", got.Delete, tc.del)
			}
		})
	}
}
