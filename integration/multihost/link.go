package multihost

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/integration/cluster"
)

// lan is the hosts' shared link: a bridge in a namespace of its own, a
// veth to each host and one to the root namespace.
type lan struct {
	id      string
	netns   string // the bridge's namespace
	rootDev string // the root namespace's veth
	subnet  netip.Prefix
	rootIP  netip.Addr
	hosts   []string // the hosts' namespaces, created by addHost
}

// pickSubnet returns a /24 of 10.123.0.0/16 that no address or route of
// the root namespace touches.
func pickSubnet() (netip.Prefix, error) {
	addrs, err := run(context.Background(), "ip", "-4", "-o", "addr", "show")
	if err != nil {
		return netip.Prefix{}, err
	}
	routes, err := run(context.Background(), "ip", "-4", "route", "show", "table", "all")
	if err != nil {
		return netip.Prefix{}, err
	}
	for range 50 {
		x := 1 + rand.IntN(254)
		prefix := fmt.Sprintf("10.123.%d.", x)
		if !strings.Contains(addrs, prefix) && !strings.Contains(routes, prefix) &&
			!strings.Contains(routes, "10.123.0.0/16") {
			return netip.MustParsePrefix(prefix + "0/24"), nil
		}
	}
	return netip.Prefix{}, errors.New("no free /24 in 10.123.0.0/16")
}

// newLAN creates the bridge namespace and the root namespace's port.
func newLAN(ctx context.Context, id string) (*lan, error) {
	subnet, err := pickSubnet()
	if err != nil {
		return nil, err
	}
	l := &lan{id: id, netns: "gmh-" + id + "-lan", rootDev: "gmh" + id, subnet: subnet, rootIP: hostAddr(subnet, 254)}
	steps := [][]string{
		{"ip", "netns", "add", l.netns},
		{"ip", "-n", l.netns, "link", "add", "br0", "type", "bridge"},
		{"ip", "-n", l.netns, "link", "set", "br0", "up"},
		{"ip", "link", "add", l.rootDev, "type", "veth", "peer", "name", l.rootDev + "p"},
		{"ip", "link", "set", l.rootDev + "p", "netns", l.netns},
		{"ip", "-n", l.netns, "link", "set", l.rootDev + "p", "master", "br0", "up"},
		{"ip", "addr", "add", prefixOf(l.rootIP, subnet), "dev", l.rootDev},
		{"ip", "link", "set", l.rootDev, "up"},
	}
	for _, s := range steps {
		if _, err := run(ctx, s...); err != nil {
			return l, err
		}
	}
	return l, nil
}

// addHost creates m's namespace (m.Netns), plugged into the bridge with
// address .<n> of the subnet on its eth0, and sets m.IP.
func (l *lan) addHost(ctx context.Context, m *Machine, n int) error {
	name := m.Netns
	ip := hostAddr(l.subnet, n)
	m.IP = ip
	dev := fmt.Sprintf("gmh%s%d", l.id, n) // the temporary name of the host's end
	port := dev + "p"
	m.lanPort = port
	if _, err := run(ctx, "ip", "netns", "add", name); err != nil {
		return err
	}
	l.hosts = append(l.hosts, name)
	steps := [][]string{
		{"ip", "-n", name, "link", "set", "lo", "up"},
		{"ip", "link", "add", dev, "type", "veth", "peer", "name", port},
		{"ip", "link", "set", port, "netns", l.netns},
		{"ip", "-n", l.netns, "link", "set", port, "master", "br0", "up"},
		{"ip", "link", "set", dev, "netns", name},
		{"ip", "-n", name, "link", "set", dev, "name", "eth0"},
		{"ip", "-n", name, "addr", "add", prefixOf(ip, l.subnet), "dev", "eth0"},
		{"ip", "-n", name, "link", "set", "eth0", "up"},
	}
	for _, s := range steps {
		if _, err := run(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

// setPort takes m's port on the bridge down (a partition: m's eth0 stays
// up with its address and routes, but loses its carrier and nothing
// passes either way) or up again.
func (l *lan) setPort(ctx context.Context, m *Machine, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	_, err := run(ctx, "ip", "-n", l.netns, "link", "set", m.lanPort, state)
	return err
}

// close deletes the namespaces (taking their devices, routes and
// iptables rules with them once no process is left in them) and the
// root namespace's veth.
func (l *lan) close() error {
	var errs []error
	ctx := context.Background()
	if _, err := net.InterfaceByName(l.rootDev); err == nil {
		_, err := run(ctx, "ip", "link", "del", l.rootDev)
		errs = append(errs, err)
	}
	for _, ns := range append(l.hosts, l.netns) {
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
			_, err := run(ctx, "ip", "netns", "del", ns)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func hostAddr(subnet netip.Prefix, n int) netip.Addr {
	b := subnet.Addr().As4()
	b[3] = byte(n)
	return netip.AddrFrom4(b)
}

func prefixOf(ip netip.Addr, subnet netip.Prefix) string {
	return netip.PrefixFrom(ip, subnet.Bits()).String()
}

func run(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Machines creates bare simulated hosts, one per name (its network
// namespace gets that name too), on a link of their own; nothing runs
// on them. They are removed when the test ends.
func Machines(tb testing.TB, names ...string) []*Machine {
	tb.Helper()
	if reason := unavailable(); reason != "" {
		tb.Fatalf("multihost: %s", reason)
	}
	ctx := context.Background()
	l, err := newLAN(ctx, cluster.RandomHex(3))
	if l != nil {
		tb.Cleanup(func() {
			if err := l.close(); err != nil {
				tb.Errorf("multihost: remove the namespaces: %v", err)
			}
		})
	}
	if err != nil {
		tb.Fatalf("multihost: %v", err)
	}
	var out []*Machine
	for i, name := range names {
		m := &Machine{Name: name, Netns: name}
		if err := l.addHost(ctx, m, 11+i); err != nil {
			tb.Fatalf("multihost: %v", err)
		}
		out = append(out, m)
	}
	return out
}
