package nftables

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// trafficNet is three namespaces: a node running the proxier's table
// and routing between a client and a backend, each on a veth pair.
//
//	client 10.250.1.2 ── c0 10.250.1.1  node  b0 10.250.2.1 ── backend 10.250.2.2, 10.250.2.3
type trafficNet struct {
	node, client, backend string
}

func newTrafficNet(t *testing.T) *trafficNet {
	n := &trafficNet{node: newNetns(t), client: newNetns(t), backend: newNetns(t)}
	run(t, "ip", "-n", n.node, "link", "add", "c0", "type", "veth", "peer", "name", "eth0", "netns", n.client)
	run(t, "ip", "-n", n.node, "link", "add", "b0", "type", "veth", "peer", "name", "eth0", "netns", n.backend)
	for _, c := range [][]string{
		{"-n", n.node, "addr", "add", "10.250.1.1/24", "dev", "c0"},
		{"-n", n.node, "addr", "add", "10.250.2.1/24", "dev", "b0"},
		{"-n", n.node, "link", "set", "c0", "up"},
		{"-n", n.node, "link", "set", "b0", "up"},
		// Service addresses lead towards the pods, as on a node whose
		// default route they would follow.
		{"-n", n.node, "route", "add", "10.96.0.0/12", "dev", "b0"},
		{"-n", n.client, "addr", "add", "10.250.1.2/24", "dev", "eth0"},
		{"-n", n.client, "link", "set", "eth0", "up"},
		{"-n", n.client, "route", "add", "default", "via", "10.250.1.1"},
		{"-n", n.backend, "addr", "add", "10.250.2.2/24", "dev", "eth0"},
		{"-n", n.backend, "addr", "add", "10.250.2.3/24", "dev", "eth0"},
		{"-n", n.backend, "link", "set", "eth0", "up"},
		{"-n", n.backend, "route", "add", "default", "via", "10.250.2.1"},
	} {
		run(t, "ip", c...)
	}
	run(t, "ip", "netns", "exec", n.node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	return n
}

// serve answers every connection to addr (in ns) with "local remote".
func serve(t *testing.T, ns, addr string) {
	t.Helper()
	var ln net.Listener
	var err error
	inNetns(t, ns, func() { ln, err = net.Listen("tcp", addr) })
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(c.LocalAddr().String() + " " + c.RemoteAddr().String() + "\n"))
			_ = c.Close()
		}
	}()
}

// reply is what a backend said: which one answered, and whom it saw.
type reply struct {
	backend, peer netip.Addr
}

// dial connects from ns to addr and reads the backend's line.
func dial(t *testing.T, ns, addr string) (reply, error) {
	t.Helper()
	var c net.Conn
	var err error
	inNetns(t, ns, func() { c, err = net.DialTimeout("tcp", addr, 5*time.Second) })
	if err != nil {
		return reply{}, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return reply{}, err
	}
	f := strings.Fields(line)
	if len(f) != 2 {
		return reply{}, errors.New("bad reply " + line)
	}
	local, err1 := netip.ParseAddrPort(f[0])
	remote, err2 := netip.ParseAddrPort(f[1])
	if err := errors.Join(err1, err2); err != nil {
		return reply{}, err
	}
	return reply{local.Addr(), remote.Addr()}, nil
}

// backends dials n times and counts the answers per backend, checking
// that each saw the client as peer.
func backends(t *testing.T, ns, addr string, n int, peer string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		r, err := dial(t, ns, addr)
		if err != nil {
			t.Errorf("connect from %s to %s: %v", ns, addr, err)
			return got
		}
		if r.peer.String() != peer {
			t.Errorf("%s: the backend saw the client as %s, want %s", addr, r.peer, peer)
		}
		got[r.backend.String()]++
	}
	return got
}

func refused(t *testing.T, ns, addr string) {
	t.Helper()
	if _, err := dial(t, ns, addr); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connect from %s to %s: %v, want connection refused", ns, addr, err)
	}
}

