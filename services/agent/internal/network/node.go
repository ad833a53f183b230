package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// SetupNode prepares the host for pods; see the package documentation.
// It is idempotent and safe to call on every agent start.
func (n *Network) SetupNode(ctx context.Context) error {
	start := time.Now()
	steps := []struct {
		name string
		do   func(context.Context) error
	}{
		{"write CNI conflist", n.writeConfList},
		{"enable bridge netfilter and forwarding", n.setupSysctls},
		{"route cluster CIDR to unreachable", n.setupClusterRoute},
		{"route service CIDR to dummy device", n.setupServiceRoute},
		{"install iptables rules", n.setupIPTables},
	}
	for _, s := range steps {
		if err := s.do(ctx); err != nil {
			return fmt.Errorf("set up node network: %s: %w", s.name, err)
		}
	}
	n.log.Info("node network set up", "bridge", n.cfg.BridgeName, "podCIDR", n.cfg.PodCIDR,
		"clusterCIDR", n.cfg.ClusterCIDR, "serviceCIDR", n.cfg.ServiceCIDR, "nodeIP", n.cfg.NodeIP,
		"duration", time.Since(start))
	return nil
}

// CleanupNode removes what SetupNode and the pods' CNI ADDs made: it
// tears down every pod still in the CNI cache, then removes the iptables
// chains, the host-gw routes, the other routes, dummy device, bridge, conflist and IPAM state. It goes
// on after a failed step and returns all errors. The sysctls stay.
func (n *Network) CleanupNode(ctx context.Context) error {
	var errs []error
	atts, err := n.cachedAttachments("")
	errs = append(errs, err)
	for _, a := range atts {
		pod, _, _ := attachmentPod(a)
		unlock := n.locks.Lock(pod.UID)
		err := n.delAttachment(ctx, a)
		unlock()
		if err != nil {
			errs = append(errs, pod.wrap("tear down", err))
			continue
		}
		n.ports.release(pod.UID)
		n.log.Info("pod network torn down with the node", "pod", pod, "uid", pod.UID)
	}
	errs = append(errs,
		n.cleanupIPTables(ctx),
		n.cleanupHostRoutes(),
		ignoreNotExist(netlink.RouteDel(n.clusterRoute())),
		n.deleteLink(n.cfg.DummyDevice, sinkTypes...),
		n.deleteLink(n.cfg.BridgeName, "bridge"),
		ignoreNotExist(os.Remove(n.cfg.confPath())),
		os.RemoveAll(n.cfg.ipamDir()),
	)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean up node network: %w", err)
	}
	n.log.Info("node network cleaned up", "bridge", n.cfg.BridgeName, "pods", len(atts))
	return nil
}

// writeConfList writes the conflist atomically, and only if it changed.
func (n *Network) writeConfList(context.Context) error {
	path := n.cfg.confPath()
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, n.conf) {
		return nil
	}
	if err := os.MkdirAll(n.cfg.ConfDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(n.cfg.ConfDir, "."+ConfFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(n.conf); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	n.log.Info("wrote CNI conflist", "path", path)
	return nil
}

// setupSysctls makes bridged traffic pass iptables (Service DNAT between
// pods of one node) and lets the node forward pod traffic.
func (n *Network) setupSysctls(ctx context.Context) error {
	const bridgeNF = "net/bridge/bridge-nf-call-iptables"
	if _, err := os.Stat(sysctlPath(bridgeNF)); errors.Is(err, os.ErrNotExist) {
		out, err := exec.CommandContext(ctx, "modprobe", "br_netfilter").CombinedOutput()
		if err != nil {
			return fmt.Errorf("load br_netfilter: %w: %s", err, strings.TrimSpace(string(out)))
		}
		n.log.Info("loaded kernel module", "module", "br_netfilter")
	}
	for _, key := range []string{bridgeNF, "net/ipv4/ip_forward"} {
		if err := n.setSysctl(key, "1"); err != nil {
			return err
		}
	}
	return nil
}

func sysctlPath(key string) string { return filepath.Join("/proc/sys", key) }

func (n *Network) setSysctl(key, value string) error {
	path := sysctlPath(key)
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(old)) == value {
		return nil
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return err
	}
	n.log.Info("set sysctl", "key", strings.ReplaceAll(key, "/", "."), "value", value)
	return nil
}

// clusterRoute is the catch-all for the cluster CIDR: packets for pod
// addresses that no more specific route (this node's bridge, other
// nodes' pod CIDRs) claims are refused here rather than sent to the
// default gateway.
func (n *Network) clusterRoute() *netlink.Route {
	return &netlink.Route{Dst: ipNet(n.cfg.ClusterCIDR), Type: unix.RTN_UNREACHABLE, Table: unix.RT_TABLE_MAIN}
}

func (n *Network) setupClusterRoute(context.Context) error {
	return netlink.RouteReplace(n.clusterRoute())
}

// setupServiceRoute creates the dummy device and routes the service CIDR
// to it: packets for unmapped ClusterIPs are dropped there.
func (n *Network) setupServiceRoute(context.Context) error {
	link, err := n.ensureSinkDevice()
	if err != nil {
		return err
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return err
	}
	return netlink.RouteReplace(&netlink.Route{
		LinkIndex: link.Attrs().Index,
		Dst:       ipNet(n.cfg.ServiceCIDR),
		Scope:     netlink.SCOPE_LINK,
	})
}

// sinkTypes are the device types that discard what is routed to them,
// in order of preference: kernels built without the dummy driver
// (CONFIG_DUMMY) get an ifb device, which drops every packet not
// redirected to it by tc, and needs no ARP either.
var sinkTypes = []string{"dummy", "ifb"}

// ensureSinkDevice returns Config.DummyDevice, creating it if needed.
func (n *Network) ensureSinkDevice() (netlink.Link, error) {
	name := n.cfg.DummyDevice
	link, err := netlink.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if err == nil {
		if !slices.Contains(sinkTypes, link.Type()) {
			return nil, fmt.Errorf("%s exists and is a %s device, not a dummy", name, link.Type())
		}
		return link, nil
	}
	if !errors.As(err, &notFound) {
		return nil, err
	}
	attrs := netlink.LinkAttrs{Name: name}
	for _, dev := range []netlink.Link{&netlink.Dummy{LinkAttrs: attrs}, &netlink.Ifb{LinkAttrs: attrs}} {
		err = netlink.LinkAdd(dev)
		if err == nil || errors.Is(err, unix.EEXIST) {
			if dev.Type() != sinkTypes[0] {
				n.log.Info("the kernel has no dummy device driver; using an ifb device instead", "device", name)
			}
			return netlink.LinkByName(name)
		}
		if !errors.Is(err, unix.EOPNOTSUPP) {
			break
		}
	}
	return nil, fmt.Errorf("create %s: %w", name, err)
}

// deleteLink removes the named device if it exists and is of one of the
// types this package makes.
func (n *Network) deleteLink(name string, types ...string) error {
	link, err := netlink.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !slices.Contains(types, link.Type()) {
		return fmt.Errorf("%s is a %s device, not a %s: left alone", name, link.Type(), strings.Join(types, " or "))
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

func ignoreNotExist(err error) error {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
