package server

import (
	"fmt"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"
)

// TestMoreStreamsThanWorkers holds more watch streams open than the
// client server has workers (each stream keeps its worker for its
// lifetime): calls still get served, on goroutines of their own, and
// every stream still gets its events.
func TestMoreStreamsThanWorkers(t *testing.T) {
	c := newTestCluster(t, 1, nil)
	cli := c.client(c.members[0])
	ctx := ctxT(t)
	streams := clientStreamWorkers + 8
	var chans []clientv3.WatchChan
	for i := range streams {
		// clientv3 shares one gRPC stream among the watches of contexts
		// with the same metadata: each gets metadata of its own.
		sctx := metadata.AppendToOutgoingContext(ctx, "stream", fmt.Sprint(i))
		wch := cli.Watch(sctx, "/w", clientv3.WithCreatedNotify())
		if wr := <-wch; !wr.Created || wr.Err() != nil {
			t.Fatalf("watch %d: %+v, %v", i, wr, wr.Err())
		}
		chans = append(chans, wch)
	}
	if _, err := cli.Put(ctx, "/w", "v"); err != nil {
		t.Fatalf("a put with %d streams open: %v", streams, err)
	}
	if got, err := cli.Get(ctx, "/w"); err != nil || len(got.Kvs) != 1 {
		t.Fatalf("a get with %d streams open: %v, %v", streams, got, err)
	}
	for i, wch := range chans {
		select {
		case wr := <-wch:
			if len(wr.Events) != 1 || string(wr.Events[0].Kv.Value) != "v" {
				t.Fatalf("watch %d got %+v, %v", i, wr, wr.Err())
			}
		case <-ctx.Done():
			t.Fatalf("watch %d got no event", i)
		}
	}
}
