package network

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// RouteProtocol is the routing protocol number ("proto 158" in ip route)
// of the host-gw routes: the agent lists, replaces and removes exactly
// the routes of the main table that carry it, and no others. It is not
// one of the numbers iproute2 names (/etc/iproute2/rt_protos).
const RouteProtocol = 158

// PeerNode is what the host-gw plan needs to know of a Node.
type PeerNode struct {
	Name    string
	Created time.Time
	// PodCIDRs is spec.podCIDRs, or spec.podCIDR when that is empty.
	PodCIDRs []string
	// InternalIPs are the node's InternalIP addresses, in status order.
	InternalIPs []string
}

// NodeRoute is a host-gw route: another node's pod CIDR via that node's
// address.
type NodeRoute struct {
	Node    string
	PodCIDR netip.Prefix
	NodeIP  netip.Addr
}

func (r NodeRoute) String() string { return r.PodCIDR.String() + " via " + r.NodeIP.String() }

// SkippedNode is a node that gets no route, and why.
type SkippedNode struct {
	Node   string
	Reason string
	// Pending is true when the node is only not ready yet (no pod CIDR or
	// no address), not misconfigured.
	Pending bool
}

// RoutePlan is the outcome of PlanRoutes.
type RoutePlan struct {
	Routes  []NodeRoute   // sorted by node name
	Skipped []SkippedNode // sorted by node name
}

// PlanRoutes decides the host-gw routes of node self: one per other node
// with an IPv4 pod CIDR inside cluster and an IPv4 InternalIP. A pod
// CIDR outside the cluster CIDR is refused (a Node must not be able to
// take over the default route), as is one overlapping own (this node's
// pod CIDR, which stays on the bridge) or an earlier node's (nodes
// ordered by creation time, then name: the older node keeps its route).
func PlanRoutes(self string, own, cluster netip.Prefix, nodes []PeerNode) RoutePlan {
	peers := slices.Clone(nodes)
	slices.SortFunc(peers, func(a, b PeerNode) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	var plan RoutePlan
	for _, p := range peers {
		if p.Name == self {
			continue
		}
		r, skip := planRoute(p, own, cluster, plan.Routes)
		if skip != nil {
			plan.Skipped = append(plan.Skipped, *skip)
			continue
		}
		plan.Routes = append(plan.Routes, r)
	}
	slices.SortFunc(plan.Routes, func(a, b NodeRoute) int { return cmp.Compare(a.Node, b.Node) })
	slices.SortFunc(plan.Skipped, func(a, b SkippedNode) int { return cmp.Compare(a.Node, b.Node) })
	return plan
}

func planRoute(p PeerNode, own, cluster netip.Prefix, taken []NodeRoute) (NodeRoute, *SkippedNode) {
	skip := func(pending bool, format string, args ...any) (NodeRoute, *SkippedNode) {
		return NodeRoute{}, &SkippedNode{Node: p.Name, Reason: fmt.Sprintf(format, args...), Pending: pending}
	}
	if len(p.PodCIDRs) == 0 {
		return skip(true, "the node has no pod CIDR yet")
	}
	cidr, err := firstIPv4Prefix(p.PodCIDRs)
	if err != nil {
		return skip(false, "%v", err)
	}
	switch {
	case cidr != cidr.Masked():
		return skip(false, "pod CIDR %s has host bits set", cidr)
	case !cluster.Contains(cidr.Addr()) || cidr.Bits() < cluster.Bits():
		return skip(false, "pod CIDR %s is outside the cluster CIDR %s", cidr, cluster)
	case own.IsValid() && cidr.Overlaps(own):
		return skip(false, "pod CIDR %s overlaps this node's pod CIDR %s", cidr, own)
	}
	for _, t := range taken {
		if cidr.Overlaps(t.PodCIDR) {
			return skip(false, "pod CIDR %s overlaps node %s's pod CIDR %s", cidr, t.Node, t.PodCIDR)
		}
	}
	ip, ok := firstIPv4Addr(p.InternalIPs)
	switch {
	case !ok:
		return skip(true, "the node has no IPv4 InternalIP")
	case ip.IsLoopback() || ip.IsUnspecified() || ip.IsMulticast() || ip.IsLinkLocalUnicast():
		return skip(false, "node IP %s cannot be a gateway", ip)
	case cluster.Contains(ip):
		return skip(false, "node IP %s is inside the cluster CIDR %s", ip, cluster)
	}
	return NodeRoute{Node: p.Name, PodCIDR: cidr, NodeIP: ip}, nil
}

// firstIPv4Prefix returns the first IPv4 prefix of cidrs (dual-stack
// nodes list one per family).
func firstIPv4Prefix(cidrs []string) (netip.Prefix, error) {
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("pod CIDR %q is invalid", s)
		}
		if p.Addr().Is4() {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no IPv4 pod CIDR in %v (only IPv4 is supported)", cidrs)
}

func firstIPv4Addr(addrs []string) (netip.Addr, bool) {
	for _, s := range addrs {
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// installedRoute is a host-gw route as the kernel has it.
type installedRoute struct {
	Dst       netip.Prefix
	Gw        netip.Addr
	LinkIndex int
}

// routeChanges is what turns the installed routes into the wanted ones.
type routeChanges struct {
	Replace []wantedRoute  // missing, or with another gateway or device
	Delete  []netip.Prefix // ours, for no node any more
}

// wantedRoute is a route to install, with the device its gateway is on.
type wantedRoute struct {
	NodeRoute
	LinkIndex int
}

// diffRoutes compares the wanted host-gw routes with the installed ones.
func diffRoutes(installed []installedRoute, wanted []wantedRoute) routeChanges {
	have := make(map[netip.Prefix]installedRoute, len(installed))
	for _, r := range installed {
		have[r.Dst] = r
	}
	var ch routeChanges
	want := make(map[netip.Prefix]bool, len(wanted))
	for _, w := range wanted {
		want[w.PodCIDR] = true
		if h, ok := have[w.PodCIDR]; ok && h.Gw == w.NodeIP && h.LinkIndex == w.LinkIndex {
			continue
		}
		ch.Replace = append(ch.Replace, w)
	}
	for _, r := range installed {
		if !want[r.Dst] {
			ch.Delete = append(ch.Delete, r.Dst)
		}
	}
	slices.SortFunc(ch.Delete, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return ch
}
