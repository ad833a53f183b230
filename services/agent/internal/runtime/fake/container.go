package fake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"k8s.io/utils/clock"
)

// Exit codes a killed container reports.
const (
	exitKilled     = 137 // SIGKILL: OOM kill, or stop after the grace period
	exitStartError = 128
)

// container is one container and how it behaves.
type container struct {
	status      runtime.ContainerStatus
	b           behaviour
	memoryLimit int64
	// run counts the container's transitions, so that a timer set for
	// one run does not end a later state.
	run   int
	timer clock.Timer   // set while it is due to exit on its own
	done  chan struct{} // closed when it exits
}

// CreateContainer records a created container in sb. Its FAKE_*
// variables are checked here, so a typo fails early.
func (r *Runtime) CreateContainer(ctx context.Context, sb *runtime.Sandbox, cfg runtime.ContainerConfig) (string, error) {
	b, err := parseBehaviour(cfg.Env)
	if err != nil {
		return "", fmt.Errorf("create container %q: %w", cfg.Name, err)
	}
	id := newID()
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkOpen(); err != nil {
		return "", err
	}
	if _, ok := r.sandboxes[sb.PodUID]; !ok {
		return "", fmt.Errorf("create container %q: sandbox of pod %s/%s: %w", cfg.Name, sb.Namespace, sb.Name, runtime.ErrNotFound)
	}
	for _, c := range r.containers {
		if c.status.PodUID == sb.PodUID && c.status.Name == cfg.Name && c.status.Attempt == cfg.Attempt {
			return "", fmt.Errorf("create container %q: attempt %d of pod %s/%s already exists as %s",
				cfg.Name, cfg.Attempt, sb.Namespace, sb.Name, c.status.ID)
		}
	}
	labels := maps.Clone(cfg.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[runtime.LabelPodUID] = sb.PodUID
	labels[runtime.LabelPodNamespace] = sb.Namespace
	labels[runtime.LabelPodName] = sb.Name
	labels[runtime.LabelContainerName] = cfg.Name
	labels[runtime.LabelAttempt] = strconv.Itoa(cfg.Attempt)
	if cfg.Init {
		labels[runtime.LabelInit] = "true"
	}
	r.containers[id] = &container{
		status: runtime.ContainerStatus{
			ID: id, PodUID: sb.PodUID, Name: cfg.Name, Attempt: cfg.Attempt, Init: cfg.Init,
			Image: cfg.Image.Name, ImageID: cfg.Image.ID,
			State: runtime.StateCreated, CreatedAt: now, LogPath: cfg.LogPath, Labels: labels,
		},
		b:           b,
		memoryLimit: cfg.Resources.MemoryLimit,
	}
	return id, nil
}

// StartContainer starts a created container. It then runs until stopped,
// or exits (or is OOM-killed) as its FAKE_* variables say.
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	now := r.clock.Now()
	r.mu.Lock()
	c, err := r.lookupLocked(id)
	if err == nil {
		err = r.checkOpen()
	}
	if err != nil {
		r.mu.Unlock()
		return err
	}
	if c.status.State != runtime.StateCreated {
		r.mu.Unlock()
		return fmt.Errorf("start container %s: it is %s, not created", c.status.Name, c.status.State)
	}
	if msg := c.b.startError; msg != "" {
		c.status.State, c.status.FinishedAt = runtime.StateExited, now
		c.status.ExitCode, c.status.Reason, c.status.Message = exitStartError, "Error", msg
		r.mu.Unlock()
		return fmt.Errorf("start container %s: %s", c.status.Name, msg)
	}
	c.status.State, c.status.StartedAt = runtime.StateRunning, now
	c.done = make(chan struct{})
	c.run++
	run, b, logPath := c.run, c.b, c.status.LogPath
	oom := b.oomKilled(c.memoryLimit)
	switch {
	case oom && !b.exits, b.exits && b.runFor == 0:
		r.endLocked(c, now, b.exitCode, oom)
	}
	r.mu.Unlock()

	if logPath != "" && len(b.log) > 0 {
		if err := writeLog(logPath, now, b.log); err != nil {
			return fmt.Errorf("start container %s: %w", c.status.Name, err)
		}
	}
	if b.exits && b.runFor > 0 {
		r.setTimer(id, run, b.runFor)
	}
	return nil
}

// setTimer arms the exit of run of container id after d. The clock is
// called without r.mu held (see Runtime.mu).
func (r *Runtime) setTimer(id string, run int, d time.Duration) {
	t := r.clock.AfterFunc(d, func() { r.timerFired(id, run) })
	r.mu.Lock()
	c, ok := r.containers[id]
	if ok && c.run == run && c.status.State == runtime.StateRunning && !r.closed {
		c.timer, t = t, nil
	}
	r.mu.Unlock()
	if t != nil {
		t.Stop()
	}
}

