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
	if min(p.workers, pieces) <= 1 {
		for i := 0; i < pieces && ctx.Err() == nil; i++ {
			do(i)
		}
		return
	}
	p.untilChunks(ctx, pieces, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			do(i)
		}
	})
}

// maxChunk is the most pieces untilChunks hands out at once.
const maxChunk = 64

// untilChunks is Until for work that wants whole ranges of pieces: do
// gets [lo, hi) and may stop early. Per-range bookkeeping (a count kept
// in a local variable, added once) then spares the workers writing one
// shared counter per piece, whose cache line would bounce between cores.
func (p parallelizer) untilChunks(ctx context.Context, pieces int, do func(lo, hi int)) {
	if pieces <= 0 {
		return
	}
	workers := min(p.workers, pieces)
	if workers <= 1 {
		const chunk = maxChunk
		for lo := 0; lo < pieces && ctx.Err() == nil; lo += chunk {
			do(lo, min(lo+chunk, pieces))
		}
		return
	}
	chunk := max(1, min(pieces/(workers*4), maxChunk))
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
				do(start, min(start+chunk, pieces))
			}
		}()
	}
	wg.Wait()
}
