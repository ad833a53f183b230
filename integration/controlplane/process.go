package controlplane

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

// APIServer is one gantry-apiserver process.
type APIServer struct {
	URL     string
	Port    int
	LogPath string

	binary string
	args   []string

	mu      sync.Mutex
	proc    *os.Process
	done    chan struct{}
	waitErr error
	stopped bool
}

func (s *APIServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	log, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(s.binary, s.args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(log, "=== %s %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	s.proc, s.done, s.stopped, s.waitErr = cmd.Process, done, false, nil
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(done)
	}()
	return nil
}

// exited returns an error if the process ended on its own.
func (s *APIServer) exited() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil || s.stopped {
		return nil
	}
	select {
	case <-s.done:
		return fmt.Errorf("exit: %v", s.waitErr)
	default:
		return nil
	}
}

// Stop ends the process with SIGTERM, then SIGKILL after 10 s.
func (s *APIServer) Stop() error { return s.signal(syscall.SIGTERM, 10*time.Second) }

// Kill ends the process with SIGKILL.
func (s *APIServer) Kill() error { return s.signal(syscall.SIGKILL, 0) }

// Restart starts a stopped server again with the same flags.
func (s *APIServer) Restart() error { return s.start() }

func (s *APIServer) signal(sig syscall.Signal, grace time.Duration) error {
	s.mu.Lock()
	proc, done := s.proc, s.done
	if proc == nil {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	s.mu.Unlock()
	select {
	case <-done:
		return nil
	default:
	}
	if err := proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	if grace == 0 {
		<-done
		return nil
	}
	select {
	case <-done:
		return nil
	case <-time.After(grace):
		proc.Kill()
		<-done
		return fmt.Errorf("apiserver %s did not stop within %v; killed", s.URL, grace)
	}
}

// LogTail returns the last n lines of the server's log.
func (s *APIServer) LogTail(n int) string {
	data, err := os.ReadFile(s.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
