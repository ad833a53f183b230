package controlplane

import (
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
)

// APIServer is one gantry-apiserver process.
type APIServer struct {
	URL     string
	Port    int
	LogPath string

	binary string
	args   []string
	proc   cluster.Process
}

func (s *APIServer) start() error {
	s.proc.Name, s.proc.LogPath = "apiserver "+s.URL, s.LogPath
	return s.proc.Start(s.binary, s.args)
}

// exited returns an error if the process ended on its own.
func (s *APIServer) exited() error { return s.proc.Crashed() }

// Stop ends the process with SIGTERM, then SIGKILL after 10 s.
func (s *APIServer) Stop() error { return s.proc.Stop(10 * time.Second) }

// Kill ends the process with SIGKILL.
func (s *APIServer) Kill() error { return s.proc.Kill() }

// Restart starts a stopped server again with the same flags.
func (s *APIServer) Restart() error { return s.start() }

// LogTail returns the last n lines of the server's log.
func (s *APIServer) LogTail(n int) string { return s.proc.LogTail(n) }

// PID is the process id of the API server's current run.
func (s *APIServer) PID() int { return s.proc.PID() }
