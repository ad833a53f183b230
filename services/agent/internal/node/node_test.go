package node

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// testMachine is a Machine whose measurements a test changes.
type testMachine struct {
	mu    sync.Mutex
	stats MachineStats
	err   error
}

func (m *testMachine) Stats() (MachineStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats, m.err
}

func (m *testMachine) SystemInfo() (corev1.NodeSystemInfo, error) {
	return corev1.NodeSystemInfo{
		KernelVersion: "6.1.0-18-amd64", OSImage: "Debian GNU/Linux 12 (bookworm)",
		OperatingSystem: "linux", Architecture: "amd64", MachineID: "machine-1", BootID: "boot-1",
	}, nil
}

func (m *testMachine) set(f func(*MachineStats)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(&m.stats)
}

func healthyStats() MachineStats {
	return MachineStats{
		CPUs: 4, MemoryBytes: 8 << 30, MemoryAvailableBytes: 6 << 30,
		DiskBytes: 100 << 30, DiskAvailableBytes: 60 << 30, Inodes: 1_000_000, InodesFree: 900_000,
		PIDMax: 4_194_304, PIDs: 800,
	}
}

// readiness is a settable readiness check.
type readiness struct {
	mu  sync.Mutex
	err error
}

func (r *readiness) check() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *readiness) set(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// fixture is a node on a fake API server, a fake clock and a test
// machine.
type fixture struct {
	api     *fakeAPI
	clock   *clocktesting.FakeClock
	machine *testMachine
	ready   *readiness
	network *readiness
	n       *Node
}

func newFixture(t *testing.T, edit ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{
		api: newFakeAPI(), clock: clocktesting.NewFakeClock(t0),
		machine: &testMachine{stats: healthyStats()}, ready: &readiness{}, network: &readiness{},
	}
	cfg := Config{
		Name:           "node-1",
		API:            f.api,
		NodeIP:         net.ParseIP("10.0.0.5"),
		Hostname:       "Node-1.example.com",
		Labels:         map[string]string{"topology.kubernetes.io/zone": "z1"},
		Taints:         []corev1.Taint{{Key: "dedicated", Value: "infra", Effect: corev1.TaintEffectNoSchedule}},
		PodCIDR:        "10.244.9.0/24",
		MaxPods:        110,
		Machine:        f.machine,
		Ready:          f.ready.check,
		NetworkReady:   f.network.check,
		AgentPort:      10250,
		RuntimeVersion: "containerd://2.1.4",
		Clock:          f.clock,
		Log:            slog.New(slog.DiscardHandler),
	}
	for _, e := range edit {
		e(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.n = n
	return f
}

// register registers the node and makes its first status update, as Run
// does.
func (f *fixture) register(t *testing.T) {
	t.Helper()
	if err := f.n.register(context.Background()); err != nil {
		t.Fatalf("register: %v", err)
	}
	f.syncStatus(t)
}

func (f *fixture) syncStatus(t *testing.T) {
	t.Helper()
	if err := f.n.syncStatus(context.Background()); err != nil {
		t.Fatalf("syncStatus: %v", err)
	}
}

func (f *fixture) syncLease(t *testing.T) {
	t.Helper()
	if err := f.n.syncLease(context.Background()); err != nil {
		t.Fatalf("syncLease: %v", err)
	}
}

// condition returns the condition typ of node.
func condition(t *testing.T, node *corev1.Node, typ corev1.NodeConditionType) corev1.NodeCondition {
	t.Helper()
	for _, c := range node.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	t.Fatalf("node %s has no %s condition", node.Name, typ)
	return corev1.NodeCondition{}
}

func quantity(s string) resource.Quantity { return resource.MustParse(s) }

// waitFor polls cond until it holds, failing after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no API", func(c *Config) { c.API = nil }, "Client or API is required"},
		{"bad name", func(c *Config) { c.Name = "Node_1" }, `name "Node_1"`},
		{"bad label", func(c *Config) { c.Labels = map[string]string{"a b": "c"} }, `label "a b"`},
		{"bad label value", func(c *Config) { c.Labels = map[string]string{"a": "b c"} }, `label a="b c"`},
		{"bad pod CIDR", func(c *Config) { c.PodCIDR = "10.244.0.0" }, "pod CIDR"},
		{"lease shorter than heartbeat", func(c *Config) { c.LeaseDuration = 5 * time.Second }, "LeaseDuration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Name: "node-1", API: newFakeAPI(), NodeIP: net.ParseIP("10.0.0.1"), Hostname: "h",
				Machine: &testMachine{}, Log: slog.New(slog.DiscardHandler)}
			tc.edit(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
