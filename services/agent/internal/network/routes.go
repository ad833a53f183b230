package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// SyncRoutes makes the node's host-gw routes (main table, protocol
// RouteProtocol) exactly routes: it adds or replaces the missing and
// changed ones and removes the others, including routes a previous run
// of the agent left for nodes that are gone. A route whose node IP is not
// on a directly connected network (host-gw needs the nodes on one link),
// is one of this node's own addresses, or whose pod CIDR already has a
// route the agent did not make, is not installed: it is returned with the
// reason. Errors of single routes do not stop the others.
func (n *Network) SyncRoutes(ctx context.Context, routes []NodeRoute) ([]SkippedNode, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	installed, err := n.hostRoutes()
	if err != nil {
		return nil, err
	}
	ours := make(map[netip.Prefix]bool, len(installed))
	for _, r := range installed {
		ours[r.Dst] = true
	}
	var (
		wanted  []wantedRoute
		skipped []SkippedNode
	)
	for _, r := range routes {
		link, reason, err := n.directLink(r.NodeIP)
		if err == nil && reason == "" && !ours[r.PodCIDR] {
			reason, err = foreignRoute(r.PodCIDR)
		}
		if err != nil {
			return nil, fmt.Errorf("route to %s (node %s): %w", r, r.Node, err)
		}
		if reason != "" {
			skipped = append(skipped, SkippedNode{Node: r.Node, Reason: reason})
			continue
		}
		wanted = append(wanted, wantedRoute{NodeRoute: r, LinkIndex: link})
	}
	ch := diffRoutes(installed, wanted)
	var errs []error
	for _, w := range ch.Replace {
		err := netlink.RouteReplace(&netlink.Route{
			Dst: ipNet(w.PodCIDR), Gw: net.IP(w.NodeIP.AsSlice()), LinkIndex: w.LinkIndex,
			Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN, Scope: netlink.SCOPE_UNIVERSE,
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("install route %s (node %s): %w", w, w.Node, err))
			continue
		}
		n.log.Info("installed host-gw route", "node", w.Node, "podCIDR", w.PodCIDR, "nodeIP", w.NodeIP)
	}
	for _, dst := range ch.Delete {
		if err := n.deleteHostRoute(dst); err != nil {
			errs = append(errs, err)
			continue
		}
		n.log.Info("removed host-gw route", "podCIDR", dst)
	}
	return skipped, errors.Join(errs...)
}

// HostRoutes lists the host-gw routes installed (for tests and status).
func (n *Network) HostRoutes() ([]NodeRoute, error) {
	installed, err := n.hostRoutes()
	if err != nil {
		return nil, err
	}
	out := make([]NodeRoute, 0, len(installed))
	for _, r := range installed {
		out = append(out, NodeRoute{PodCIDR: r.Dst, NodeIP: r.Gw})
	}
	return out, nil
}

// hostRoutes lists the IPv4 routes of the main table tagged with
// RouteProtocol.
func (n *Network) hostRoutes() ([]installedRoute, error) {
	rs, err := netlink.RouteListFiltered(netlink.FAMILY_V4,
		&netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list host-gw routes: %w", err)
	}
	out := make([]installedRoute, 0, len(rs))
	for _, r := range rs {
		if r.Dst == nil {
			continue
		}
		dst, ok := prefixOf(r.Dst)
		if !ok {
			continue
		}
		gw, _ := netip.AddrFromSlice(r.Gw.To4())
		out = append(out, installedRoute{Dst: dst, Gw: gw, LinkIndex: r.LinkIndex})
	}
	return out, nil
}

func (n *Network) deleteHostRoute(dst netip.Prefix) error {
	err := netlink.RouteDel(&netlink.Route{Dst: ipNet(dst), Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN})
	if err = ignoreNotExist(err); err != nil {
		return fmt.Errorf("remove route %s: %w", dst, err)
	}
	return nil
}

// cleanupHostRoutes removes every host-gw route.
func (n *Network) cleanupHostRoutes() error {
	installed, err := n.hostRoutes()
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range installed {
		errs = append(errs, n.deleteHostRoute(r.Dst))
	}
	return errors.Join(errs...)
}

// directLink returns the device through which ip is directly reachable,
// or why it is not: the kernel's route to it goes through a gateway, or
// it is one of this node's own addresses.
func (n *Network) directLink(ip netip.Addr) (int, string, error) {
	rs, err := netlink.RouteGet(net.IP(ip.AsSlice()))
	switch {
	case errors.Is(err, unix.ENETUNREACH) || errors.Is(err, unix.EHOSTUNREACH):
		return 0, fmt.Sprintf("node IP %s is unreachable from this node", ip), nil
	case err != nil:
		return 0, "", fmt.Errorf("look up the route to %s: %w", ip, err)
	case len(rs) == 0:
		return 0, fmt.Sprintf("node IP %s is unreachable from this node", ip), nil
	}
	r := rs[0]
	switch {
	case r.Type == unix.RTN_LOCAL:
		return 0, fmt.Sprintf("node IP %s is an address of this node", ip), nil
	case r.Type != unix.RTN_UNICAST || r.LinkIndex == 0:
		return 0, fmt.Sprintf("node IP %s is unreachable from this node", ip), nil
	case r.Gw != nil:
		return 0, fmt.Sprintf("node IP %s is not on a directly connected network (reached via %s): host-gw needs the nodes on one link", ip, r.Gw), nil
	}
	return r.LinkIndex, "", nil
}

// foreignRoute reports a route for exactly dst in the main table that
// the agent did not make (an administrator's, another network plugin's,
// or this node's bridge route): the agent does not replace it.
func foreignRoute(dst netip.Prefix) (string, error) {
	rs, err := netlink.RouteListFiltered(netlink.FAMILY_V4,
		&netlink.Route{Dst: ipNet(dst), Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	if err != nil {
		return "", fmt.Errorf("list routes to %s: %w", dst, err)
	}
	for _, r := range rs {
		if r.Protocol != RouteProtocol {
			return fmt.Sprintf("a route to %s not made by gantry-agent exists (%s)", dst, r), nil
		}
	}
	return "", nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	addr, ok := netip.AddrFromSlice(n.IP.To4())
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(addr, ones), true
}
