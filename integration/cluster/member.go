package cluster

import (
	"fmt"
	"time"
)

// stopGrace is how long Stop waits after SIGTERM before it sends SIGKILL.
const stopGrace = 20 * time.Second

// A Member is one store process of a Cluster. Its URLs and directories stay
// the same across restarts.
type Member struct {
	Name       string
	ClientURL  string // --listen-client-urls and --advertise-client-urls
	PeerURL    string // --listen-peer-urls and --initial-advertise-peer-urls
	MetricsURL string // --listen-metrics-urls: /health and /metrics
	DataDir    string
	LogPath    string // stdout and stderr of every run, appended

	flavor      Flavor
	firstArgs   []string // flags of the first start
	restartArgs []string // flags of a restart on the existing data dir

	proc Process
}

// PID returns the process id of the current run, or 0 if there never was one.
func (m *Member) PID() int { return m.proc.PID() }

// Running reports whether the member's process is alive.
func (m *Member) Running() bool { return m.proc.Running() }

// Kill sends SIGKILL to the member's process and waits until it is gone.
func (m *Member) Kill() error { return m.proc.Kill() }

// Stop sends SIGTERM and waits for the process to exit. A process still
// running after a grace period is killed and Stop reports it; so is one
// that exits with an error (gantry-store does when its shutdown hangs).
func (m *Member) Stop() error {
	if err := m.proc.Stop(stopGrace); err != nil {
		return err
	}
	if err := m.proc.ExitErr(); err != nil {
		return fmt.Errorf("member %s exited after SIGTERM: %v; its log from its last log line on:\n%s", m.Name, err, m.proc.LogFrom("level=", 400))
	}
	return nil
}

// Pause stops the member with SIGSTOP (a hung process); Resume continues it.
func (m *Member) Pause() error { return m.proc.Pause() }

// Resume continues a paused member.
func (m *Member) Resume() error { return m.proc.Resume() }

// Restart starts a stopped member again on its data directory and ports.
// gantry-store gets only --data-dir and the listen flags; etcd gets the flags
// of its first start, which it ignores where the data directory decides.
// Use Cluster.WaitReady to wait until it serves.
func (m *Member) Restart() error {
	if m.Running() {
		return fmt.Errorf("member %s is running; Stop or Kill it first", m.Name)
	}
	return m.start(m.restartArgs)
}

// start runs the binary with args, output appended to the log file.
func (m *Member) start(args []string) error {
	m.proc.Name, m.proc.LogPath = "member "+m.Name, m.LogPath
	return m.proc.Start(m.flavor.Binary, args)
}

// crashed returns why the member exited on its own, or nil if it is running
// or was stopped on purpose.
func (m *Member) crashed() error { return m.proc.Crashed() }

// logTail returns the last n lines of the member's log.
func (m *Member) logTail(n int) string { return m.proc.LogTail(n) }
