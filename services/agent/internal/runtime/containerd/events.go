package containerd

import (
	"context"
	"fmt"
	"time"

	eventtypes "github.com/containerd/containerd/api/events"
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/typeurl/v2"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// watchEvents follows containerd's task exit and OOM events of the
// namespace until ctx ends, resubscribing when the connection breaks
// (containerd restarted). After each subscription it sweeps the tasks for
// exits it may have missed meanwhile.
func (r *Runtime) watchEvents(ctx context.Context) {
	defer close(r.done)
	ns := r.cfg.Namespace
	filters := []string{
		fmt.Sprintf(`namespace==%q,topic=="/tasks/exit"`, ns),
		fmt.Sprintf(`namespace==%q,topic=="/tasks/oom"`, ns),
	}
	backoff := 100 * time.Millisecond
	for {
		subCtx, cancel := context.WithCancel(ctx)
		envelopes, errs := r.client.EventService().Subscribe(subCtx, filters...)
		r.sweep(ctx)
		err := r.handleEvents(ctx, envelopes, errs)
		cancel()
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("containerd events interrupted; resubscribing", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (r *Runtime) handleEvents(ctx context.Context, envelopes <-chan *events.Envelope, errs <-chan error) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errs:
			return err
		case env := <-envelopes:
			ev, err := typeurl.UnmarshalAny(env.Event)
			if err != nil {
				r.log.Warn("decode containerd event", "topic", env.Topic, "err", err)
				continue
			}
			switch e := ev.(type) {
			case *eventtypes.TaskExit:
				if e.ID != e.ContainerID {
					continue // an exec'd process
				}
				// finalize reports the exit, unless another caller
				// (StopContainer, ListContainers) recorded it first and
				// reported it then.
				if _, err := r.finalize(ctx, e.ContainerID); err != nil {
					r.log.Warn("record container exit", "id", e.ContainerID, "err", err)
				}
			case *eventtypes.TaskOOM:
				r.markOOM(e.ContainerID)
				r.emit(ctx, runtime.Event{Type: runtime.EventOOM, ContainerID: e.ContainerID,
					PodUID: r.podUIDOf(ctx, e.ContainerID), Time: env.Timestamp})
			}
		}
	}
}

// sweep records (and so reports) the exits of tasks that stopped while
// no one listened.
func (r *Runtime) sweep(ctx context.Context) {
	procs, err := r.tasks(ctx)
	if err != nil {
		r.log.Warn("sweep exited tasks", "err", err)
		return
	}
	for id, p := range procs {
		if p.Status != tasktypes.Status_STOPPED {
			continue
		}
		if _, err := r.finalize(ctx, id); err != nil {
			r.log.Warn("record container exit", "id", id, "err", err)
		}
	}
}

func (r *Runtime) podUIDOf(ctx context.Context, id string) string {
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return ""
	}
	l, err := c.Labels(ctx)
	if err != nil {
		return ""
	}
	return l[runtime.LabelPodUID]
}

// emit delivers an event; it gives up when ctx ends or the runtime is
// closing.
func (r *Runtime) emit(ctx context.Context, ev runtime.Event) {
	r.emitMu.RLock()
	defer r.emitMu.RUnlock()
	if r.closed {
		return
	}
	select {
	case r.events <- ev:
	case <-ctx.Done():
	case <-r.stopping:
	}
}
