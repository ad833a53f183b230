package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
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

	mu      sync.Mutex
	proc    *os.Process   // nil before the first start
	exited  chan struct{} // closed once proc has been waited for
	exitErr error         // valid once exited is closed
	stopped bool          // Kill or Stop was called for the current run
}

// PID returns the process id of the current run, or 0 if there never was one.
func (m *Member) PID() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return 0
	}
	return m.proc.Pid
}

// Running reports whether the member's process is alive.
func (m *Member) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running()
}

func (m *Member) running() bool {
	if m.proc == nil {
		return false
	}
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL to the member's process and waits until it is gone.
func (m *Member) Kill() error {
	return m.signal(syscall.SIGKILL, 0)
}

// Stop sends SIGTERM and waits for the process to exit. A process still
// running after a grace period is killed and Stop reports it.
func (m *Member) Stop() error {
	return m.signal(syscall.SIGTERM, stopGrace)
}

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

// signal sends sig to the current run and waits for it to exit. With a
// grace period, a process still running after it is killed.
func (m *Member) signal(sig syscall.Signal, grace time.Duration) error {
	m.mu.Lock()
	if !m.running() {
		m.mu.Unlock()
		return nil
	}
	m.stopped = true
	proc, exited := m.proc, m.exited
	m.mu.Unlock()

	// os.Process signals through a pidfd, so this reaches our own child
	// even if its PID has been reused.
	if err := proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("member %s: %v: %w", m.Name, sig, err)
	}
	if grace == 0 {
		<-exited
		return nil
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-exited:
		return nil
	case <-timer.C:
	}
	proc.Kill()
	<-exited
	return fmt.Errorf("member %s did not exit within %v of %v; killed", m.Name, grace, sig)
}

// start runs the binary with args, output appended to the log file.
func (m *Member) start(args []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running() {
		return fmt.Errorf("member %s is already running", m.Name)
	}
	logFile, err := os.OpenFile(m.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(m.flavor.Binary, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	fmt.Fprintf(logFile, "=== %s %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("member %s: %w", m.Name, err)
	}
	exited := make(chan struct{})
	m.proc, m.exited, m.exitErr, m.stopped = cmd.Process, exited, nil, false
	go func() {
		err := cmd.Wait()
		m.mu.Lock()
		m.exitErr = err
		m.mu.Unlock()
		close(exited)
	}()
	return nil
}

// crashed returns why the member exited on its own, or nil if it is running
// or was stopped on purpose.
func (m *Member) crashed() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil || m.running() || m.stopped {
		return nil
	}
	return fmt.Errorf("member %s exited: %v", m.Name, m.exitErr)
}

// logTail returns the last n lines of the member's log.
func (m *Member) logTail(n int) string {
	data, err := os.ReadFile(m.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d earlier lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
