package containerd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	tasktypes "github.com/containerd/containerd/api/types/task"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// ContainerStatus reports one container. An exited task found here is
// recorded and deleted first.
func (r *Runtime) ContainerStatus(ctx context.Context, id string) (runtime.ContainerStatus, error) {
	ctx = r.nsctx(ctx)
	if _, err := r.finalize(ctx, id); err != nil {
		return runtime.ContainerStatus{}, err
	}
	c, err := r.loadContainer(ctx, id)
	if err != nil {
		return runtime.ContainerStatus{}, err
	}
	info, err := c.Info(ctx, containerd.WithoutRefreshedMetadata)
	if errdefs.IsNotFound(err) {
		return runtime.ContainerStatus{}, fmt.Errorf("container %s: %w", id, runtime.ErrNotFound)
	}
	if err != nil {
		return runtime.ContainerStatus{}, fmt.Errorf("container %s: %w", id, err)
	}
	var proc *tasktypes.Process
	resp, err := r.client.TaskService().Get(ctx, &tasksapi.GetRequest{ContainerID: id})
	switch {
	case err == nil:
		proc = resp.Process
	case !errdefs.IsNotFound(errgrpc.ToNative(err)):
		return runtime.ContainerStatus{}, fmt.Errorf("container %s: task: %w", id, errgrpc.ToNative(err))
	}
	return containerStatus(info, proc), nil
}

// ListPodContainers lists one pod's containers by their pod label, asking
// containerd for the task of each of them only (listing all tasks asks
// every shim on the node).
func (r *Runtime) ListPodContainers(ctx context.Context, podUID string) ([]runtime.ContainerStatus, error) {
	ctx = r.nsctx(ctx)
	filter := fmt.Sprintf("labels.%q==%q", runtime.LabelPodUID, podUID)
	infos, err := r.client.ContainerService().List(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("list containers of pod %s: %w", podUID, err)
	}
	out := make([]runtime.ContainerStatus, 0, len(infos))
	for _, info := range infos {
		s, err := r.ContainerStatus(ctx, info.ID)
		if errors.Is(err, runtime.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// ListContainers lists the namespace's containers. Exited tasks found
// are recorded and deleted first.
func (r *Runtime) ListContainers(ctx context.Context) ([]runtime.ContainerStatus, error) {
	ctx = r.nsctx(ctx)
	procs, err := r.tasks(ctx)
	if err != nil {
		return nil, err
	}
	finalized := false
	for id, p := range procs {
		if p.Status == tasktypes.Status_STOPPED {
			if _, err := r.finalize(ctx, id); err != nil {
				r.log.Warn("record container exit", "id", id, "err", err)
			}
			finalized = true
		}
	}
	if finalized {
		if procs, err = r.tasks(ctx); err != nil {
			return nil, err
		}
	}
	infos, err := r.client.ContainerService().List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]runtime.ContainerStatus, 0, len(infos))
	for _, info := range infos {
		out = append(out, containerStatus(info, procs[info.ID]))
	}
	return out, nil
}

// tasks returns the namespace's tasks by container ID.
func (r *Runtime) tasks(ctx context.Context) (map[string]*tasktypes.Process, error) {
	resp, err := r.client.TaskService().List(ctx, &tasksapi.ListTasksRequest{})
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", errgrpc.ToNative(err))
	}
	procs := make(map[string]*tasktypes.Process, len(resp.Tasks))
	for _, p := range resp.Tasks {
		procs[p.ID] = p
	}
	return procs, nil
}

