package bench

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// A Result holds the latencies of the operations of one timed run.
type Result struct {
	Elapsed   time.Duration
	Latencies []time.Duration // sorted ascending
}

// Rate returns operations per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Latencies)) / r.Elapsed.Seconds()
}

// Percentile returns the latency below which a fraction p of the operations
// completed (p in (0, 1]).
func (r Result) Percentile(p float64) time.Duration {
	return percentile(r.Latencies, p)
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// closedLoop runs op on n workers, each issuing its next operation as soon as
// the previous one returns, until d has passed. The first error stops all
// workers and is returned.
func closedLoop(ctx context.Context, n int, d time.Duration, op func(ctx context.Context, worker int) error) (Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		all      []time.Duration
		firstErr error
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := range n {
		wg.Go(func() {
			var lat []time.Duration
			var err error
			for now := time.Now(); now.Before(deadline); {
				if err = op(ctx, w); err != nil {
					break
				}
				end := time.Now()
				lat = append(lat, end.Sub(now))
				now = end
			}
			mu.Lock()
			defer mu.Unlock()
			all = append(all, lat...)
			if err != nil && firstErr == nil {
				firstErr = err
				cancel()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return Result{}, firstErr
	}
	slices.Sort(all)
	return Result{Elapsed: time.Since(start), Latencies: all}, nil
}

// forEach runs op(i) for i in [0, count) on n workers, untimed (for
// preloading data).
func forEach(ctx context.Context, n, count int, op func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range n {
		wg.Go(func() {
			for i := range next {
				if err := op(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
feed:
	for i := range count {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
