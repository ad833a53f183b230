package helper

import (
	"context"
	"fmt"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// NodeLister returns h's snapshot of the cycle, for plugin name. It is an
// error if the plugin was built without a Handle ("<name>: no framework
// handle to list nodes") or the Handle has no snapshot ("<name>: empty
// shared lister").
func NodeLister(name string, h framework.Handle) (framework.NodeInfoLister, error) {
	if h == nil {
		return nil, fmt.Errorf("%s: no framework handle to list nodes", name)
	}
	l := h.SnapshotSharedLister()
	if l == nil {
		return nil, fmt.Errorf("%s: empty shared lister", name)
	}
	return l, nil
}

// ForEachNode calls do(i) for i in [0, n): in parallel with h's
// Parallelizer when h offers one, otherwise in order (also when h is
// nil, as in tests that build a plugin without a Handle). do must only
// write to its own index's results.
func ForEachNode(ctx context.Context, h framework.Handle, n int, do func(i int)) {
	if h != nil {
		if p := h.Parallelizer(); p != nil {
			p.Until(ctx, n, do)
			return
		}
	}
	for i := 0; i < n; i++ {
		do(i)
	}
}
