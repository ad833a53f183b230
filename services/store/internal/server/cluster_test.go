package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// testMember is one in-process member of a test cluster.
type testMember struct {
	cfg    Config
	srv    *Server
	cancel context.CancelFunc
	done   chan error
}

type testCluster struct {
	t       *testing.T
	members []*testMember
}

func testConfig(t *testing.T, name string) (Config, map[string]net.Listener) {
	t.Helper()
	lns := map[string]net.Listener{}
	listen := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[ln.Addr().String()] = ln
		return "http://" + ln.Addr().String()
	}
	peer, client := listen(), listen()
	return Config{
		Name:                     name,
		DataDir:                  t.TempDir(),
		ListenClientURLs:         []string{client},
		AdvertiseClientURLs:      []string{client},
		ListenPeerURLs:           []string{peer},
		InitialAdvertisePeerURLs: []string{peer},
		HeartbeatInterval:        25 * time.Millisecond,
		ElectionTimeout:          250 * time.Millisecond,
		Logger:                   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Listeners:                lns,
	}, lns
}

// newTestCluster starts n members in this process on loopback ports.
func newTestCluster(t *testing.T, n int, tweak func(*Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	var parts []string
	for i := 0; i < n; i++ {
		cfg, _ := testConfig(t, fmt.Sprintf("m%d", i))
		if tweak != nil {
			tweak(&cfg)
		}
		c.members = append(c.members, &testMember{cfg: cfg})
		parts = append(parts, cfg.Name+"="+cfg.InitialAdvertisePeerURLs[0])
	}
	for _, m := range c.members {
		m.cfg.InitialCluster = strings.Join(parts, ",")
		c.start(m)
	}
	t.Cleanup(c.stopAll)
	c.waitLeader()
	return c
}

func (c *testCluster) start(m *testMember) {
	c.t.Helper()
	srv, err := New(m.cfg)
	if err != nil {
		c.t.Fatalf("start %s: %v", m.cfg.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.srv, m.cancel, m.done = srv, cancel, make(chan error, 1)
	go func() { m.done <- srv.Run(ctx) }()
}

func (c *testCluster) stop(m *testMember) {
	if m.cancel == nil {
		return
	}
	m.cancel()
	if err := <-m.done; err != nil {
		c.t.Errorf("member %s: %v", m.cfg.Name, err)
	}
	m.cancel = nil
}

// restart starts a stopped member again from its data directory with only
// its listen flags, as an operator would.
func (c *testCluster) restart(m *testMember) {
	c.t.Helper()
	lns := map[string]net.Listener{}
	for _, u := range append(append([]string{}, m.cfg.ListenPeerURLs...), m.cfg.ListenClientURLs...) {
		addr, _ := hostPort(u)
		ln := listenRetry(c.t, addr)
		lns[addr] = ln
	}
	m.cfg = Config{
		DataDir:           m.cfg.DataDir,
		ListenClientURLs:  m.cfg.ListenClientURLs,
		ListenPeerURLs:    m.cfg.ListenPeerURLs,
		HeartbeatInterval: m.cfg.HeartbeatInterval,
		ElectionTimeout:   m.cfg.ElectionTimeout,
		SnapshotCount:     m.cfg.SnapshotCount,
		Logger:            m.cfg.Logger,
		Listeners:         lns,
	}
	c.start(m)
}

func listenRetry(t *testing.T, addr string) net.Listener {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen again on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *testCluster) stopAll() {
	for _, m := range c.members {
		c.stop(m)
	}
}

// waitLeader returns the leader once one of the running members leads.
func (c *testCluster) waitLeader() *testMember {
	c.t.Helper()
	var leader *testMember
	eventually(c.t, 10*time.Second, func() error {
		for _, m := range c.members {
			if m.cancel != nil && m.srv.IsLeader() {
				leader = m
				return nil
			}
		}
		return fmt.Errorf("no leader")
	})
	return leader
}

func (c *testCluster) client(ms ...*testMember) *clientv3.Client {
	c.t.Helper()
	if len(ms) == 0 {
		ms = c.members
	}
	var eps []string
	for _, m := range ms {
		eps = append(eps, m.cfg.ListenClientURLs[0])
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cli.Close() })
	return cli
}

// eventually polls f until it succeeds or the deadline passes.
func eventually(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %v", d, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ctxWithin(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestClusterReadsWritesAndWatchesOnEveryMember(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	ctx := ctxT(t)
	// A watch on the last member, writes through the first, reads through
	// the second: forwarding, read index and local watches together.
	watcher := c.client(c.members[2])
	wch := watcher.Watch(ctx, "/k/", clientv3.WithPrefix(), clientv3.WithPrevKV())
	writer, reader := c.client(c.members[0]), c.client(c.members[1])
	var revs []int64
	for i := 0; i < 20; i++ {
		resp, err := writer.Put(ctx, fmt.Sprintf("/k/%02d", i), fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, resp.Header.Revision)
		got, err := reader.Get(ctx, fmt.Sprintf("/k/%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Kvs) != 1 || string(got.Kvs[0].Value) != fmt.Sprint(i) {
			t.Fatalf("linearizable read on a follower missed write %d: %v", i, got.Kvs)
		}
	}
	for i := 1; i < len(revs); i++ {
		if revs[i] != revs[i-1]+1 {
			t.Fatalf("revisions not consecutive: %v", revs)
		}
	}
	if _, err := writer.Delete(ctx, "/k/00"); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for len(seen) < 21 {
		select {
		case wr := <-wch:
			if err := wr.Err(); err != nil {
				t.Fatal(err)
			}
			for _, ev := range wr.Events {
				seen = append(seen, fmt.Sprintf("%s %s", ev.Type, ev.Kv.Key))
				if ev.Type == clientv3.EventTypeDelete && (ev.PrevKv == nil || string(ev.PrevKv.Value) != "0") {
					t.Fatalf("delete event without prev_kv: %v", ev)
				}
			}
		case <-ctx.Done():
			t.Fatalf("watch saw only %d events: %v", len(seen), seen)
		}
	}
	if seen[0] != "PUT /k/00" || seen[20] != "DELETE /k/00" {
		t.Fatalf("events out of order: %v", seen)
	}
	// Serializable reads are local and catch up quickly.
	eventually(t, 5*time.Second, func() error {
		for _, m := range c.members {
			resp, err := c.client(m).Get(ctx, "/k/", clientv3.WithPrefix(), clientv3.WithSerializable(), clientv3.WithCountOnly())
			if err != nil {
				return err
			}
			if resp.Count != 19 {
				return fmt.Errorf("member %s has %d keys", m.cfg.Name, resp.Count)
			}
		}
		return nil
	})
}

func TestLeaderLossLosesNoAcknowledgedWrite(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	cli := c.client()
	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("/w%d/%d", w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_, err := cli.Put(ctx, key, "v")
				cancel()
				if err == nil {
					mu.Lock()
					acked[key] = true
					mu.Unlock()
				}
			}
		}()
	}
	waitAcked := func(n int) {
		eventually(t, 20*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if len(acked) < n {
				return fmt.Errorf("%d writes acknowledged", len(acked))
			}
			return nil
		})
	}
	waitAcked(200)
	old := c.waitLeader()
	c.stop(old)
	start := time.Now()
	leader := c.waitLeader()
	t.Logf("new leader %s after %v", leader.cfg.Name, time.Since(start))
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	waitAcked(before + 200) // the new leader serves writes
	close(stop)
	wg.Wait()

	var alive []*testMember
	for _, m := range c.members {
		if m != old {
			alive = append(alive, m)
		}
	}
	ctx := ctxT(t)
	resp, err := c.client(alive...).Get(ctx, "/w", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, kv := range resp.Kvs {
		have[string(kv.Key)] = true
	}
	for k := range acked {
		if !have[k] {
			t.Fatalf("acknowledged write %s lost (%d acknowledged, %d present)", k, len(acked), len(have))
		}
	}
	// The old leader rejoins and catches up.
	c.restart(old)
	eventually(t, 10*time.Second, func() error {
		r, err := c.client(old).Get(ctx, "/w", clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithSerializable())
		if err != nil {
			return err
		}
		if r.Count != int64(len(have)) {
			return fmt.Errorf("restarted member has %d keys, want %d", r.Count, len(have))
		}
		return nil
	})
}

func TestFollowerCatchesUpThroughSnapshot(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.SnapshotCount = 64 })
	leader := c.waitLeader()
	var follower *testMember
	for _, m := range c.members {
		if m != leader {
			follower = m
			break
		}
	}
	c.stop(follower)
	ctx := ctxT(t)
	cli := c.client(leader)
	for i := 0; i < 500; i++ {
		if _, err := cli.Put(ctx, fmt.Sprintf("/s/%03d", i), strings.Repeat("x", 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := leader.srv.node.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	first, _ := leader.srv.node.logs.FirstIndex()
	if first <= 1 {
		t.Fatalf("log was not compacted (first index %d)", first)
	}
	c.restart(follower)
	eventually(t, 10*time.Second, func() error {
		r, err := c.client(follower).Get(ctx, "/s/", clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithSerializable())
		if err != nil {
			return err
		}
		if r.Count != 500 {
			return fmt.Errorf("follower has %d keys", r.Count)
		}
		return nil
	})
	// And it keeps applying after the snapshot.
	if _, err := cli.Put(ctx, "/s/after", "1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		r, err := c.client(follower).Get(ctx, "/s/after", clientv3.WithSerializable())
		if err != nil || len(r.Kvs) != 1 {
			return fmt.Errorf("write after snapshot not applied: %v", err)
		}
		return nil
	})
}

func TestMembersAddedAndRemovedAtRuntime(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	ctx := ctxT(t)
	cli := c.client(c.members[0])
	if _, err := cli.Put(ctx, "before", "join"); err != nil {
		t.Fatal(err)
	}
	cfg, _ := testConfig(t, "m3")
	add, err := cli.MemberAdd(ctx, cfg.InitialAdvertisePeerURLs)
	if err != nil {
		t.Fatal(err)
	}
	parts := []string{}
	for _, m := range c.members {
		parts = append(parts, m.cfg.Name+"="+m.cfg.InitialAdvertisePeerURLs[0])
	}
	cfg.InitialCluster = strings.Join(append(parts, "m3="+cfg.InitialAdvertisePeerURLs[0]), ",")
	cfg.InitialClusterState = "existing"
	nm := &testMember{cfg: cfg}
	c.members = append(c.members, nm)
	c.start(nm)
	if nm.srv.MemberID() != add.Member.ID {
		t.Fatalf("joined as %x, added as %x", nm.srv.MemberID(), add.Member.ID)
	}
	eventually(t, 10*time.Second, func() error {
		r, err := c.client(nm).Get(ctx, "before", clientv3.WithSerializable())
		if err != nil || len(r.Kvs) != 1 {
			return fmt.Errorf("new member has not caught up: %v", err)
		}
		l, err := cli.MemberList(ctx)
		if err != nil {
			return err
		}
		for _, m := range l.Members {
			if m.ID == add.Member.ID && m.Name == "m3" && len(m.ClientURLs) == 1 {
				return nil
			}
		}
		return fmt.Errorf("member list lacks the started m3: %v", l.Members)
	})
	// Remove a follower that is not the new member.
	leader := c.waitLeader()
	var victim *testMember
	for _, m := range c.members[:3] {
		if m != leader {
			victim = m
			break
		}
	}
	if _, err := cli.MemberRemove(ctx, victim.srv.MemberID()); err != nil {
		t.Fatal(err)
	}
	c.stop(victim)
	l, err := c.client(leader).MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Members) != 3 {
		t.Fatalf("want 3 members after removal, got %v", l.Members)
	}
	if _, err := c.client(leader, nm).Put(ctx, "after", "remove"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client(leader).MemberRemove(ctx, 12345); err != rpctypes.ErrMemberNotFound {
		t.Fatalf("removing an unknown member: %v", err)
	}
}

func TestLeaseExpiryDeletesKeysWithEvents(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	ctx := ctxT(t)
	cli := c.client()
	wch := c.client(c.members[1]).Watch(ctx, "/lease/", clientv3.WithPrefix())
	g, err := cli.Grant(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"/lease/a", "/lease/b"} {
		if _, err := cli.Put(ctx, k, "v", clientv3.WithLease(g.ID)); err != nil {
			t.Fatal(err)
		}
	}
	ttl, err := cli.TimeToLive(ctx, g.ID, clientv3.WithAttachedKeys())
	if err != nil {
		t.Fatal(err)
	}
	if len(ttl.Keys) != 2 || ttl.GrantedTTL != 1 {
		t.Fatalf("time to live: %+v", ttl)
	}
	deletes := 0
	var delRev int64
	for deletes < 2 {
		select {
		case wr := <-wch:
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					deletes++
					if delRev != 0 && ev.Kv.ModRevision != delRev {
						t.Fatalf("lease keys deleted in different revisions")
					}
					delRev = ev.Kv.ModRevision
				}
			}
		case <-ctx.Done():
			t.Fatal("lease did not expire")
		}
	}
	if _, err := cli.Put(ctx, "/x", "v", clientv3.WithLease(g.ID)); err != rpctypes.ErrLeaseNotFound {
		t.Fatalf("put with an expired lease: %v", err)
	}
	ttl, err = cli.TimeToLive(ctx, g.ID)
	if err != nil || ttl.TTL != -1 {
		t.Fatalf("time to live of an expired lease: %+v %v", ttl, err)
	}
}

