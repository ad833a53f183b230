package fake

import (
	"context"
	"errors"
	"sync"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"k8s.io/utils/clock"
)

// Config of a fake runtime; the zero value is a working one.
type Config struct {
	// Root, when set, is where sandboxes get their directory
	// (Root/<pod UID>), created and removed with them. Without it
	// Sandbox.Dir is empty and nothing is written to disk.
	Root string
	// PullError decides whether pulling ref with auth fails; nil means
	// the rule of the package comment ("missing", "private").
	PullError func(ref string, auth []runtime.RegistryAuth) error
	// Exec, when set, runs every Exec instead of the built-in behaviour.
	Exec func(ctx context.Context, c runtime.ContainerStatus, cfg runtime.ExecConfig) (int, error)
	// Clock times containers and their exits; default the real clock.
	Clock clock.WithDelayedExecution
}

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("fake runtime: closed")

// Runtime is an in-memory runtime.Runtime. Its methods are safe for
// concurrent use.
type Runtime struct {
	cfg   Config
	clock clock.WithDelayedExecution

	// mu guards the maps and the event queue. It is never held while
	// calling the clock: a fake clock runs AfterFunc callbacks under its
	// own lock, and they take mu.
	mu         sync.Mutex
	images     map[string]runtime.Image // by name
	sandboxes  map[string]*runtime.Sandbox
	containers map[string]*container
	queue      []runtime.Event
	closed     bool

	wake   chan struct{} // a non-blocking nudge to the pump
	done   chan struct{} // closed by Close
	pumped chan struct{} // closed when the pump has returned
	events chan runtime.Event
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns an empty runtime with its event pump running; Close stops
// it.
func New(cfg Config) *Runtime {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.PullError == nil {
		cfg.PullError = DefaultPullError
	}
	r := &Runtime{
		cfg:        cfg,
		clock:      cfg.Clock,
		images:     map[string]runtime.Image{},
		sandboxes:  map[string]*runtime.Sandbox{},
		containers: map[string]*container{},
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		pumped:     make(chan struct{}),
		events:     make(chan runtime.Event, 16),
	}
	go r.pump()
	return r
}

// Events delivers exits and OOM kills; it is closed by Close.
func (r *Runtime) Events() <-chan runtime.Event { return r.events }

// Close stops the timers of running containers and the event pump, and
// closes Events; events not yet received are dropped. Containers stay as
// they are.
func (r *Runtime) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	var timers []clock.Timer
	for _, c := range r.containers {
		if c.timer != nil {
			timers = append(timers, c.timer)
			c.timer = nil
		}
	}
	r.queue = nil
	r.mu.Unlock()
	for _, t := range timers {
		t.Stop()
	}
	close(r.done)
	<-r.pumped
	close(r.events)
	return nil
}

// emitLocked queues events for the pump; r.mu is held.
func (r *Runtime) emitLocked(evs ...runtime.Event) {
	if r.closed {
		return
	}
	r.queue = append(r.queue, evs...)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// pump moves queued events to the Events channel in order, so that a
// slow reader never blocks a container's exit.
func (r *Runtime) pump() {
	defer close(r.pumped)
	for {
		select {
		case <-r.done:
			return
		case <-r.wake:
		}
		r.mu.Lock()
		batch := r.queue
		r.queue = nil
		r.mu.Unlock()
		for _, ev := range batch {
			select {
			case r.events <- ev:
			case <-r.done:
				return
			}
		}
	}
}

func (r *Runtime) checkOpen() error {
	if r.closed {
		return ErrClosed
	}
	return nil
}