// containerStatus describes a container from its record and its task
// (nil when it has none).
func containerStatus(info containers.Container, proc *tasktypes.Process) runtime.ContainerStatus {
	l := info.Labels
	attempt, _ := strconv.Atoi(l[runtime.LabelAttempt])
	s := runtime.ContainerStatus{
		ID:        info.ID,
		PodUID:    l[runtime.LabelPodUID],
		Name:      l[runtime.LabelContainerName],
		Attempt:   attempt,
		Init:      l[runtime.LabelInit] == "true",
		Image:     info.Image,
		ImageID:   l[labelImageID],
		CreatedAt: info.CreatedAt,
		StartedAt: parseTime(l[labelStartedAt]),
		LogPath:   l[labelLogPath],
		Labels:    publicLabels(l),
	}
	switch {
	case proc != nil:
		switch proc.Status {
		case tasktypes.Status_CREATED:
			s.State = runtime.StateCreated
		case tasktypes.Status_RUNNING, tasktypes.Status_PAUSED, tasktypes.Status_PAUSING:
			s.State = runtime.StateRunning
		case tasktypes.Status_STOPPED:
			// Exited but not yet recorded (finalize raced with us): the
			// cgroup tells an OOM kill, as finalize will record it.
			s.State = runtime.StateExited
			s.ExitCode = int(proc.ExitStatus)
			if proc.ExitedAt != nil {
				s.FinishedAt = proc.ExitedAt.AsTime()
			}
			s.Reason = exitReason(s.ExitCode, s.ExitCode == 128+9 && oomKilled(l[labelCgroup]))
		default:
			s.State = runtime.StateUnknown
		}
	case l[labelFinishedAt] != "":
		s.State = runtime.StateExited
		s.FinishedAt = parseTime(l[labelFinishedAt])
		s.ExitCode, _ = strconv.Atoi(l[labelExitCode])
		s.Reason = l[labelReason]
		s.Message = l[labelMessage]
	default:
		s.State = runtime.StateCreated
	}
	return s
}

func exitReason(code int, oom bool) string {
	switch {
	case oom:
		return ReasonOOMKilled
	case code == 0:
		return ReasonCompleted
	default:
		return ReasonError
	}
}

// finalize records the exit of a container whose task has stopped,
// deletes the task and sends the exit event: every exit is reported once,
// by whoever notices it first. It reports whether it did; a container
// without a stopped task is left alone.
func (r *Runtime) finalize(ctx context.Context, id string) (bool, error) {
	unlock := r.locks.Lock(id)
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		unlock()
		return false, nil
	}
	if err != nil {
		unlock()
		return false, fmt.Errorf("container %s: %w", id, err)
	}
	ev, err := r.finalizeLocked(ctx, c)
	unlock()
	if ev != nil {
		r.emit(ctx, *ev)
	}
	return ev != nil, err
}

// finalizeLocked is finalize with the container's lock held; it returns
// the exit event to send (after unlocking) if it recorded an exit.
func (r *Runtime) finalizeLocked(ctx context.Context, c containerd.Container) (*runtime.Event, error) {
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("container %s: task: %w", c.ID(), err)
	}
	st, err := task.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("container %s: task: %w", c.ID(), err)
	}
	if st.Status != containerd.Stopped {
		return nil, nil
	}
	labels, err := c.Labels(ctx)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.ID(), err)
	}
	code := int(st.ExitStatus)
	exitedAt := st.ExitTime
	if exitedAt.IsZero() {
		exitedAt = time.Now()
	}
	// Only a container that was killed can have been killed by the OOM
	// killer: a TaskOOM event also reaches the other containers of a pod
	// whose own cgroup ran out of memory.
	oom := code == 128+9 && (r.takeOOM(c.ID()) || oomKilled(labels[labelCgroup]))
	if _, err := c.SetLabels(ctx, exitLabels(code, exitedAt, exitReason(code, oom), "")); err != nil {
		return nil, fmt.Errorf("container %s: record exit: %w", c.ID(), err)
	}
	ev := &runtime.Event{Type: runtime.EventExit, ContainerID: c.ID(), PodUID: labels[runtime.LabelPodUID],
		ExitCode: code, Time: exitedAt}
	if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) && !taskGone(ctx, c) {
		return ev, fmt.Errorf("container %s: delete task: %w", c.ID(), err)
	}
	r.log.Debug("container exited", "id", c.ID(), "code", code, "oom", oom)
	return ev, nil
}

// taskGone reports whether c's task is gone within a moment, after a
// failed delete: when another client (a second agent process's cleanup,
// say) deletes the same exited task at the same time, the shim exits
// and the loser's call fails with "ttrpc: closed" although the task is
// deleted.
func taskGone(ctx context.Context, c containerd.Container) bool {
	for range 10 {
		if _, err := c.Task(ctx, nil); errdefs.IsNotFound(err) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}

func (r *Runtime) markOOM(id string) {
	r.oomMu.Lock()
	defer r.oomMu.Unlock()
	r.oom[id] = true
}

func (r *Runtime) takeOOM(id string) bool {
	r.oomMu.Lock()
	defer r.oomMu.Unlock()
	oom := r.oom[id]
	delete(r.oom, id)
	return oom
}
