package dns

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/vishvananda/netns"
)

// TestDeviceVIP builds a node and a pod as two network namespaces joined
// by a veth pair, with the agent's route of the service CIDR to a sink
// device in the node, and checks that the server, with Device set, is
// reached at the DNS VIP from the pod over UDP and TCP; then that
// RemoveDevice leaves no trace.
func TestDeviceVIP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
	node, pod := netnsName(t, "node"), netnsName(t, "pod")
	ip(t, "link", "add", "gdns0", "netns", node, "type", "veth", "peer", "name", "gdns1", "netns", pod)
	ip(t, "-n", node, "addr", "add", "10.250.9.1/24", "dev", "gdns0")
	ip(t, "-n", node, "link", "set", "gdns0", "up")
	ip(t, "-n", node, "link", "set", "lo", "up")
	ip(t, "-n", pod, "addr", "add", "10.250.9.2/24", "dev", "gdns1")
	ip(t, "-n", pod, "link", "set", "gdns1", "up")
	ip(t, "-n", pod, "link", "set", "lo", "up")
	ip(t, "-n", pod, "route", "add", "default", "via", "10.250.9.1")
	// The agent's sink for unmapped ClusterIPs.
	if err := exec.Command("ip", "-n", node, "link", "add", "gantry-svc", "type", "dummy").Run(); err != nil {
		ip(t, "-n", node, "link", "add", "gantry-svc", "type", "ifb")
	}
	ip(t, "-n", node, "link", "set", "gantry-svc", "up")
	ip(t, "-n", node, "route", "add", "10.96.0.0/12", "dev", "gantry-svc")

	srv, err := newServer(Config{
		Listen: []string{"10.96.0.10:53"}, Device: DefaultDevice, Upstreams: []string{"127.0.0.1:1"}, Log: quietLog(),
	}, fakeView(t, testCluster()...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// This thread stays in the node's namespace and dies with the
		// goroutine (it is never unlocked).
		runtime.LockOSThread()
		if err := enterNetns(node); err != nil {
			done <- err
			return
		}
		done <- srv.Run(ctx)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	waitFor(t, func() []string {
		if srv.Healthy() == nil {
			return []string{"ok"}
		}
		return nil
	})

	if out := ip(t, "-n", node, "-o", "addr", "show", "dev", DefaultDevice); !strings.Contains(out, "10.96.0.10/32") {
		t.Errorf("%s has not the VIP:\n%s", DefaultDevice, out)
	}
	for _, network := range []string{"udp", "tcp"} {
		resp, err := inNetns(pod, func() (*mdns.Msg, error) {
			c := &mdns.Client{Net: network, Timeout: 10 * time.Second}
			r, _, err := c.Exchange(new(mdns.Msg).SetQuestion("web.default.svc.cluster.local.", mdns.TypeA), "10.96.0.10:53")
			return r, err
		})
		if err != nil {
			t.Fatalf("query from the pod over %s: %v", network, err)
		}
		check(t, "answer over "+network, rrStrings(resp.Answer), []string{"web.default.svc.cluster.local. 5 IN A 10.96.0.20"})
	}

	stop()
	if out := ip(t, "-n", node, "-o", "addr", "show", "dev", DefaultDevice); !strings.Contains(out, "10.96.0.10/32") {
		t.Errorf("the VIP went away with the server; want it kept until RemoveDevice:\n%s", out)
	}
	if _, err := inNetns(node, func() (*mdns.Msg, error) {
		if err := EnsureDevice(DefaultDevice, nil); err != nil {
			return nil, err
		}
		return nil, RemoveDevice(DefaultDevice)
	}); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("ip", "-n", node, "link", "show", DefaultDevice).Run(); err == nil {
		t.Errorf("%s still exists after RemoveDevice", DefaultDevice)
	}
	if _, err := inNetns(node, func() (*mdns.Msg, error) { return nil, RemoveDevice(DefaultDevice) }); err != nil {
		t.Errorf("RemoveDevice of a missing device: %v", err)
	}
	if _, err := inNetns(node, func() (*mdns.Msg, error) { return nil, RemoveDevice("gdns0") }); err == nil {
		t.Error("RemoveDevice deleted a veth")
	}
}

// netnsName creates a network namespace and deletes it when the test
// ends.
func netnsName(t *testing.T, role string) string {
	t.Helper()
	name := fmt.Sprintf("gdns-%s-%d", role, os.Getpid())
	ip(t, "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return name
}

func ip(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func enterNetns(name string) error {
	h, err := netns.GetFromName(name)
	if err != nil {
		return err
	}
	defer h.Close()
	return netns.Set(h)
}

// inNetns runs f on a thread in network namespace name; the thread is
// discarded afterwards.
func inNetns[T any](name string, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if err := enterNetns(name); err != nil {
			ch <- result{err: err}
			return
		}
		v, err := f()
		ch <- result{v, err}
	}()
	r := <-ch
	return r.v, r.err
}
