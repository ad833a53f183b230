package containerd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/containerd/containerd/api/types/runc/options"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/moby/sys/signal"

	"github.com/gantry-dev/gantry/services/agent/internal/logger"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// CreateContainer creates a container in sb from an image EnsureImage
// returned; it does not start it.
func (r *Runtime) CreateContainer(ctx context.Context, sb *runtime.Sandbox, cfg runtime.ContainerConfig) (string, error) {
	ctx = r.nsctx(ctx)
	if sb == nil {
		return "", errors.New("create container: no sandbox")
	}
	if cfg.Name == "" {
		return "", errors.New("create container: no name")
	}
	img, err := r.client.GetImage(ctx, cfg.Image.Name)
	if errdefs.IsNotFound(err) {
		return "", fmt.Errorf("create container %s: image %s: %w", cfg.Name, cfg.Image.Name, runtime.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	if err := r.unpack(ctx, img); err != nil {
		return "", fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	imgSpec, err := img.Spec(ctx)
	if err != nil {
		return "", fmt.Errorf("create container %s: image config: %w", cfg.Name, err)
	}
	imgConfig, err := img.Config(ctx)
	if err != nil {
		return "", fmt.Errorf("create container %s: image config: %w", cfg.Name, err)
	}

	id := newID()
	specOpts, err := r.specOpts(sb, cfg, imgSpec, id)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	labels := containerLabels(sb, cfg, imgConfig.Digest.String(), imgSpec.Config.StopSignal,
		cgroupPath(cfg.Resources, r.cfg.DefaultCgroupParent, id))
	_, err = r.client.NewContainer(ctx, id,
		containerd.WithImage(img),
		containerd.WithSnapshotter(r.cfg.Snapshotter),
		containerd.WithNewSnapshot(id, img),
		containerd.WithRuntime(runcRuntime, &options.Options{Root: r.cfg.RuncRoot}),
		containerd.WithNewSpec(specOpts...),
		containerd.WithContainerLabels(labels))
	if err != nil {
		return "", fmt.Errorf("create container %s of pod %s/%s: %w", cfg.Name, sb.Namespace, sb.Name, err)
	}
	r.log.Debug("created container", "id", id, "pod", sb.Namespace+"/"+sb.Name, "container", cfg.Name)
	return id, nil
}

// startTimeout bounds starting a container or an exec'd process.
const startTimeout = 2 * time.Minute

// StartContainer starts a created container. A container runs once: one
// that has exited cannot be started again (the agent creates a new one).
// A failure to start is recorded as an exit (128, StartError).
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	ctx = r.nsctx(ctx)
	defer r.locks.Lock(id)()
	c, err := r.loadContainer(ctx, id)
	if err != nil {
		return err
	}
	info, err := c.Info(ctx, containerd.WithoutRefreshedMetadata)
	if err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	if info.Labels[labelFinishedAt] != "" || info.Labels[labelStartedAt] != "" {
		return fmt.Errorf("start container %s: it has run already", id)
	}
	if _, err := c.Task(ctx, nil); err == nil {
		return fmt.Errorf("start container %s: it has a task already", id)
	}

	// Starting is not cut short by ctx: a start interrupted half way can
	// leave a process behind that containerd does not know of.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), startTimeout)
	defer cancel()
	task, err := c.NewTask(ctx, r.logIO(info.Labels))
	if err != nil {
		return r.startFailed(ctx, c, err)
	}
	started := time.Now()
	if err := task.Start(ctx); err != nil {
		if _, derr := task.Delete(ctx, containerd.WithProcessKill); derr != nil {
			r.log.Warn("delete task that failed to start", "id", id, "err", derr)
		}
		return r.startFailed(ctx, c, err)
	}
	if _, err := c.SetLabels(ctx, map[string]string{labelStartedAt: formatTime(started)}); err != nil {
		return fmt.Errorf("start container %s: record start: %w", id, err)
	}
	return nil
}

// logIO returns the container's stdio: the logger, or nothing without a
// log path.
func (r *Runtime) logIO(labels map[string]string) cio.Creator {
	path := labels[labelLogPath]
	if path == "" {
		return cio.NullIO
	}
	opts := logger.Options{Path: path, MaxFiles: 1}
	opts.MaxBytes, _ = strconv.ParseInt(labels[labelLogMaxBytes], 10, 64)
	if n, err := strconv.Atoi(labels[labelLogMaxFiles]); err == nil && n > 0 {
		opts.MaxFiles = n
	}
	if labels[labelTTY] == "true" {
		return cio.TerminalBinaryIO(r.cfg.LoggerBinary, logger.URIArgs(opts))
	}
	return cio.BinaryIO(r.cfg.LoggerBinary, logger.URIArgs(opts))
}

func (r *Runtime) startFailed(ctx context.Context, c containerd.Container, cause error) error {
	if _, err := c.SetLabels(ctx, exitLabels(128, time.Now(), ReasonStartError, cause.Error())); err != nil {
		r.log.Warn("record start failure", "id", c.ID(), "err", err)
	}
	return fmt.Errorf("start container %s: %w", c.ID(), cause)
}

// StopContainer signals the container (its image's stop signal, or
// SIGTERM), kills it after grace and returns once it has exited. A
// container not running is left as it is.
func (r *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	ctx = r.nsctx(ctx)
	c, err := r.loadContainer(ctx, id)
	if err != nil {
		return err
	}
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	st, err := task.Status(ctx)
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	if err == nil && st.Status != containerd.Stopped {
		labels, err := c.Labels(ctx)
		if err != nil {
			return fmt.Errorf("stop container %s: %w", id, err)
		}
		if err := stopTask(ctx, task, stopSignal(labels[labelStopSignal]), grace, labels[labelHostPID] == "true"); err != nil {
			return fmt.Errorf("stop container %s: %w", id, err)
		}
	}
	_, err = r.finalize(ctx, id)
	return err
}

// stopTask sends sig, then SIGKILL after grace, and waits for the exit.
func stopTask(ctx context.Context, task containerd.Task, sig syscall.Signal, grace time.Duration, killAll bool) error {
	exited, err := task.Wait(ctx)
	if err != nil {
		return err
	}
	if grace > 0 {
		if err := task.Kill(ctx, sig); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("signal %v: %w", sig, err)
		}
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case st := <-exited:
			return st.Error()
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var opts []containerd.KillOpts
	if killAll {
		// Without a PID namespace of its own, the container's other
		// processes outlive its first one.
		opts = append(opts, containerd.WithKillAll)
	}
	if err := task.Kill(ctx, syscall.SIGKILL, opts...); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("kill: %w", err)
	}
	select {
	case st := <-exited:
		// An error: the wait itself failed (ctx ended).
		return st.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func stopSignal(name string) syscall.Signal {
	if name != "" {
		if s, err := signal.ParseSignal(name); err == nil {
			return s
		}
	}
	return syscall.SIGTERM
}

// RemoveContainer deletes a container that is not running, with its
// snapshot. Its log file stays.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	ctx = r.nsctx(ctx)
	ev, err := r.remove(ctx, id)
	if ev != nil {
		r.emit(ctx, *ev)
	}
	return err
}

// remove is RemoveContainer under the container's lock; it returns the
// exit event to send if the container's exit had not been recorded.
func (r *Runtime) remove(ctx context.Context, id string) (*runtime.Event, error) {
	defer r.locks.Lock(id)()
	c, err := r.loadContainer(ctx, id)
	if err != nil {
		return nil, err
	}
	var ev *runtime.Event
	if task, err := c.Task(ctx, nil); err == nil {
		st, err := task.Status(ctx)
		if err != nil && !errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("remove container %s: %w", id, err)
		}
		if err == nil && st.Status != containerd.Stopped {
			return nil, fmt.Errorf("remove container %s: it is %s; stop it first", id, st.Status)
		}
		if ev, err = r.finalizeLocked(ctx, c); err != nil {
			return ev, fmt.Errorf("remove container %s: %w", id, err)
		}
	}
	if err := c.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return ev, fmt.Errorf("remove container %s: %w", id, err)
	}
	r.oomMu.Lock()
	delete(r.oom, id)
	r.oomMu.Unlock()
	return ev, nil
}

func (r *Runtime) loadContainer(ctx context.Context, id string) (containerd.Container, error) {
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("container %s: %w", id, runtime.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	return c, nil
}

// newID returns a container ID like Docker's: 64 hex digits.
func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
