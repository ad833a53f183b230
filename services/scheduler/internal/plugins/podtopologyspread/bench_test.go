package podtopologyspread

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// chunkedParallelizer is like the scheduler's: 16 goroutines taking
// chunks of the pieces.
type chunkedParallelizer struct{}

func (chunkedParallelizer) Until(ctx context.Context, pieces int, do func(i int)) {
	const workers = 16
	chunk := max(1, min(pieces/(workers*4), 64))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(workers, pieces); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
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

type benchHandle struct {
	framework.Handle
	lister fakeLister
}

func (h *benchHandle) SnapshotSharedLister() framework.NodeInfoLister { return h.lister }
func (h *benchHandle) Parallelizer() framework.Parallelizer           { return chunkedParallelizer{} }

// benchCluster is 5000 nodes over 10 zones with 8000 pods, half of them
// selected by the benchmark's constraint.
func benchCluster() fakeLister {
	var nodes fakeLister
	for i := 0; i < 5000; i++ {
		name := fmt.Sprintf("node-%05d", i)
		var pods []*corev1.Pod
		for j := 0; j < 1+i%2; j++ {
			app := "spread"
			if (i+j)%2 == 0 {
				app = "plain"
			}
			p := makePod(fmt.Sprint(name, "-", j), "app", app).namespace("bench-1").obj()
			p.Spec.NodeName = name
			pods = append(pods, p)
		}
		ni := framework.NewNodeInfo(pods...)
		ni.SetNode(makeNode(name, hostKey, name, zoneKey, fmt.Sprint("zone-", i%10)))
		nodes = append(nodes, ni)
	}
	return nodes
}

// BenchmarkPreFilter is one PreFilter of a pod with the schedbench
// workload's zone constraint: with the cache warm (one node changed per
// cycle, as when the previous pod was bound) and cold (a fresh plugin).
func BenchmarkPreFilter(b *testing.B) {
	pod := makePod("p", "app", "spread").namespace("bench-1").spread(tsc(1, zoneKey, corev1.DoNotSchedule, "app", "spread")).obj()
	ctx := context.Background()
	b.Run("warm", func(b *testing.B) {
		nodes := benchCluster()
		pl := benchPlugin(b, &benchHandle{lister: nodes})
		pl.PreFilter(ctx, framework.NewCycleState(), pod, nodes)
		// Each cycle, one node changes: a pod moves to it from another.
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			from, to := nodes[(i+len(nodes)/2)%len(nodes)], nodes[i%len(nodes)]
			moved := from.Pods[0]
			from.RemovePod(moved.Pod.UID)
			to.AddPod(moved)
			pl.PreFilter(ctx, framework.NewCycleState(), pod, nodes)
		}
	})
	b.Run("cold", func(b *testing.B) {
		nodes := benchCluster()
		h := &benchHandle{lister: nodes}
		b.ReportAllocs()
		for b.Loop() {
			benchPlugin(b, h).PreFilter(ctx, framework.NewCycleState(), pod, nodes)
		}
	})
}

func benchPlugin(b *testing.B, h framework.Handle) *PodTopologySpread {
	p, err := New(nil, h)
	if err != nil {
		b.Fatal(err)
	}
	return p.(*PodTopologySpread)
}
