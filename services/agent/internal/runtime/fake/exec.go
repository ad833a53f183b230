package fake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// Exec runs cfg.Cmd in a running container: through Config.Exec when
// set; else it prints FAKE_EXEC_OUTPUT, or echoes ("echo") or copies stdin
// ("cat"), and returns FAKE_EXEC_EXIT_CODE.
func (r *Runtime) Exec(ctx context.Context, id string, cfg runtime.ExecConfig) (int, error) {
	r.mu.Lock()
	c, err := r.lookupLocked(id)
	if err != nil {
		r.mu.Unlock()
		return 0, err
	}
	st, b := c.snapshot(), c.b
	r.mu.Unlock()
	if st.State != runtime.StateRunning {
		return 0, fmt.Errorf("exec in container %s: it is %s, not running", st.Name, st.State)
	}
	if len(cfg.Cmd) == 0 {
		return 0, errors.New("exec: no command")
	}
	if r.cfg.Exec != nil {
		return r.cfg.Exec(ctx, st, cfg)
	}
	stdout := cfg.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	switch {
	case b.hasExecOutput:
		_, err = io.WriteString(stdout, b.execOutput)
	case cfg.Cmd[0] == "echo":
		_, err = fmt.Fprintln(stdout, strings.Join(cfg.Cmd[1:], " "))
	case cfg.Cmd[0] == "cat" && len(cfg.Cmd) == 1 && cfg.Stdin != nil:
		_, err = io.Copy(stdout, cfg.Stdin)
	}
	if err != nil {
		return 0, fmt.Errorf("exec in container %s: %w", st.Name, err)
	}
	return b.execExitCode, nil
}

// Stats reports FAKE_MEMORY as the memory in use while the container
// runs, and FAKE_CPU cores used for as long as it has run.
func (r *Runtime) Stats(ctx context.Context, id string) (runtime.Stats, error) {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.lookupLocked(id)
	if err != nil {
		return runtime.Stats{}, err
	}
	st := runtime.Stats{Time: now}
	var ran time.Duration
	switch c.status.State {
	case runtime.StateRunning:
		ran = now.Sub(c.status.StartedAt)
		st.MemoryWorkingSet = uint64(c.b.memoryBytes)
		st.MemoryUsage = uint64(c.b.memoryBytes)
		st.PidsCurrent = 1
	case runtime.StateExited:
		if !c.status.StartedAt.IsZero() {
			ran = c.status.FinishedAt.Sub(c.status.StartedAt)
		}
	}
	st.CPUUsageNanos = uint64(c.b.cpuMilli) * uint64(max(ran, 0)) / 1000
	return st, nil
}

// writeLog appends lines to a container's log file in the CRI format.
func writeLog(path string, t time.Time, lines []string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	var sb strings.Builder
	stamp := t.UTC().Format(time.RFC3339Nano)
	for _, l := range lines {
		fmt.Fprintf(&sb, "%s stdout F %s\n", stamp, l)
	}
	_, err = f.WriteString(sb.String())
	return errors.Join(err, f.Close())
}
