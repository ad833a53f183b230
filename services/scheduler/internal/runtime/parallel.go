package runtime

import (
	"context"
	"sync"
	"sync/atomic"
)

// DefaultParallelism is how many goroutines filter and score nodes.
const DefaultParallelism = 16

// parallelizer runs pieces of work on a bounded number of goroutines, in
// chunks so that thousands of cheap pieces do not cost a goroutine each.
type parallelizer struct{ workers int }

func (p parallelizer) Until(ctx context.Context, pieces int, do func(i int)) {
	if pieces <= 0 {
		return
	}
	workers := min(p.workers, pieces)
	if workers <= 1 {
		for i := 0; i < pieces && ctx.Err() == nil; i++ {
			do(i)
		}
		return
	}
	chunk := max(1, min(pieces/(workers*4), 64))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				start := int(next.Add(int64(chunk))) - chunk
				if start >= pieces {
					return
				}
				for i := start; i < min(start+chunk, pieces); i++ {
					do(i)
				}
			}
		}()
	}
	wg.Wait()
}
