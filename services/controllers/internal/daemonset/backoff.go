package daemonset

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Back-off of replacing failed daemon pods on one node, as Kubernetes':
// 1s doubling to 15 minutes, forgotten after twice that without failures.
const (
	failedBackoffInitial = time.Second
	failedBackoffMax     = 15 * time.Minute
)

// backoff paces the replacement of failed pods per key (DaemonSet and
// node), so that a node agent rejecting a pod and the controller
// re-creating it do not loop hot.
type backoff struct {
	clock clock.PassiveClock
	mu    sync.Mutex
	m     map[string]backoffEntry
}

type backoffEntry struct {
	delay time.Duration
	last  time.Time
}

func newBackoff(clk clock.PassiveClock) *backoff {
	return &backoff{clock: clk, m: map[string]backoffEntry{}}
}

// wait returns how long key still has to wait (0: not backing off).
func (b *backoff) wait(key string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[key]
	if !ok {
		return 0
	}
	return max(e.last.Add(e.delay).Sub(b.clock.Now()), 0)
}

// next records a failure of key: its back-off starts, or doubles.
func (b *backoff) next(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	for k, e := range b.m {
		if now.Sub(e.last) > 2*failedBackoffMax {
			delete(b.m, k)
		}
	}
	e, ok := b.m[key]
	if !ok {
		e.delay = failedBackoffInitial
	} else {
		e.delay = min(2*e.delay, failedBackoffMax)
	}
	e.last = now
	b.m[key] = e
}
