package network

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const podNetnsPrefix = "gantry-test-"

// Test address ranges: nothing on the host uses them, and they only
// exist inside the node namespace anyway.
var (
	testClusterCIDR = netip.MustParsePrefix("10.255.0.0/16")
	testServiceCIDR = netip.MustParsePrefix("10.254.0.0/16")
	subnetCounter   atomic.Int32
	netnsCounter    atomic.Int32
)

// requireNode skips the test unless it runs inside the node namespace
// TestMain made.
func requireNode(t *testing.T) {
	t.Helper()
	if os.Getenv(nodeNetnsEnv) == "" {
		reason := rootTestsUnavailable()
		if reason == "" {
			reason = "not running in a test node namespace"
		}
		t.Skip(reason)
	}
}

// testConfig returns a configuration with a pod CIDR of its own (of
// size bits), a unique bridge and dummy device, and directories in
// t.TempDir().
func testConfig(t *testing.T, bits int) Config {
	k := subnetCounter.Add(1)
	dir := t.TempDir()
	suffix := randomHex(3)
	return Config{
		ConfDir:     filepath.Join(dir, "net.d"),
		CacheDir:    filepath.Join(dir, "cache"),
		StateDir:    filepath.Join(dir, "state"),
		BridgeName:  "gt" + suffix,
		DummyDevice: "gts" + suffix,
		ClusterCIDR: testClusterCIDR,
		PodCIDR:     netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 255, byte(10 + k), 0}), bits),
		ServiceCIDR: testServiceCIDR,
		HairpinMode: true,
		Log:         testLogger(t),
	}
}

// newTestNetwork sets up a node with cfg. Its cleanup runs CleanupNode
// and checks that the node's links, addresses, routes and iptables rules
// are what they were before SetupNode.
func newTestNetwork(t *testing.T, cfg Config) *Network {
	t.Helper()
	requireNode(t)
	ctx := context.Background()
	// Like a host where Docker runs: forwarded traffic is dropped unless
	// a rule accepts it.
	mustRun(t, "iptables", "-w", "-P", "FORWARD", "DROP")
	before := snapshotNode(t)
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.CleanupNode(ctx); err != nil {
			t.Errorf("CleanupNode: %v", err)
		}
		// Namespace teardown is asynchronous: veths go a moment later.
		var after string
		ok := poll(5*time.Second, func() bool { after = snapshotNode(t); return after == before })
		if !ok {
			t.Errorf("CleanupNode left the node changed:\n--- before\n%s\n--- after\n%s", before, after)
		}
		for _, path := range []string{cfg.confPath(), filepath.Join(cfg.StateDir, "ipam")} {
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("CleanupNode left %s (stat: %v)", path, err)
			}
		}
	})
	if err := n.SetupNode(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

var counters = regexp.MustCompile(`\[\d+:\d+\]`)

// snapshotNode describes the node namespace's network state.
func snapshotNode(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifaces {
		fmt.Fprintf(&b, "link %s\n", i.Name)
	}
	b.WriteString(mustOutput(t, "ip", "-4", "-o", "addr", "show"))
	b.WriteString(mustOutput(t, "ip", "-4", "route", "show", "table", "all"))
	// Rules and user-defined chains, per table. (An empty table that
	// iptables created on first use is no leftover: it holds nothing.)
	table := ""
	for _, line := range strings.Split(mustOutput(t, "iptables-save"), "\n") {
		switch f := strings.Fields(line); {
		case strings.HasPrefix(line, "*"):
			table = line[1:]
		case strings.HasPrefix(line, "-A "), strings.HasPrefix(line, ":") && len(f) > 1 && f[1] == "-":
			fmt.Fprintf(&b, "%s %s\n", table, counters.ReplaceAllString(line, ""))
		}
	}
	return b.String()
}

// newPodNetns creates a network namespace for a pod; the test's cleanup
// deletes it.
func newPodNetns(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("%s%s-%d", podNetnsPrefix, os.Getenv(runIDEnv), netnsCounter.Add(1))
	mustRun(t, "ip", "netns", "add", name)
	path := filepath.Join("/run/netns", name)
	t.Cleanup(func() {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			return // deleted by the test
		}
		if err := run("ip", "netns", "del", name); err != nil {
			t.Error(err)
		}
	})
	return path
}

// deletePodNetns deletes a pod namespace before the test ends.
func deletePodNetns(t *testing.T, path string) {
	t.Helper()
	mustRun(t, "ip", "netns", "del", filepath.Base(path))
}

// inNetns runs fn on a thread switched into the namespace at path, and
// switches the thread back afterwards. Sockets fn opens stay in that
// namespace and can be used from anywhere.
func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		fnErr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: the runtime retires it with this
			// goroutine, so no other goroutine runs in the pod's namespace.
			errc <- fmt.Errorf("switch back from %s: %w", path, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- fnErr
	}()
	return <-errc
}

// serve listens on port in the namespace at path and answers every
// connection with "<name> <remote address>\n".
func serve(t *testing.T, netns, name string, port int) {
	t.Helper()
	var l net.Listener
	err := inNetns(netns, func() (err error) {
		l, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s %s\n", name, c.RemoteAddr())
			c.Close()
		}
	})
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
}

// dial connects to addr from the namespace at netns ("" is the node) and
// returns the server's answer.
func dial(netns, addr string) (string, error) {
	var c net.Conn
	connect := func() (err error) {
		c, err = net.DialTimeout("tcp4", addr, 2*time.Second)
		return err
	}
	var err error
	if netns == "" {
		err = connect()
	} else {
		err = inNetns(netns, connect)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	return strings.TrimSpace(string(b)), err
}

// expectReply dials until the answer starts with want or 5 s pass, and
// returns the answer.
func expectReply(t *testing.T, netns, addr, want string) string {
	t.Helper()
	var got string
	var err error
	if !poll(5*time.Second, func() bool {
		got, err = dial(netns, addr)
		return err == nil && strings.HasPrefix(got, want)
	}) {
		t.Fatalf("dial %s from %q: got %q, %v; want %q", addr, netns, got, err, want)
	}
	return got
}

// poll calls cond until it is true or timeout passes.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if err := run(name, args...); err != nil {
		t.Fatal(err)
	}
}

func mustOutput(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}

// ipamFiles lists the addresses host-local holds.
func ipamFiles(t *testing.T, cfg Config) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(cfg.StateDir, "ipam", NetworkName))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, e := range entries {
		if net.ParseIP(e.Name()) != nil {
			ips = append(ips, e.Name())
		}
	}
	return ips
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func podAt(netns string, ports ...PortMapping) PodNetwork {
	id := randomHex(4)
	return PodNetwork{
		UID: "uid-" + id, Namespace: "default", Name: "pod-" + id, NetNS: netns, PortMappings: ports,
	}
}
