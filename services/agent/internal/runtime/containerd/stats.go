package containerd

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// Stats reports a running container's cgroup usage.
func (r *Runtime) Stats(ctx context.Context, id string) (runtime.Stats, error) {
	ctx = r.nsctx(ctx)
	c, err := r.loadContainer(ctx, id)
	if err != nil {
		return runtime.Stats{}, err
	}
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return runtime.Stats{}, fmt.Errorf("stats of %s: not running: %w", id, runtime.ErrNotFound)
	}
	if err != nil {
		return runtime.Stats{}, fmt.Errorf("stats of %s: %w", id, err)
	}
	m, err := task.Metrics(ctx)
	if err != nil {
		return runtime.Stats{}, fmt.Errorf("stats of %s: %w", id, err)
	}
	data, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return runtime.Stats{}, fmt.Errorf("stats of %s: %w", id, err)
	}
	s := runtime.Stats{Time: time.Now()}
	if m.Timestamp != nil {
		s.Time = m.Timestamp.AsTime()
	}
	switch d := data.(type) {
	case *v1.Metrics:
		s.CPUUsageNanos = d.GetCPU().GetUsage().GetTotal()
		s.MemoryUsage = d.GetMemory().GetUsage().GetUsage()
		s.MemoryWorkingSet = workingSet(s.MemoryUsage, d.GetMemory().GetTotalInactiveFile())
		s.PidsCurrent = d.GetPids().GetCurrent()
	case *v2.Metrics:
		s.CPUUsageNanos = d.GetCPU().GetUsageUsec() * 1000
		s.MemoryUsage = d.GetMemory().GetUsage()
		s.MemoryWorkingSet = workingSet(s.MemoryUsage, d.GetMemory().GetInactiveFile())
		s.PidsCurrent = d.GetPids().GetCurrent()
	default:
		return runtime.Stats{}, fmt.Errorf("stats of %s: unknown metrics type %T", id, data)
	}
	return s, nil
}

// workingSet is memory in use minus the file cache the kernel may drop,
// as the kubelet computes it.
func workingSet(usage, inactiveFile uint64) uint64 {
	if inactiveFile > usage {
		return 0
	}
	return usage - inactiveFile
}
