package cluster

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) {
	if os.Getenv("GANTRY_TEST_HANG") != "" {
		hang()
	}
	code := m.Run()
	RemoveBuilt()
	os.Exit(code)
}

func flavorFromEnv(t *testing.T) Flavor {
	t.Helper()
	f, err := FlavorFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestMemberLifecycle kills, stops and restarts members and checks that the
// cluster keeps its data.
func TestMemberLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	c := Start(t, Options{Flavor: flavorFromEnv(t), Members: 3})
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	tests := []struct {
		name string
		down func(m *Member) error
	}{
		{"kill", (*Member).Kill},
		{"stop", (*Member).Stop},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := c.Member(i)
			pid := m.PID()
			if err := tt.down(m); err != nil {
				t.Fatal(err)
			}
			if m.Running() {
				t.Fatalf("%s still running after %s", m.Name, tt.name)
			}
			// Puts may fail until the client notices the dead member and,
			// if it led, the others elect a new leader.
			key := "/harness/" + tt.name
			for deadline := time.Now().Add(15 * time.Second); ; {
				_, err := cli.Put(ctx, key, "written while "+m.Name+" was down")
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal(err)
				}
				t.Logf("put with %s down: %v (retrying)", m.Name, err)
				select {
				case <-ctx.Done():
					t.Fatal(ctx.Err())
				case <-time.After(100 * time.Millisecond):
				}
			}
			if err := m.Restart(); err != nil {
				t.Fatal(err)
			}
			if m.PID() == pid {
				t.Errorf("restarted %s has the old pid %d", m.Name, pid)
			}
			if err := c.WaitReady(ctx); err != nil {
				t.Fatal(err)
			}
			// The restarted member catches up: a read served by it alone
			// sees the write it missed.
			one, err := clientv3.New(clientv3.Config{Endpoints: []string{m.ClientURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
			if err != nil {
				t.Fatal(err)
			}
			defer one.Close()
			resp, err := one.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Count != 1 {
				t.Errorf("%s lost %s after restart", m.Name, key)
			}
		})
	}

}

// TestClose checks that Close stops every member and removes the cluster's
// directory.
func TestClose(t *testing.T) {
	c, err := Launch(t.Context(), Options{Flavor: flavorFromEnv(t), Members: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range c.Size() {
		if m := c.Member(i); m.Running() {
			t.Errorf("%s (pid %d) running after Close", m.Name, m.PID())
		}
	}
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("cluster directory %s not removed: %v", c.dir, err)
	}
}

// TestLaunchReportsCrash checks that a member that cannot start fails
// Launch quickly, with its log in the error.
func TestLaunchReportsCrash(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := Launch(ctx, Options{Flavor: flavorFromEnv(t), Args: []string{"--no-such-flag"}})
	if err == nil {
		c.Close()
		t.Fatal("Launch with an unknown flag succeeded")
	}
	if !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("error does not say the member exited and why: %v", err)
	}
}

// TestFreePortsNeverRepeat: ports are bound in other network namespaces,
// where a probe on this one's loopback cannot see them taken, so FreePorts
// must not return a port twice (the kernel offers a closed one again).
func TestFreePortsNeverRepeat(t *testing.T) {
	seen := map[int]bool{}
	for range 2000 {
		ports, err := FreePorts(1)
		if err != nil {
			t.Fatal(err)
		}
		if seen[ports[0]] {
			t.Fatalf("port %d returned twice", ports[0])
		}
		seen[ports[0]] = true
	}
}

// hang is a daemon that ignores SIGTERM, as one stuck in its shutdown.
func hang() {
	signal.Ignore(syscall.SIGTERM)
	os.Stdout.WriteString("hanging\n")
	select {}
}

// TestStopShowsWhereAHungProcessIs: a process that outlives Stop's grace
// is made to print its goroutines' stacks, which the error carries.
func TestStopShowsWhereAHungProcessIs(t *testing.T) {
	t.Setenv("GANTRY_TEST_HANG", "1")
	p := &Process{Name: "hung", LogPath: filepath.Join(t.TempDir(), "log")}
	if err := p.Start(os.Args[0], nil); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(p.LogTail(5), "hanging") {
		if err := p.Crashed(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	err := p.Stop(200 * time.Millisecond)
	if err == nil {
		t.Fatal("Stop of a process ignoring SIGTERM reported no error")
	}
	if !strings.Contains(err.Error(), "goroutine 1 ") || !strings.Contains(err.Error(), "cluster.hang") {
		t.Errorf("error has no stacks showing where the process hung: %v", err)
	}
	if p.Running() {
		t.Error("process still running after Stop")
	}
}
