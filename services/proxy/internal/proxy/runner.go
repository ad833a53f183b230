package proxy

import (
	"context"
	"log/slog"
	"time"
)

// FullSyncPeriod is how often a proxier rewrites every rule it owns
// (repairing anything changed behind its back), as kube-proxy does: with
// thousands of Services a full sync takes seconds to minutes, so the
// periodic --iptables-sync-period syncs write only what changed.
const FullSyncPeriod = time.Hour

// Runner calls a sync function when triggered, at most once per
// MinInterval (a burst of triggers is one sync) and at least once per
// MaxInterval. A failed sync is retried with exponential back-off,
// starting at MinInterval (or one second) and capped at MaxInterval.
type Runner struct {
	MinInterval, MaxInterval time.Duration
	Sync                     func(context.Context) error
	Log                      *slog.Logger

	kick chan struct{}
}

// NewRunner returns a runner of sync.
func NewRunner(minInterval, maxInterval time.Duration, sync func(context.Context) error, log *slog.Logger) *Runner {
	return &Runner{MinInterval: minInterval, MaxInterval: maxInterval, Sync: sync, Log: log, kick: make(chan struct{}, 1)}
}

// Trigger asks for a sync soon. It never blocks.
func (r *Runner) Trigger() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run syncs once at once, then as triggered, until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	var (
		last     time.Time
		failures int
		retryAt  time.Time // no sync before this after a failure
	)
	timer := time.NewTimer(0)
	defer timer.Stop()
	next := time.Now()
	schedule := func(at time.Time) {
		next = at
		timer.Reset(time.Until(at))
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.kick:
			at := last.Add(r.MinInterval)
			if at.Before(retryAt) {
				at = retryAt
			}
			if at.Before(next) {
				schedule(at)
			}
		case <-timer.C:
			err := r.Sync(ctx)
			last = time.Now()
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				failures++
				wait := r.backoff(failures)
				r.Log.Error("sync failed; retrying", "err", err, "failures", failures, "retryIn", wait)
				retryAt = last.Add(wait)
				schedule(retryAt)
				continue
			}
			failures, retryAt = 0, time.Time{}
			schedule(last.Add(r.MaxInterval))
		}
	}
}

func (r *Runner) backoff(failures int) time.Duration {
	d := max(r.MinInterval, time.Second)
	for i := 1; i < failures && d < r.MaxInterval; i++ {
		d *= 2
	}
	return min(d, r.MaxInterval)
}
