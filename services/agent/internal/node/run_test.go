package node

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestRun follows a node's first minute: registration, then a Lease
// renewal every heartbeat and no status write until something changes or
// the report frequency passes.
func TestRun(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.StatusReportFrequency = time.Minute })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.n.Run(ctx) }()

	waitFor(t, "registration", func() bool { return registered(f.n) })
	var gets int
	// tick advances the clock past both loops' jittered interval and waits
	// for both to have run and be waiting again.
	tick := func(i int) {
		t.Helper()
		waitFor(t, "both loops to wait", func() bool { return f.clock.Waiters() == 2 })
		if i == 0 {
			return
		}
		f.clock.Step(11 * time.Second)
		waitFor(t, "both loops to run", func() bool {
			return f.api.count("UpdateLease") == i && f.api.count("GetNode") == gets+i && f.clock.Waiters() == 2
		})
	}

	tick(0)
	gets = f.api.count("GetNode")
	lease := f.api.lease("node-1")
	if lease == nil || !lease.Spec.RenewTime.Time.Equal(t0) {
		t.Fatalf("lease = %+v, want one renewed at %v", lease, t0)
	}
	writes := f.api.count("UpdateNodeStatus")
	if writes != 1 {
		t.Errorf("%d status writes after registration, want 1", writes)
	}
	for i := 1; i <= 5; i++ {
		tick(i)
		if got, want := f.api.lease("node-1").Spec.RenewTime.Time, t0.Add(time.Duration(i)*11*time.Second); !got.Equal(want) {
			t.Errorf("renewal %d at %v, want %v", i, got, want)
		}
	}
	if got := f.api.count("UpdateNodeStatus"); got != writes {
		t.Errorf("%d status writes while nothing changed, want %d", got, writes)
	}
	tick(6) // 66s: the report frequency has passed
	if got := f.api.count("UpdateNodeStatus"); got != writes+1 {
		t.Errorf("%d status writes after the report frequency, want %d", got, writes+1)
	}
	f.ready.set(errors.New("not any more"))
	tick(7)
	if c := condition(t, f.api.get("node-1"), corev1.NodeReady); c.Status != corev1.ConditionFalse {
		t.Errorf("Ready = %+v, want False", c)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestHostMachine(t *testing.T) {
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Skip("no /proc")
	}
	m := HostMachine(t.TempDir() + "/not/made/yet")
	s, err := m.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if s.CPUs < 1 || s.MemoryBytes <= 0 || s.MemoryAvailableBytes <= 0 || s.DiskBytes <= 0 || s.PIDMax <= 0 || s.PIDs <= 0 {
		t.Errorf("stats = %+v", s)
	}
	info, err := m.SystemInfo()
	if err != nil {
		t.Fatalf("SystemInfo: %v", err)
	}
	if info.KernelVersion == "" || info.OperatingSystem != "linux" || info.OSImage == "" {
		t.Errorf("info = %+v", info)
	}
}

func TestParseMeminfo(t *testing.T) {
	tests := []struct {
		name             string
		text             string
		total, available int64
		wantErr          bool
	}{
		{name: "ok", text: "MemTotal:       16318412 kB\nMemFree:         1000000 kB\nMemAvailable:   12000000 kB\n",
			total: 16318412 << 10, available: 12000000 << 10},
		{name: "no MemAvailable", text: "MemTotal:       16318412 kB\n", wantErr: true},
		{name: "garbage", text: "MemTotal: lots kB\nMemAvailable: 1 kB\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			total, available, err := parseMeminfo(tc.text)
			if (err != nil) != tc.wantErr || total != tc.total || available != tc.available {
				t.Errorf("parseMeminfo = %d, %d, %v", total, available, err)
			}
		})
	}
}

func TestParseLoadavgAndOSRelease(t *testing.T) {
	if n, err := parseLoadavgThreads("0.52 0.58 0.59 3/1187 123456\n"); n != 1187 || err != nil {
		t.Errorf("parseLoadavgThreads = %d, %v", n, err)
	}
	if _, err := parseLoadavgThreads("0.52 0.58"); err == nil {
		t.Errorf("parseLoadavgThreads of a short line succeeded")
	}
	tests := map[string]string{
		"NAME=\"Ubuntu\"\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\n": "Ubuntu 24.04.1 LTS",
		"PRETTY_NAME=Alpine\n": "Alpine",
		"NAME=x\n":             "",
	}
	for text, want := range tests {
		if got := parseOSRelease(text); got != want {
			t.Errorf("parseOSRelease(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestKubeVersion(t *testing.T) {
	if got := kubeVersionOf("v0.37.2"); got != "v1.37.2+gantry" {
		t.Errorf("kubeVersionOf = %q", got)
	}
	// Test binaries carry no dependency versions.
	if got := kubeVersionOf(""); got != "v1.0.0+gantry" {
		t.Errorf("kubeVersionOf(\"\") = %q", got)
	}
}

func TestFirstUsable(t *testing.T) {
	cidr := func(s string) net.Addr {
		ip, n, _ := net.ParseCIDR(s)
		n.IP = ip
		return n
	}
	tests := []struct {
		name  string
		addrs []net.Addr
		want  string
	}{
		{"IPv4 first", []net.Addr{cidr("127.0.0.1/8"), cidr("fe80::1/64"), cidr("2001:db8::5/64"), cidr("192.168.1.7/24")}, "192.168.1.7"},
		{"IPv6 only", []net.Addr{cidr("::1/128"), cidr("2001:db8::5/64")}, "2001:db8::5"},
		{"loopback only", []net.Addr{cidr("127.0.0.1/8")}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ip, err := firstUsable(tc.addrs)
			if tc.want == "" {
				if err == nil {
					t.Errorf("firstUsable = %v, want an error", ip)
				}
				return
			}
			if err != nil || ip.String() != tc.want {
				t.Errorf("firstUsable = %v, %v; want %s", ip, err, tc.want)
			}
		})
	}
}