// timerFired ends run of container id at the time it was due.
func (r *Runtime) timerFired(id string, run int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok || c.run != run || c.status.State != runtime.StateRunning {
		return
	}
	c.timer = nil
	r.endLocked(c, c.status.StartedAt.Add(c.b.runFor), c.b.exitCode, c.b.oomKilled(c.memoryLimit))
}

// endLocked makes a running container exit at t with code, or be
// OOM-killed, and emits the events; it returns the container's timer,
// which the caller stops once r.mu is released.
func (r *Runtime) endLocked(c *container, t time.Time, code int, oom bool) clock.Timer {
	reason := "Error"
	switch {
	case oom:
		code, reason = exitKilled, "OOMKilled"
		r.emitLocked(runtime.Event{Type: runtime.EventOOM, ContainerID: c.status.ID, PodUID: c.status.PodUID, Time: t})
	case code == 0:
		reason = "Completed"
	}
	c.status.State, c.status.FinishedAt, c.status.ExitCode, c.status.Reason = runtime.StateExited, t, code, reason
	c.run++
	close(c.done)
	timer := c.timer
	c.timer = nil
	r.emitLocked(runtime.Event{Type: runtime.EventExit, ContainerID: c.status.ID, PodUID: c.status.PodUID, ExitCode: code, Time: t})
	return timer
}

// end ends container id now, if it is running.
func (r *Runtime) end(id string, code int, oom bool) error {
	now := r.clock.Now()
	r.mu.Lock()
	c, err := r.lookupLocked(id)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	if c.status.State != runtime.StateRunning {
		r.mu.Unlock()
		return fmt.Errorf("container %s is %s, not running", c.status.Name, c.status.State)
	}
	t := r.endLocked(c, now, code, oom)
	r.mu.Unlock()
	if t != nil {
		t.Stop()
	}
	return nil
}

// Exit makes a running container exit now with code, as if its process
// had.
func (r *Runtime) Exit(id string, code int) error { return r.end(id, code, false) }

// OOMKill kills a running container now as the kernel's OOM killer
// would.
func (r *Runtime) OOMKill(id string) error { return r.end(id, 0, true) }

// StopContainer stops a running container: it exits at once with
// FAKE_STOP_EXIT_CODE, or with FAKE_IGNORE_SIGTERM after grace with 137.
// Stopping a container that is not running does nothing.
func (r *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	now := r.clock.Now()
	r.mu.Lock()
	c, err := r.lookupLocked(id)
	if err != nil || c.status.State != runtime.StateRunning {
		r.mu.Unlock()
		return err
	}
	if !c.b.ignoreSIGTERM || grace <= 0 {
		code := c.b.stopExitCode
		if c.b.ignoreSIGTERM {
			code = exitKilled
		}
		t := r.endLocked(c, now, code, false)
		r.mu.Unlock()
		if t != nil {
			t.Stop()
		}
		return nil
	}
	done, run := c.done, c.run
	r.mu.Unlock()

	kill := r.clock.NewTimer(grace)
	defer kill.Stop()
	select {
	case <-done: // it exited on its own meanwhile
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop container %s: %w", id, ctx.Err())
	case <-kill.C():
	}
	r.mu.Lock()
	var t clock.Timer
	if c.run == run && c.status.State == runtime.StateRunning {
		t = r.endLocked(c, now.Add(grace), exitKilled, false)
	}
	r.mu.Unlock()
	if t != nil {
		t.Stop()
	}
	return nil
}

// RemoveContainer forgets a container that is not running.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.lookupLocked(id)
	if err != nil {
		return err
	}
	if c.status.State == runtime.StateRunning {
		return fmt.Errorf("remove container %s: it is running; stop it first", c.status.Name)
	}
	delete(r.containers, id)
	return nil
}

// ListContainers lists every container, oldest first.
func (r *Runtime) ListContainers(ctx context.Context) ([]runtime.ContainerStatus, error) {
	r.mu.Lock()
	out := make([]runtime.ContainerStatus, 0, len(r.containers))
	for _, c := range r.containers {
		out = append(out, c.snapshot())
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b runtime.ContainerStatus) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// ListPodContainers lists the containers of one pod.
func (r *Runtime) ListPodContainers(ctx context.Context, podUID string) ([]runtime.ContainerStatus, error) {
	all, err := r.ListContainers(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, c := range all {
		if c.PodUID == podUID {
			out = append(out, c)
		}
	}
	return out, nil
}

// ContainerStatus reports one container.
func (r *Runtime) ContainerStatus(ctx context.Context, id string) (runtime.ContainerStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.lookupLocked(id)
	if err != nil {
		return runtime.ContainerStatus{}, err
	}
	return c.snapshot(), nil
}

func (r *Runtime) lookupLocked(id string) (*container, error) {
	c, ok := r.containers[id]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", id, runtime.ErrNotFound)
	}
	return c, nil
}

// snapshot is a copy of the status the caller may keep.
func (c *container) snapshot() runtime.ContainerStatus {
	st := c.status
	st.Labels = maps.Clone(st.Labels)
	return st
}

func newID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand crashes instead)
	return hex.EncodeToString(b[:])
}
