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

// Process runs one daemon binary at a time for a test: its output is
// appended to a log file, it can be stopped, killed and started again, and
// it tells a crash from a stop asked for.
type Process struct {
	Name    string // for messages
	LogPath string // stdout and stderr of every run, appended
	// Netns, if set, names the network namespace (/run/netns/<Netns>)
	// every run happens in: the binary is started through
	// nsenter --net, which execs it, so PID is still the daemon's.
	Netns string

	mu      sync.Mutex
	proc    *os.Process   // nil before the first start
	exited  chan struct{} // closed once proc has been waited for
	exitErr error         // valid once exited is closed
	stopped bool          // Kill or Stop was called for the current run
}

// PID returns the process id of the current run, or 0 if there never was one.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return 0
	}
	return p.proc.Pid
}

// Running reports whether the process is alive.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running()
}

func (p *Process) running() bool {
	if p.proc == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and waits until the process is gone.
func (p *Process) Kill() error { return p.signal(syscall.SIGKILL, 0) }

// Pause stops the process with SIGSTOP, as a hung process: it keeps its
// sockets open and answers nothing until Resume.
func (p *Process) Pause() error { return p.send(syscall.SIGSTOP) }

// Resume continues a paused process with SIGCONT.
func (p *Process) Resume() error { return p.send(syscall.SIGCONT) }

// send sends sig to the current run without waiting for anything.
func (p *Process) send(sig syscall.Signal) error {
	p.mu.Lock()
	proc, running := p.proc, p.running()
	p.mu.Unlock()
	if !running {
		return fmt.Errorf("%s is not running", p.Name)
	}
	if err := proc.Signal(sig); err != nil {
		return fmt.Errorf("%s: %v: %w", p.Name, sig, err)
	}
	return nil
}

// Stop sends SIGTERM and waits for the process to exit. A process still
// running after grace is killed and Stop reports it.
func (p *Process) Stop(grace time.Duration) error { return p.signal(syscall.SIGTERM, grace) }

// signal sends sig to the current run and waits for it to exit. With a
// grace period, a process still running after it is killed.
func (p *Process) signal(sig syscall.Signal, grace time.Duration) error {
	p.mu.Lock()
	if !p.running() {
		p.mu.Unlock()
		return nil
	}
	p.stopped = true
	proc, exited := p.proc, p.exited
	p.mu.Unlock()

	// os.Process signals through a pidfd, so this reaches our own child
	// even if its PID has been reused.
	if err := proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: %v: %w", p.Name, sig, err)
	}
	if sig != syscall.SIGKILL {
		proc.Signal(syscall.SIGCONT) // a paused process must run to see sig
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
	// A Go daemon prints every goroutine's stack on SIGQUIT: the log then
	// shows where it hung.
	dumped := proc.Signal(syscall.SIGQUIT) == nil
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		dumped = false
	}
	proc.Kill()
	<-exited
	if dumped {
		return fmt.Errorf("%s did not exit within %v of %v; quit with its goroutines' stacks:\n%s", p.Name, grace, sig, p.goroutineDump())
	}
	return fmt.Errorf("%s did not exit within %v of %v; killed", p.Name, grace, sig)
}

// goroutineDump returns the log from the last run's SIGQUIT on, at most
// dumpLines lines.
func (p *Process) goroutineDump() string { return p.LogFrom("SIGQUIT: quit", dumpLines) }

// LogFrom returns the log from the last line containing marker on, at
// most n lines.
func (p *Process) LogFrom(marker string, n int) string {
	data, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	i := strings.LastIndex(string(data), marker)
	if i < 0 {
		return fmt.Sprintf("(no %q in the log)", marker)
	}
	i = strings.LastIndex(string(data[:i]), "\n") + 1
	lines := strings.Split(strings.TrimRight(string(data[i:]), "\n"), "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("... (%d more lines)", len(lines)-n))
	}
	return strings.Join(lines, "\n")
}

// ExitErr returns how the last run ended: nil while it runs or if it
// exited with status 0.
func (p *Process) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil || p.running() {
		return nil
	}
	return p.exitErr
}

const dumpLines = 4000

// Start runs binary with args, output appended to the log file.
func (p *Process) Start(binary string, args []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running() {
		return fmt.Errorf("%s is already running", p.Name)
	}
	logFile, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child holds its own descriptor
	if p.Netns != "" {
		nsenter, err := exec.LookPath("nsenter")
		if err != nil {
			return fmt.Errorf("%s: nsenter not installed (util-linux): %w", p.Name, err)
		}
		binary, args = nsenter, append([]string{"--net=/run/netns/" + p.Netns, "--", binary}, args...)
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	fmt.Fprintf(logFile, "=== %s %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	exited := make(chan struct{})
	p.proc, p.exited, p.exitErr, p.stopped = cmd.Process, exited, nil, false
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

// Crashed returns why the process exited on its own, or nil if it is
// running or was stopped on purpose.
func (p *Process) Crashed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil || p.running() || p.stopped {
		return nil
	}
	return fmt.Errorf("%s exited: %v", p.Name, p.exitErr)
}

// LogTail returns the last n lines of the log.
func (p *Process) LogTail(n int) string {
	data, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d earlier lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