// Real traffic through the rules: ClusterIP from another namespace
// (forwarded) and from the node itself, spread over both endpoints;
// ClientIP affinity; NodePort (masqueraded) but not on 127.0.0.1; a
// Service without endpoints and a port no Service has refused at once;
// then incremental changes seen by the next connections.
func TestTraffic(t *testing.T) {
	n := newTrafficNet(t)
	serve(t, n.backend, "10.250.2.2:8080")
	serve(t, n.backend, "10.250.2.3:8080")

	const table = "gtt-proxy"
	rc := baseConfig()
	rc.Table = table
	rc.ClusterCIDR = netip.MustParsePrefix("10.250.0.0/16")
	p := newTestProxier(newRealInterface(t, n.node, table), rc)
	w := newRealWriter(t, n.node, table)
	p.cfg.Elements = w
	sync := func() bool {
		var err error
		inNetns(t, n.node, func() { err = p.Sync(context.Background()) })
		if err != nil {
			t.Errorf("sync: %v", err)
		}
		return err == nil
	}
	sh, eh := p.ServiceHandler(), p.SliceHandler()
	web := service("web", "10.96.0.20", corev1.ServicePort{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP})
	web.Spec.Type = corev1.ServiceTypeNodePort
	sticky := service("sticky", "10.96.0.22", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP})
	sticky.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	sh.OnAdd(web, true)
	sh.OnAdd(sticky, true)
	sh.OnAdd(service("empty", "10.96.0.21", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP}), true)
	eh.OnAdd(slice("web", "web-1", 8080, corev1.ProtocolTCP, "10.250.2.2", "10.250.2.3"), true)
	eh.OnAdd(slice("sticky", "sticky-1", 8080, corev1.ProtocolTCP, "10.250.2.2", "10.250.2.3"), true)
	if !sync() {
		return
	}

	// 40 connections land on both endpoints (all on one: 2^-39), the
	// client's address kept (it is in the cluster CIDR).
	if got := backends(t, n.client, "10.96.0.20:80", 40, "10.250.1.2"); len(got) != 2 {
		t.Errorf("ClusterIP from the client: backends %v, want both", got)
	}
	if got := backends(t, n.node, "10.96.0.20:80", 4, "10.250.2.1"); len(got) == 0 {
		t.Errorf("ClusterIP from the node: no answer")
	}
	if got := backends(t, n.client, "10.96.0.22:80", 20, "10.250.1.2"); len(got) != 1 {
		t.Errorf("ClientIP affinity: backends %v, want one", got)
	}
	// NodePort traffic is masqueraded to the node's address towards the
	// backend.
	if got := backends(t, n.client, "10.250.1.1:30080", 4, "10.250.2.1"); len(got) == 0 {
		t.Errorf("NodePort: no answer")
	}
	refused(t, n.client, "10.96.0.21:80") // no endpoints
	refused(t, n.node, "10.96.0.21:80")
	refused(t, n.client, "10.96.0.20:81") // a port web does not have
	refused(t, n.node, "127.0.0.1:30080") // no NodePort on localhost
	if t.Failed() {
		return
	}

	// One endpoint gone (elements only: over netlink), then all:
	// incremental syncs.
	eh.OnUpdate(nil, slice("web", "web-1", 8080, corev1.ProtocolTCP, "10.250.2.3"))
	if !sync() {
		return
	}
	if got := backends(t, n.client, "10.96.0.20:80", 10, "10.250.1.2"); got["10.250.2.3"] != 10 {
		t.Errorf("after the change: backends %v, want 10.250.2.3 only", got)
	}
	if w.n != 1 {
		t.Errorf("%d netlink batches, want 1 (the endpoint change)", w.n)
	}
	eh.OnUpdate(nil, slice("web", "web-1", 8080, corev1.ProtocolTCP))
	if !sync() {
		return
	}
	refused(t, n.client, "10.96.0.20:80")
	refused(t, n.client, "10.250.1.1:30080")
}
