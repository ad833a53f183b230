package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// ErrExecTimeout is returned (wrapped) when an exec's Timeout kills it.
var ErrExecTimeout = errors.New("exec timed out")

// Exec runs a command in a running container, streams its stdio and
// returns its exit code. Cancelling ctx kills the command.
func (r *Runtime) Exec(ctx context.Context, id string, cfg runtime.ExecConfig) (int, error) {
	ctx = r.nsctx(ctx)
	if len(cfg.Cmd) == 0 {
		return -1, fmt.Errorf("exec in %s: no command", id)
	}
	c, err := r.loadContainer(ctx, id)
	if err != nil {
		return -1, err
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: container is not running: %w", id, err)
	}
	spec, err := c.Spec(ctx)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	pspec := *spec.Process
	pspec.Args = cfg.Cmd
	pspec.Terminal = cfg.TTY
	pspec.ConsoleSize = nil
	if cfg.TTY && !slices.ContainsFunc(pspec.Env, func(e string) bool { return strings.HasPrefix(e, "TERM=") }) {
		pspec.Env = append(slices.Clone(pspec.Env), "TERM=xterm")
	}

	stdout, stderr := cfg.Stdout, cfg.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil || cfg.TTY {
		stderr = io.Discard
	}
	var stdin io.Reader
	stdinDone := make(chan struct{})
	if cfg.Stdin != nil {
		stdin = &eofNotifier{r: cfg.Stdin, done: stdinDone}
	}
	opts := []cio.Opt{cio.WithStreams(stdin, stdout, stderr), cio.WithFIFODir(fifoDir(r.cfg.StateDir))}
	if cfg.TTY {
		opts = append(opts, cio.WithTerminal)
	}

	execID := "exec-" + newID()[:16]
	proc, err := task.Exec(ctx, execID, &pspec, cio.NewCreator(opts...))
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	// Waiting outlives ctx: when ctx ends the process is killed, and its
	// end is still waited for.
	waitCtx, cancelWait := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWait()
	exited, err := proc.Wait(waitCtx)
	if err != nil {
		r.deleteExec(proc, nil)
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	defer r.deleteExec(proc, exited)
	// Not cut short by ctx: a start interrupted half way leaves a process
	// running that the shim does not know of.
	startCtx, cancelStart := context.WithTimeout(waitCtx, startTimeout)
	err = proc.Start(startCtx)
	cancelStart()
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}

	var wg sync.WaitGroup
	done := make(chan struct{})
	defer func() { close(done); wg.Wait() }()
	if cfg.Stdin != nil {
		// The shim holds the stdin fifo open until told to close it.
		wg.Go(func() {
			select {
			case <-stdinDone:
				if err := proc.CloseIO(waitCtx, containerd.WithStdinCloser); err != nil {
					r.log.Debug("close exec stdin", "id", id, "err", err)
				}
			case <-done:
			}
		})
	}
	if cfg.TTY && cfg.Resize != nil {
		wg.Go(func() {
			for {
				select {
				case sz, ok := <-cfg.Resize:
					if !ok {
						return
					}
					if err := proc.Resize(waitCtx, uint32(sz.Width), uint32(sz.Height)); err != nil {
						r.log.Debug("resize exec terminal", "id", id, "err", err)
					}
				case <-done:
					return
				}
			}
		})
	}

	var timeout <-chan time.Time
	if cfg.Timeout > 0 {
		t := time.NewTimer(cfg.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var status containerd.ExitStatus
	var waitErr error
	select {
	case status = <-exited:
	case <-timeout:
		waitErr = fmt.Errorf("exec in %s: %w after %v", id, ErrExecTimeout, cfg.Timeout)
		status = killAndWait(proc, exited)
	case <-ctx.Done():
		waitErr = fmt.Errorf("exec in %s: %w", id, ctx.Err())
		status = killAndWait(proc, exited)
	}
	// Let the output drain, but not forever: a process the command left
	// in the background may hold its stdout.
	drained := make(chan struct{})
	go func() { proc.IO().Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(execDrainTimeout):
		r.log.Debug("exec output still open after exit", "id", id, "exec", execID)
		proc.IO().Cancel()
	}
	if waitErr != nil {
		return -1, waitErr
	}
	code, _, err := status.Result()
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	return int(code), nil
}

// execDrainTimeout bounds the wait for an exec's output after its exit.
const execDrainTimeout = 5 * time.Second

// deleteExec deletes an exec'd process, killing it first if it still
// runs (its start was cut short by a cancelled context).
func (r *Runtime) deleteExec(proc containerd.Process, exited <-chan containerd.ExitStatus) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := proc.Delete(ctx); err == nil || errdefs.IsNotFound(err) {
		return
	}
	if exited != nil {
		killAndWait(proc, exited)
	} else {
		proc.Kill(ctx, syscall.SIGKILL)
	}
	if _, err := proc.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
		r.log.Warn("delete exec process", "exec", proc.ID(), "err", err)
	}
}

// killAndWait kills an exec'd process and waits (a bounded time) for it.
func killAndWait(proc containerd.Process, exited <-chan containerd.ExitStatus) containerd.ExitStatus {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	proc.Kill(ctx, syscall.SIGKILL)
	select {
	case s := <-exited:
		return s
	case <-ctx.Done():
		return *containerd.NewExitStatus(containerd.UnknownExitStatus, time.Time{}, ctx.Err())
	}
}

// eofNotifier closes done when its reader ends.
type eofNotifier struct {
	r    io.Reader
	done chan struct{}
	once sync.Once
}

func (e *eofNotifier) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.once.Do(func() { close(e.done) })
	}
	return n, err
}
