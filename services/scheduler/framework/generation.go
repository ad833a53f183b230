package framework

import "sync/atomic"

var generation atomic.Int64

// nextGeneration numbers NodeInfo changes, so a snapshot can tell which
// nodes changed since it was last updated.
func nextGeneration() int64 { return generation.Add(1) }