func TestKeepAliveThroughFollowerKeepsLease(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	ctx := ctxT(t)
	leader := c.waitLeader()
	var follower *testMember
	for _, m := range c.members {
		if m != leader {
			follower = m
		}
	}
	cli := c.client(follower)
	g, err := cli.Grant(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/kept", "v", clientv3.WithLease(g.ID)); err != nil {
		t.Fatal(err)
	}
	kctx, kcancel := context.WithCancel(ctx)
	defer kcancel()
	ka, err := cli.KeepAlive(kctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(3 * time.Second)
	for waiting := true; waiting; {
		select {
		case r := <-ka:
			if r == nil {
				t.Fatal("keep-alive channel closed")
			}
		case <-deadline:
			waiting = false
		}
	}
	r, err := cli.Get(ctx, "/kept")
	if err != nil || len(r.Kvs) != 1 {
		t.Fatalf("key of a kept-alive lease is gone: %v", err)
	}
}

func TestClientErrorsMatchEtcd(t *testing.T) {
	c := newTestCluster(t, 1, func(cfg *Config) { cfg.MaxRequestBytes = 64 * 1024 })
	ctx := ctxT(t)
	cli := c.client()
	for i := 0; i < 5; i++ {
		if _, err := cli.Put(ctx, "k", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Compact(ctx, 3); err != nil {
		t.Fatal(err)
	}
	many := make([]clientv3.Op, 200)
	for i := range many {
		many[i] = clientv3.OpPut(fmt.Sprintf("m%d", i), "v")
	}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"empty key", func() error { _, err := cli.Put(ctx, "", "v"); return err }, rpctypes.ErrEmptyKey},
		{"compacted", func() error { _, err := cli.Get(ctx, "k", clientv3.WithRev(2)); return err }, rpctypes.ErrCompacted},
		{"future", func() error { _, err := cli.Get(ctx, "k", clientv3.WithRev(1000)); return err }, rpctypes.ErrFutureRev},
		{"compact again", func() error { _, err := cli.Compact(ctx, 3); return err }, rpctypes.ErrCompacted},
		{"lease not found", func() error { _, err := cli.Put(ctx, "k", "v", clientv3.WithLease(42)); return err }, rpctypes.ErrLeaseNotFound},
		{"too many ops", func() error { _, err := cli.Txn(ctx).Then(many...).Commit(); return err }, rpctypes.ErrTooManyOps},
		{"duplicate key", func() error {
			_, err := cli.Txn(ctx).Then(clientv3.OpPut("d", "1"), clientv3.OpPut("d", "2")).Commit()
			return err
		}, rpctypes.ErrDuplicateKey},
		{"too large", func() error { _, err := cli.Put(ctx, "big", strings.Repeat("x", 100*1024)); return err }, rpctypes.ErrRequestTooLarge},
		{"revoke unknown lease", func() error { _, err := cli.Revoke(ctx, 77); return err }, rpctypes.ErrLeaseNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != tt.want {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	r, err := cli.Get(ctx, "k")
	if err != nil || string(r.Kvs[0].Value) != "4" {
		t.Fatalf("state changed by failed requests: %v %v", r, err)
	}
}

func TestDefragmentThroughTheAPI(t *testing.T) {
	c := newTestCluster(t, 1, nil)
	ctx := ctxT(t)
	cli := c.client()
	val := strings.Repeat("v", 4096)
	var last int64
	for i := 0; i < 300; i++ {
		r, err := cli.Put(ctx, fmt.Sprintf("/d/%02d", i%30), val)
		if err != nil {
			t.Fatal(err)
		}
		last = r.Header.Revision
	}
	if _, err := cli.Compact(ctx, last); err != nil {
		t.Fatal(err)
	}
	ep := c.members[0].cfg.ListenClientURLs[0]
	before, err := cli.Status(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Defragment(ctx, ep); err != nil {
		t.Fatal(err)
	}
	after, err := cli.Status(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	if after.DbSize >= before.DbSize {
		t.Fatalf("db size %d -> %d", before.DbSize, after.DbSize)
	}
	r, err := cli.Get(ctx, "/d/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || r.Count != 30 {
		t.Fatalf("after defragment: %v %v", r, err)
	}
	if _, err := cli.Put(ctx, "/d/after", "1"); err != nil {
		t.Fatal(err)
	}
}

func TestRestartNeedsOnlyDataDir(t *testing.T) {
	c := newTestCluster(t, 1, nil)
	m := c.members[0]
	ctx := ctxT(t)
	if _, err := c.client().Put(ctx, "persist", "me"); err != nil {
		t.Fatal(err)
	}
	c.stop(m)
	c.restart(m)
	c.waitLeader()
	r, err := c.client().Get(ctx, "persist")
	if err != nil || len(r.Kvs) != 1 || string(r.Kvs[0].Value) != "me" {
		t.Fatalf("after restart: %v %v", r, err)
	}
	// The name comes back from the data directory (the restart gives no
	// --name); the member publishes it through raft as it starts, so the
	// member table may lag the first reads a little.
	eventually(t, 10*time.Second, func() error {
		l, err := c.client().MemberList(ctx)
		if err != nil || len(l.Members) != 1 || l.Members[0].Name != "m0" {
			return fmt.Errorf("member list after restart: %v %v", l, err)
		}
		return nil
	})
}

func TestCorruptOrMissingStateRefusesToStart(t *testing.T) {
	cfg, _ := testConfig(t, "solo")
	cfg.InitialCluster = "solo=" + cfg.InitialAdvertisePeerURLs[0]
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	eventually(t, 5*time.Second, func() error {
		if !s.IsLeader() {
			return fmt.Errorf("not leader")
		}
		return nil
	})
	cancel()
	<-done
	for name, damage := range map[string]string{
		"corrupt state": "state.db",
		"missing meta":  "meta.json",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, cfg.DataDir, dir)
			path := dir + "/member/" + damage
			if damage == "state.db" {
				writeFile(t, path, "this is not a bbolt file")
			} else {
				removeFile(t, path)
			}
			c2, _ := testConfig(t, "solo")
			c2.DataDir = dir
			c2.InitialCluster = cfg.InitialCluster
			if _, err := New(c2); err == nil {
				t.Fatal("started on a damaged data directory")
			} else {
				t.Logf("refused: %v", err)
			}
		})
	}
}

// After a stop that was not clean the state database is not trusted: it is
// rebuilt from the newest snapshot and the raft log, even if torn.
func TestUncleanShutdownRebuildsStateFromLog(t *testing.T) {
	for _, withSnapshot := range []bool{false, true} {
		t.Run(fmt.Sprintf("snapshot=%v", withSnapshot), func(t *testing.T) {
			c := newTestCluster(t, 1, nil)
			m := c.members[0]
			ctx := ctxT(t)
			cli := c.client()
			for i := 0; i < 50; i++ {
				if _, err := cli.Put(ctx, fmt.Sprintf("/u/%02d", i), fmt.Sprint(i)); err != nil {
					t.Fatal(err)
				}
				if withSnapshot && i == 25 {
					if err := m.srv.node.raft.Snapshot().Error(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := cli.Delete(ctx, "/u/00"); err != nil {
				t.Fatal(err)
			}
			c.stop(m)
			// Pretend the machine crashed: no clean marker, a torn state file.
			removeFile(t, m.cfg.DataDir+"/member/"+cleanMarker)
			writeFile(t, m.cfg.DataDir+"/member/state.db", "torn")
			c.restart(m)
			c.waitLeader()
			r, err := c.client().Get(ctx, "/u/", clientv3.WithPrefix())
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Kvs) != 49 || string(r.Kvs[48].Value) != "49" || r.Header.Revision != 52 {
				t.Fatalf("rebuilt state: %d keys at revision %d", len(r.Kvs), r.Header.Revision)
			}
		})
	}
}

// A watch that requires a leader ends when its member loses the leader, so
// the client can move to a member that has one (as etcd does).
func TestWatchRequiringLeaderEndsWithoutLeader(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	lonely := c.members[2]
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(context.Background()))
	defer cancel()
	wch := c.client(lonely).Watch(wctx, "/rl/", clientv3.WithPrefix())
	c.stop(c.members[0])
	c.stop(c.members[1])
	select {
	case wr, ok := <-wch:
		if ok && wr.Err() == nil {
			t.Fatalf("unexpected watch response %+v", wr)
		}
		t.Logf("watch ended: open=%v err=%v", ok, wr.Err())
	case <-time.After(10 * time.Second):
		t.Fatal("watch kept running on a member without a leader")
	}
}

// TestStopWithConnectionsInHandshake: a member stops, cleanly and within
// its shutdown bound, while a client that connected and went quiet holds
// a connection in its HTTP/2 handshake on each URL (gRPC's Stop alone
// waits for those up to two minutes) and a watch stream is open.
func TestStopWithConnectionsInHandshake(t *testing.T) {
	c := newTestCluster(t, 1, nil)
	m := c.members[0]
	cli := c.client()
	wch := cli.Watch(ctxT(t), "/w", clientv3.WithPrefix())
	if _, err := cli.Put(ctxT(t), "/w/1", "v"); err != nil {
		t.Fatal(err)
	}
	<-wch // the stream is established
	for _, u := range []string{m.cfg.ListenPeerURLs[0], m.cfg.ListenClientURLs[0]} {
		addr, _ := hostPort(u)
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte("PRI * HTTP/2.0\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // the connections reach gRPC
	start := time.Now()
	c.stop(m) // fails the test if Run returns an error
	t.Logf("stopped in %v", time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(m.cfg.DataDir, "member", cleanMarker)); err != nil {
		t.Errorf("no clean-shutdown mark after the stop: %v", err)
	}
}
