package node

import (
	"context"
	"math/rand/v2"
	"time"
)

// Back-off after failed calls, as kubelet's node lease controller: from
// 200ms doubling to 7s (or the loop's interval, if shorter).
const (
	backoffInitial = 200 * time.Millisecond
	backoffMax     = 7 * time.Second
	// jitterFactor spreads the loops of many nodes (kubelet's 0.04).
	jitterFactor = 0.04
)

// retry calls step until it succeeds or ctx ends, waiting with back-off
// between attempts; it returns step's error only when it is permanent.
func (n *Node) retry(ctx context.Context, what string, step func(context.Context) error) error {
	b := backoff{max: backoffMax}
	for {
		err := n.attempt(ctx, n.cfg.StatusUpdateFrequency, step)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if permanent(err) {
			n.log.Error(what, "err", err)
			return err
		}
		n.log.Warn(what, "err", err)
		if !n.sleep(ctx, b.next()) {
			return nil
		}
	}
}

// every calls step at once, then every interval (jittered) until ctx
// ends; after a failure it tries again sooner, with back-off.
func (n *Node) every(ctx context.Context, what string, interval time.Duration, step func(context.Context) error) {
	b := backoff{max: min(backoffMax, interval)}
	failing := false
	for {
		wait := interval + time.Duration(rand.Float64()*jitterFactor*float64(interval))
		if err := n.attempt(ctx, interval, step); err != nil && ctx.Err() == nil {
			if !failing {
				n.log.Warn(what, "err", err)
			} else {
				n.log.Debug(what, "err", err)
			}
			failing = true
			wait = b.next()
		} else if failing {
			n.log.Info(what + " succeeded again")
			failing = false
			b.reset()
		}
		if !n.sleep(ctx, wait) {
			return
		}
	}
}

// attempt runs step with a deadline, so that an unresponsive API server
// cannot stall the loop.
func (n *Node) attempt(ctx context.Context, timeout time.Duration, step func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return step(ctx)
}

// sleep waits d on the node's clock; it reports false when ctx ended
// first.
func (n *Node) sleep(ctx context.Context, d time.Duration) bool {
	t := n.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// backoff is an exponential back-off with jitter.
type backoff struct {
	max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = min(backoffInitial, b.max)
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur + time.Duration(rand.Float64()*0.1*float64(b.cur))
}

func (b *backoff) reset() { b.cur = 0 }
