// Package proc runs the daemons of a one-host cluster in the background:
// each in its own session, its output appended to a log, its pid in a pid
// file. A pid file is trusted only while /proc/<pid>/exe is the binary it
// was started from, so a reused pid is never signalled.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ReadPID parses a pid file.
func ReadPID(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return ParsePID(data)
}

// ParsePID parses the content of a pid file: a positive decimal number
// and optional white space.
func ParsePID(data []byte) (int, error) {
	s := strings.TrimSpace(string(data))
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 || strings.ContainsAny(s, "+-") {
		return 0, fmt.Errorf("not a pid: %q", s)
	}
	return pid, nil
}

// WritePID writes pid to path.
func WritePID(path string, pid int) error {
	return os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// deletedSuffix is what the kernel appends to /proc/<pid>/exe once the
// binary was replaced (a rebuild) or removed.
const deletedSuffix = " (deleted)"

// SameBinary reports whether exe, the target of /proc/<pid>/exe, is the
// binary want (compared after resolving symbolic links in want); a
// binary replaced since the process started still counts.
func SameBinary(exe, want string) bool {
	if exe == "" || want == "" {
		return false
	}
	exe = strings.TrimSuffix(exe, deletedSuffix)
	if r, err := filepath.EvalSymlinks(want); err == nil {
		want = r
	}
	return filepath.Clean(exe) == filepath.Clean(want)
}

// Exe returns the target of /proc/<pid>/exe.
func Exe(pid int) (string, error) {
	return os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
}

// Alive reports whether pid is a process that has not exited: it exists
// and is not a zombie.
func Alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	state, ok := statState(data)
	return ok && state != 'Z' && state != 'X'
}

// statState returns the state field of /proc/<pid>/stat: the first
// character after the ")" that closes the command name (which may itself
// hold spaces and parentheses).
func statState(data []byte) (byte, bool) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return 0, false
	}
	return data[i+2], true
}

// Status is what a pid file says about a daemon.
type Status struct {
	PID     int    // the running daemon's pid, 0 if none
	Running bool   // PID runs binary
	Reason  string // why not, for people
}

// Check reads pidFile and reports whether its process is alive and runs
// binary. A pid file of a process that is gone or runs something else is
// removed, since nothing will ever use it again.
func Check(pidFile, binary string) Status {
	pid, err := ReadPID(pidFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return Status{Reason: "not running"}
	case err != nil:
		os.Remove(pidFile)
		return Status{Reason: fmt.Sprintf("bad pid file %s: %v", pidFile, err)}
	}
	if !Alive(pid) {
		os.Remove(pidFile)
		return Status{Reason: fmt.Sprintf("not running (pid %d exited)", pid)}
	}
	exe, err := Exe(pid)
	if err != nil {
		return Status{Reason: fmt.Sprintf("pid %d: %v", pid, err)}
	}
	if !SameBinary(exe, binary) {
		os.Remove(pidFile)
		return Status{Reason: fmt.Sprintf("not running (pid %d is %s, not %s)", pid, exe, binary)}
	}
	return Status{PID: pid, Running: true}
}

// Process is a daemon this process started.
type Process struct {
	PID    int
	exited chan struct{}
	err    error // set before exited is closed
}

// Start runs binary with args in its own session (a Ctrl-C in the
// terminal does not reach it), stdin from /dev/null and its output
// appended to logFile after a header line, and writes its pid to
// pidFile.
func Start(binary string, args []string, logFile, pidFile string) (*Process, error) {
	log, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child has its own copy
	fmt.Fprintf(log, "\n=== %s: starting %s %s\n", time.Now().Format("2006-01-02T15:04:05-07:00"),
		binary, strings.Join(args, " "))
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	p := &Process{PID: cmd.Process.Pid, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	if err := WritePID(pidFile, p.PID); err != nil {
		_ = cmd.Process.Kill()
		<-p.exited
		return nil, fmt.Errorf("write pid file: %w", err)
	}
	return p, nil
}

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitError is how the process ended, once Exited is closed.
func (p *Process) ExitError() error {
	select {
	case <-p.exited:
		return p.err
	default:
		return nil
	}
}

// Stop sends SIGTERM to pid, waits up to grace for it to exit, then
// sends SIGKILL and waits a little more. It reports whether SIGKILL was
// needed.
func Stop(pid int, grace time.Duration) (killed bool, err error) {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return false, nil
		}
		return false, fmt.Errorf("SIGTERM pid %d: %w", pid, err)
	}
	if waitGone(pid, grace) {
		return false, nil
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return true, fmt.Errorf("SIGKILL pid %d: %w", pid, err)
	}
	if !waitGone(pid, 5*time.Second) {
		return true, fmt.Errorf("pid %d still there 5s after SIGKILL", pid)
	}
	return true, nil
}

// waitGone polls until pid is no longer alive or d has passed.
func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for Alive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// Tail returns the last n lines of the file at path.
func Tail(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read at most the last 64 KiB: enough for n lines of a log.
	const window = 64 << 10
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(fi.Size()-window, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, err
	}
	return lastLines(buf, n, off > 0), nil
}

// lastLines returns the last n lines of data; cut says data starts in
// the middle of a line, which is then dropped.
func lastLines(data []byte, n int, cut bool) []string {
	data = bytes.TrimRight(data, "\n")
	if len(data) == 0 || n <= 0 {
		return nil
	}
	lines := strings.Split(string(data), "\n")
	if cut && len(lines) > 1 {
		lines = lines[1:]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
