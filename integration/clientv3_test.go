package integration

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// TestClientV3 drives a 3-member cluster with etcd's Go client, the way the
// apiserver will.
func TestClientV3(t *testing.T) {
	c := startCluster(t, 3)
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	tests := []struct {
		name string
		run  func(t *testing.T, cli *clientv3.Client)
	}{
		{"put get delete", testClientKV},
		{"txn", testClientTxn},
		{"watch prefix with prev kv", testClientWatch},
		{"lease keepalive", testClientLeaseKeepAlive},
		{"lease expiry", testClientLeaseExpiry},
		{"mutex", testClientMutex},
		{"election", testClientElection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, cli) })
	}
}

func testClientKV(t *testing.T, cli *clientv3.Client) {
	ctx := testContext(t, 30*time.Second)
	const p = "/clientv3/kv/"
	for i := range 3 {
		if _, err := cli.Put(ctx, fmt.Sprintf("%sname-%d", p, i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	first, err := cli.Put(ctx, p+"name-0", "again", clientv3.WithPrevKV())
	if err != nil {
		t.Fatal(err)
	}
	if first.PrevKv == nil || string(first.PrevKv.Value) != "0" {
		t.Errorf("put with prev kv: got %v, want value 0", first.PrevKv)
	}

	gets := []struct {
		name      string
		key       string
		opts      []clientv3.OpOption
		wantKeys  []string
		wantCount int64
	}{
		{"one key", p + "name-1", nil, []string{p + "name-1"}, 1},
		{"missing", p + "none", nil, nil, 0},
		{"prefix", p, []clientv3.OpOption{clientv3.WithPrefix()}, []string{p + "name-0", p + "name-1", p + "name-2"}, 3},
		{"prefix limit", p, []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithLimit(1)}, []string{p + "name-0"}, 3},
		{"prefix descending", p, []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend)}, []string{p + "name-2", p + "name-1", p + "name-0"}, 3},
		{"count only", p, []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithCountOnly()}, nil, 3},
		{"serializable", p + "name-2", []clientv3.OpOption{clientv3.WithSerializable()}, []string{p + "name-2"}, 1},
		{"range end", p + "name-1", []clientv3.OpOption{clientv3.WithRange(p + "name-3")}, []string{p + "name-1", p + "name-2"}, 2},
		{"old revision", p + "name-0", []clientv3.OpOption{clientv3.WithRev(first.Header.Revision - 1)}, []string{p + "name-0"}, 1},
	}
	for _, tt := range gets {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := cli.Get(ctx, tt.key, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, kv := range resp.Kvs {
				keys = append(keys, string(kv.Key))
			}
			if !slices.Equal(keys, tt.wantKeys) || resp.Count != tt.wantCount {
				t.Errorf("got %q count %d, want %q count %d", keys, resp.Count, tt.wantKeys, tt.wantCount)
			}
		})
	}

	t.Run("mod revision and version", func(t *testing.T) {
		resp, err := cli.Get(ctx, p+"name-0")
		if err != nil {
			t.Fatal(err)
		}
		kv := resp.Kvs[0]
		if kv.ModRevision != first.Header.Revision || kv.Version != 2 || kv.CreateRevision >= kv.ModRevision {
			t.Errorf("got create %d mod %d version %d; want mod %d, version 2, created earlier",
				kv.CreateRevision, kv.ModRevision, kv.Version, first.Header.Revision)
		}
	})

	t.Run("delete", func(t *testing.T) {
		del, err := cli.Delete(ctx, p+"name-0", clientv3.WithPrevKV())
		if err != nil {
			t.Fatal(err)
		}
		if del.Deleted != 1 || len(del.PrevKvs) != 1 || string(del.PrevKvs[0].Value) != "again" {
			t.Errorf("delete one: got deleted %d prev %v", del.Deleted, del.PrevKvs)
		}
		del, err = cli.Delete(ctx, p, clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		if del.Deleted != 2 {
			t.Errorf("delete prefix: deleted %d, want 2", del.Deleted)
		}
		resp, err := cli.Get(ctx, p, clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Count != 0 {
			t.Errorf("after delete: %d keys left", resp.Count)
		}
	})
}

func testClientTxn(t *testing.T, cli *clientv3.Client) {
	ctx := testContext(t, 30*time.Second)
	const k = "/clientv3/txn/key"
	put, err := cli.Put(ctx, k, "v1")
	if err != nil {
		t.Fatal(err)
	}
	rev := put.Header.Revision
	tests := []struct {
		name      string
		cmp       clientv3.Cmp
		wantOK    bool
		wantValue string
	}{
		{"mod revision matches", clientv3.Compare(clientv3.ModRevision(k), "=", rev), true, "then"},
		{"mod revision is stale", clientv3.Compare(clientv3.ModRevision(k), "=", rev), false, "then"},
		{"value matches", clientv3.Compare(clientv3.Value(k), "=", "then"), true, "then"},
		{"version greater", clientv3.Compare(clientv3.Version(k), ">", 5), false, "then"},
		{"absent key", clientv3.Compare(clientv3.CreateRevision("/clientv3/txn/none"), "=", 0), true, "then"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := cli.Txn(ctx).If(tt.cmp).
				Then(clientv3.OpPut(k, "then"), clientv3.OpGet(k)).
				Else(clientv3.OpGet(k)).
				Commit()
			if err != nil {
				t.Fatal(err)
			}
			if resp.Succeeded != tt.wantOK {
				t.Errorf("succeeded %v, want %v", resp.Succeeded, tt.wantOK)
			}
			get := resp.Responses[len(resp.Responses)-1].GetResponseRange()
			if get == nil || len(get.Kvs) != 1 || string(get.Kvs[0].Value) != tt.wantValue {
				t.Errorf("get in txn: got %v, want value %q", get, tt.wantValue)
			}
		})
	}
}

