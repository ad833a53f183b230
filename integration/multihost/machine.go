package multihost

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
)

// Machine is what every simulated host has: a network namespace with an
// address on the shared link.
type Machine struct {
	// Name is the host's name (a worker's Node name).
	Name string
	// Netns is the name of the host's network namespace
	// (/run/netns/<Netns>, "ip -n <Netns> ...").
	Netns string
	// IP is the host's address on the shared link.
	IP netip.Addr

	lanPort string // the host's port on the link's bridge
}

// NetnsPath is the host's network namespace file.
func (m *Machine) NetnsPath() string { return filepath.Join("/run/netns", m.Netns) }

// Command returns a command that runs name in the host's network
// namespace (and the root namespace's mounts and processes).
func (m *Machine) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + m.NetnsPath(), "--", name}, args...)...)
}

// Run runs name in the host's network namespace and returns its combined
// output.
func (m *Machine) Run(ctx context.Context, name string, args ...string) (string, error) {
	out, err := m.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s in %s: %v: %s", name, strings.Join(args, " "), m.Name, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// placement is where the store and API server see the machine.
func (m *Machine) placement() cluster.Placement {
	return cluster.Placement{Netns: m.Netns, IP: m.IP.String()}
}

// Daemon is a process of the cluster that a test may stop, kill, pause
// and start again with the same flags.
type Daemon struct {
	*cluster.Process
	// MetricsURL is the daemon's /healthz, /readyz and /metrics server
	// (control plane daemons).
	MetricsURL string

	binary string
	args   []string
}

// Restart starts the stopped daemon again with the flags of its first
// start.
func (d *Daemon) Restart() error { return d.Start(d.binary, d.args) }

// newDaemon starts binary with args on m (nil: the root namespace), its
// output in logPath.
func newDaemon(name string, m *Machine, logPath, binary string, args []string) (*Daemon, error) {
	d := &Daemon{Process: &cluster.Process{Name: name, LogPath: logPath}, binary: binary, args: args}
	if m != nil {
		d.Name += " on " + m.Name
		d.Netns = m.Netns
	}
	return d, d.Restart()
}

// RestartDelay is how long a supervised daemon stays down after it
// exits on its own before it is started again (the systemd units in
// deploy/ say Restart=on-failure, RestartSec=5s).
const RestartDelay = 2 * time.Second

// supervise starts d again, as its systemd unit would, whenever it exits
// on its own (a controller manager or scheduler that loses its Lease
// exits, as Kubernetes' do), until tb ends. A daemon the test stops or
// kills stays down until the test restarts it. Every restart is logged.
func (d *Daemon) supervise(tb testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			crash := d.Crashed()
			if crash == nil {
				continue
			}
			tb.Logf("multihost: %v; starting it again in %v", crash, RestartDelay)
			select {
			case <-ctx.Done():
				return
			case <-time.After(RestartDelay):
			}
			if d.Crashed() != nil {
				if err := d.Restart(); err != nil {
					tb.Logf("multihost: restart %s: %v", d.Name, err)
				}
			}
		}
	}()
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}