func testClientWatch(t *testing.T, cli *clientv3.Client) {
	ctx := testContext(t, 30*time.Second)
	const p = "/clientv3/watch/"
	start, err := cli.Get(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := cli.Watch(wctx, p, clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(start.Header.Revision+1))
	ops := []clientv3.Op{
		clientv3.OpPut(p+"a", "1"),
		clientv3.OpPut("/clientv3/watchers", "not watched"),
		clientv3.OpPut(p+"a", "2"),
		clientv3.OpPut(p+"b", "3"),
		clientv3.OpDelete(p + "a"),
	}
	for _, op := range ops {
		if _, err := cli.Do(ctx, op); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"PUT /clientv3/watch/a=1 prev <nil>",
		"PUT /clientv3/watch/a=2 prev 1",
		"PUT /clientv3/watch/b=3 prev <nil>",
		"DELETE /clientv3/watch/a= prev 2",
	}
	var got []string
	var lastRev int64
	for len(got) < len(want) {
		select {
		case resp, ok := <-wch:
			if !ok {
				t.Fatalf("watch channel closed after %q", got)
			}
			if err := resp.Err(); err != nil {
				t.Fatal(err)
			}
			for _, ev := range resp.Events {
				prev := "<nil>"
				if ev.PrevKv != nil {
					prev = string(ev.PrevKv.Value)
				}
				got = append(got, fmt.Sprintf("%s %s=%s prev %s", ev.Type, ev.Kv.Key, ev.Kv.Value, prev))
				if ev.Kv.ModRevision <= lastRev {
					t.Errorf("event revision %d after %d", ev.Kv.ModRevision, lastRev)
				}
				lastRev = ev.Kv.ModRevision
				if ev.Type == mvccpb.DELETE && ev.IsModify() {
					t.Errorf("delete event reported as modify")
				}
			}
		case <-ctx.Done():
			t.Fatalf("watch: got %q, want %q: %v", got, want, ctx.Err())
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("watch events:\ngot  %q\nwant %q", got, want)
	}
}

func testClientLeaseKeepAlive(t *testing.T, cli *clientv3.Client) {
	ctx := testContext(t, 30*time.Second)
	const k, ttl = "/clientv3/lease/kept", 2
	granted := time.Now()
	lease, err := cli.Grant(ctx, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, k, "v", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	kctx, stop := context.WithCancel(ctx)
	defer stop()
	alive, err := cli.KeepAlive(kctx, lease.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Keep the lease alive well past its TTL: the key must stay.
	for time.Since(granted) < 2*ttl*time.Second {
		select {
		case resp, ok := <-alive:
			if !ok {
				t.Fatal("keepalive channel closed")
			}
			if resp.ID != lease.ID || resp.TTL <= 0 {
				t.Fatalf("keepalive response: id %x ttl %d", resp.ID, resp.TTL)
			}
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	resp, err := cli.Get(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 1 {
		t.Fatalf("key of a kept-alive lease is gone after %v", time.Since(granted))
	}
	live, err := cli.TimeToLive(ctx, lease.ID, clientv3.WithAttachedKeys())
	if err != nil {
		t.Fatal(err)
	}
	if live.TTL <= 0 || live.GrantedTTL != ttl || len(live.Keys) != 1 || string(live.Keys[0]) != k {
		t.Errorf("time to live: ttl %d granted %d keys %q", live.TTL, live.GrantedTTL, live.Keys)
	}

	stop()
	if _, err := cli.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	if resp, err := cli.Get(ctx, k); err != nil || resp.Count != 0 {
		t.Errorf("after revoke: err %v, count %d; want the key gone", err, resp.Count)
	}
}

func testClientLeaseExpiry(t *testing.T, cli *clientv3.Client) {
	ctx := testContext(t, 30*time.Second)
	const k = "/clientv3/lease/expiring"
	lease, err := cli.Grant(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, k, "v", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, func() error {
		resp, err := cli.Get(ctx, k)
		if err != nil {
			return err
		}
		if resp.Count != 0 {
			return errors.New("key of an expired lease still present")
		}
		return nil
	})
	live, err := cli.TimeToLive(ctx, lease.ID)
	if err != nil {
		t.Fatal(err)
	}
	if live.TTL != -1 {
		t.Errorf("time to live of an expired lease: %d, want -1", live.TTL)
	}
}

func testClientMutex(t *testing.T, cli *clientv3.Client) {
	ctx := testContext(t, 30*time.Second)
	const p = "/clientv3/mutex"
	s1, s2 := newSession(t, cli), newSession(t, cli)
	m1, m2 := concurrency.NewMutex(s1, p), concurrency.NewMutex(s2, p)

	if err := m1.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m2.TryLock(ctx); !errors.Is(err, concurrency.ErrLocked) {
		t.Fatalf("second session TryLock while the first holds the lock: %v, want ErrLocked", err)
	}
	acquired := make(chan error, 1)
	go func() { acquired <- m2.Lock(ctx) }()
	// The waiter has queued once its key exists next to the holder's.
	eventually(t, 10*time.Second, func() error { return wantKeys(ctx, cli, p+"/", 2) })
	select {
	case err := <-acquired:
		t.Fatalf("second session acquired the lock while the first holds it (err %v)", err)
	default:
	}

	if err := m1.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-acquired:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatalf("second session did not acquire the lock after the first unlocked: %v", ctx.Err())
	}
	owner, err := cli.Txn(ctx).If(m2.IsOwner()).Commit()
	if err != nil {
		t.Fatal(err)
	}
	if !owner.Succeeded {
		t.Error("second session does not own the lock it acquired")
	}
	if err := m2.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

func testClientElection(t *testing.T, cli *clientv3.Client) {
	ctx := testContext(t, 30*time.Second)
	const p = "/clientv3/election"
	e1 := concurrency.NewElection(newSession(t, cli), p)
	e2 := concurrency.NewElection(newSession(t, cli), p)

	if err := e1.Campaign(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	leader, err := e2.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(leader.Kvs[0].Value); got != "a" {
		t.Fatalf("leader: %q, want a", got)
	}
	octx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	observed := e2.Observe(octx)
	observe := func(want string) {
		t.Helper()
		for {
			select {
			case resp, ok := <-observed:
				if !ok {
					t.Fatalf("observe ended before leader %q", want)
				}
				if string(resp.Kvs[0].Value) == want {
					return
				}
			case <-ctx.Done():
				t.Fatalf("observe: no leader %q: %v", want, ctx.Err())
			}
		}
	}
	observe("a")

	campaigned := make(chan error, 1)
	go func() { campaigned <- e2.Campaign(ctx, "b") }()
	eventually(t, 10*time.Second, func() error { return wantKeys(ctx, cli, p+"/", 2) })
	select {
	case err := <-campaigned:
		t.Fatalf("second campaign won while the first leader is in office (err %v)", err)
	default:
	}

	if err := e1.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-campaigned:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatalf("second campaign did not win after the leader resigned: %v", ctx.Err())
	}
	observe("b")
	if err := e2.Resign(ctx); err != nil {
		t.Fatal(err)
	}
}

func newSession(t *testing.T, cli *clientv3.Client) *concurrency.Session {
	t.Helper()
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// wantKeys reports whether exactly n keys exist under prefix.
func wantKeys(ctx context.Context, cli *clientv3.Client, prefix string, n int64) error {
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return err
	}
	if resp.Count != n {
		return fmt.Errorf("%d keys under %s, want %d", resp.Count, prefix, n)
	}
	return nil
}
