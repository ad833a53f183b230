package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	storev1 "github.com/gantry-dev/gantry/proto/gantry/store/v1"
	"github.com/gantry-dev/gantry/services/store/internal/command"
	"github.com/gantry-dev/gantry/services/store/internal/mvcc"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// node is one member: the raft instance, its state machine and what only
// the leader does (lease expiry, automatic compaction).
type node struct {
	cfg       *Config
	log       *slog.Logger
	meta      *memberMeta
	store     *mvcc.Store
	fsm       *fsm
	raft      *raft.Raft
	logStore  *raftboltdb.BoltStore
	logs      raft.LogStore
	snaps     *raft.FileSnapshotStore
	transport *raft.NetworkTransport
	mux       *splitListener
	metrics   *metrics
	lessor    *lessor

	readReqs  chan chan readIndexResult
	readyTerm atomic.Uint64 // term whose barrier has been applied (leader)
	published chan struct{} // closed once the member table holds this member's record

	peerTLS  credentials.TransportCredentials
	connMu   sync.Mutex
	conns    map[raft.ServerAddress]*grpc.ClientConn
	stopOnce sync.Once
}

type readIndexResult struct {
	index, term uint64
	err         error
}

// openNode opens (or initialises) the data directory and starts raft.
func openNode(cfg *Config, peerLn net.Listener, m *metrics) (*node, error) {
	memberDir := filepath.Join(cfg.DataDir, "member")
	meta, fresh, err := loadOrInitMeta(cfg)
	if err != nil {
		return nil, err
	}
	if fresh && cfg.InitialClusterState == "existing" {
		creds, err := peerCreds(cfg)
		if err != nil {
			return nil, err
		}
		dial := func(addr string) (*grpc.ClientConn, error) {
			return grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
		}
		meta.ID, meta.ClusterID, err = discoverSelf(context.Background(), cfg, dial)
		if err != nil {
			return nil, err
		}
	}
	if fresh {
		if err := os.MkdirAll(memberDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	store, err := openState(cfg, memberDir, fresh)
	if err != nil {
		return nil, err
	}
	n := &node{cfg: cfg, log: cfg.Logger, meta: meta, store: store, metrics: m, readReqs: make(chan chan readIndexResult, 1024), published: make(chan struct{}), conns: map[raft.ServerAddress]*grpc.ClientConn{}}
	if err := n.openRaft(memberDir, fresh, peerLn); err != nil {
		store.Close()
		return nil, err
	}
	if fresh {
		if err := writeMeta(cfg.DataDir, meta); err != nil {
			n.close()
			return nil, fmt.Errorf("write member metadata: %w", err)
		}
	}
	n.lessor = newLessor(cfg.ElectionTimeout)
	return n, nil
}

// loadOrInitMeta returns the member's identity: from the data directory if
// it holds a member, else from the flags (fresh is then true).
func loadOrInitMeta(cfg *Config) (*memberMeta, bool, error) {
	meta, err := readMeta(cfg.DataDir)
	if err == nil {
		if cfg.Name != "" && cfg.Name != meta.Name {
			return nil, false, fmt.Errorf("data directory %s belongs to member %q, not %q", cfg.DataDir, meta.Name, cfg.Name)
		}
		if len(cfg.AdvertiseClientURLs) > 0 {
			meta.ClientURLs = cfg.AdvertiseClientURLs
		}
		return meta, false, nil
	}
	if !os.IsNotExist(err) {
		return nil, false, err
	}
	// No member yet. Anything else in member/ means a damaged directory;
	// never paper over it by starting afresh.
	if entries, _ := os.ReadDir(filepath.Join(cfg.DataDir, "member")); len(entries) > 0 {
		return nil, false, fmt.Errorf("data directory %s: member/ exists but %s is missing; refusing to re-initialise it", cfg.DataDir, metaPath(cfg.DataDir))
	}
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	if len(cfg.InitialAdvertisePeerURLs) == 0 {
		return nil, false, errors.New("a new member needs --initial-advertise-peer-urls")
	}
	members, err := parseInitialCluster(cfg.InitialCluster)
	if err != nil {
		return nil, false, err
	}
	if _, ok := members[cfg.Name]; !ok {
		return nil, false, fmt.Errorf("--initial-cluster has no entry for this member's --name %q", cfg.Name)
	}
	var ids []uint64
	for _, urls := range members {
		ids = append(ids, memberID(urls, cfg.InitialClusterToken))
	}
	meta = &memberMeta{
		Name:       cfg.Name,
		ID:         memberID(cfg.InitialAdvertisePeerURLs, cfg.InitialClusterToken),
		PeerURLs:   cfg.InitialAdvertisePeerURLs,
		ClientURLs: cfg.AdvertiseClientURLs,
	}
	if cfg.InitialClusterState == "new" {
		meta.ClusterID = clusterID(ids, cfg.InitialClusterToken)
	}
	return meta, true, nil
}

func (n *node) openRaft(dir string, fresh bool, peerLn net.Listener) error {
	cfg := n.cfg
	hlog := raftLogger(n.log)
	logStore, snaps, err := openRaftStores(dir, hlog)
	if err != nil {
		return err
	}
	n.logStore, n.snaps = logStore, snaps
	timed := &timedLogStore{LogStore: logStore, m: n.metrics}
	n.logs, err = raft.NewLogCache(4096, timed)
	if err != nil {
		return err
	}
	if err := n.catchUpFromSnapshot(); err != nil {
		return err
	}
	serverTLS, err := cfg.PeerTLS.ServerConfig()
	if err != nil {
		return fmt.Errorf("peer TLS: %w", err)
	}
	clientTLS, err := cfg.PeerTLS.ClientConfig()
	if err != nil {
		return fmt.Errorf("peer TLS: %w", err)
	}
	if n.peerTLS, err = peerCreds(cfg); err != nil {
		return err
	}
	if serverTLS != nil {
		peerLn = tls.NewListener(peerLn, serverTLS)
	}
	n.mux = newSplitListener(peerLn)
	n.transport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: &raftLayer{Listener: n.mux.other(), dialTLS: clientTLS}, MaxPool: 3, Timeout: 10 * time.Second, Logger: hlog,
	})

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(idString(n.meta.ID))
	rc.HeartbeatTimeout = cfg.ElectionTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.ElectionTimeout / 2
	// Followers learn the commit index from the next append; keep that
	// short so a follower serving a linearizable read waits little.
	rc.CommitTimeout = min(cfg.HeartbeatInterval/4, 5*time.Millisecond)
	rc.MaxAppendEntries = 512
	rc.BatchApplyCh = true
	rc.SnapshotThreshold = cfg.SnapshotCount
	rc.SnapshotInterval = 10 * time.Second // how often the threshold is checked
	rc.TrailingLogs = min(cfg.SnapshotCount, 10240)
	rc.NoSnapshotRestoreOnStart = true
	rc.Logger = hlog
	n.fsm = newFSM(n.store, n.log)
	r, err := raft.NewRaft(rc, n.fsm, n.logs, logStore, n.snaps, n.transport)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	n.raft = r
	if fresh && cfg.InitialClusterState == "new" {
		conf, err := initialConfiguration(cfg.InitialCluster, cfg.InitialClusterToken)
		if err != nil {
			return err
		}
		if err := r.BootstrapCluster(conf).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return fmt.Errorf("bootstrap cluster: %w", err)
		}
	}
	return nil
}

func raftLogger(log *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: slogWriter{log}, DisableTime: true})
}

// openRaftStores opens the raft log, which is also the stable store, and
// the snapshot store of the member directory dir.
func openRaftStores(dir string, hlog hclog.Logger) (*raftboltdb.BoltStore, *raft.FileSnapshotStore, error) {
	// The free list is rebuilt on open instead of written with every
	// append: fewer pages per fsynced commit.
	logStore, err := raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(dir, "raft.db"),
		BoltOptions: &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("open raft log: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, hlog)
	if err != nil {
		logStore.Close()
		return nil, nil, fmt.Errorf("open snapshot store: %w", err)
	}
	return logStore, snaps, nil
}

// initialConfiguration is the raft configuration of a new cluster: every
// member of --initial-cluster, with the ID memberID derives for it.
func initialConfiguration(initialCluster, token string) (raft.Configuration, error) {
	members, err := parseInitialCluster(initialCluster)
	if err != nil {
		return raft.Configuration{}, err
	}
	var conf raft.Configuration
	for _, urls := range members {
		addr, err := hostPort(urls[0])
		if err != nil {
			return raft.Configuration{}, err
		}
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(idString(memberID(urls, token))), Address: raft.ServerAddress(addr)})
	}
	slices.SortFunc(conf.Servers, func(a, b raft.Server) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return conf, nil
}

// peerCreds are the credentials for gRPC calls to other members.
func peerCreds(cfg *Config) (credentials.TransportCredentials, error) {
	tc, err := cfg.PeerTLS.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("peer TLS: %w", err)
	}
	if tc == nil {
		return insecure.NewCredentials(), nil
	}
	return credentials.NewTLS(tc), nil
}

// catchUpFromSnapshot restores the state database from the newest raft
// snapshot if the database is older than it (after an unclean shutdown the
// database starts empty; raft replays the log only from the snapshot on).
func (n *node) catchUpFromSnapshot() error {
	metas, err := n.snaps.List()
	if err != nil || len(metas) == 0 {
		return err
	}
	_, rc, err := n.snaps.Open(metas[0].ID)
	if err != nil {
		return fmt.Errorf("open snapshot %s: %w", metas[0].ID, err)
	}
	defer rc.Close()
	applied, err := readSnapshotHeader(rc)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", metas[0].ID, err)
	}
	if applied <= n.store.AppliedIndex() {
		return nil
	}
	n.log.Warn("state database is behind the newest snapshot; restoring it", "state_applied", n.store.AppliedIndex(), "snapshot_applied", applied)
	return n.store.Restore(rc)
}

// run does the member's background work until ctx ends.
func (n *node) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, f := range []func(context.Context){n.watchLeadership, n.serveReadIndex, n.publishAttributes, n.expireLeases, n.autoCompact, n.updateMetrics} {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	wg.Wait()
}

func (n *node) close() {
	n.stopOnce.Do(func() {
		if n.raft != nil {
			if err := n.raft.Shutdown().Error(); err != nil {
				n.log.Warn("raft shutdown", "err", err)
			}
		}
		if n.transport != nil {
			n.transport.Close()
		}
		if n.mux != nil {
			n.mux.close()
		}
		n.connMu.Lock()
		for _, c := range n.conns {
			c.Close()
		}
		n.connMu.Unlock()
		if n.logStore != nil {
			n.logStore.Close()
		}
		if err := n.store.Close(); err != nil {
			n.log.Warn("close state database", "err", err)
		} else if err := markClean(filepath.Join(n.cfg.DataDir, "member")); err != nil {
			n.log.Warn("mark clean shutdown", "err", err)
		}
	})
}

func (n *node) isLeader() bool { return n.raft.State() == raft.Leader }

func (n *node) leaderID() uint64 {
	_, id := n.raft.LeaderWithID()
	v, _ := parseID(string(id))
	return v
}

// watchLeadership reacts to leadership changes: a new leader commits a
// barrier before serving linearizable reads and takes over lease expiry.
func (n *node) watchLeadership(ctx context.Context) {
	obsCh := make(chan raft.Observation, 16)
	obs := raft.NewObserver(obsCh, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	n.raft.RegisterObserver(obs)
	defer n.raft.DeregisterObserver(obs)
	leaderCh := n.raft.LeaderCh()
	for {
		select {
		case <-ctx.Done():
			return
		case <-obsCh:
			n.metrics.leaderChanges.Inc()
		case isLeader := <-leaderCh:
			if !isLeader {
				n.lessor.demote()
				continue
			}
			term := n.raft.CurrentTerm()
			go func() {
				if err := n.raft.Barrier(n.cfg.ElectionTimeout * 5).Error(); err != nil {
					n.log.Warn("leader barrier failed", "err", err)
					return
				}
				if !n.isLeader() || n.raft.CurrentTerm() != term {
					return // leadership moved on while the barrier ran
				}
				n.readyTerm.Store(term)
				n.lessor.promote(n.store.Leases())
			}()
		}
	}
}

// requestTimeout is how long a proposal may wait, as etcd: 5 s plus two
// election timeouts.
func (n *node) requestTimeout() time.Duration { return 5*time.Second + 2*n.cfg.ElectionTimeout }

// propose appends a command on the leader and waits for its result. On a
// follower it returns errNotLeader.
func (n *node) propose(ctx context.Context, data []byte) (command.Message, error) {
	if !n.isLeader() {
		return nil, errNotLeader
	}
	timeout := n.requestTimeout()
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	n.metrics.proposalsPending.Inc()
	f := n.raft.Apply(data, timeout)
	err := f.Error()
	n.metrics.proposalsPending.Dec()
	if err != nil {
		n.metrics.proposalsFailed.Inc()
		switch {
		case errors.Is(err, raft.ErrNotLeader):
			return nil, errNotLeader
		case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrLeadershipTransferInProgress):
			return nil, rpctypes.ErrGRPCLeaderChanged
		case errors.Is(err, raft.ErrEnqueueTimeout):
			return nil, rpctypes.ErrGRPCTimeout
		case errors.Is(err, raft.ErrRaftShutdown):
			return nil, rpctypes.ErrGRPCStopped
		}
		return nil, fmt.Errorf("propose: %w", err)
	}
	res, _ := f.Response().(result)
	return res.resp, res.err
}

var errNotLeader = errors.New("not the leader")

// forwardedKey marks requests a member forwarded, so they are forwarded at
// most once more.
const forwardedKey = "gantry-forwarded"

func isForwarded(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	return len(md.Get(forwardedKey)) > 0
}

// leaderConn returns a gRPC connection to the leader's peer address,
// waiting a while for an election if there is no leader.
func (n *node) leaderConn(ctx context.Context) (*grpc.ClientConn, error) {
	if isForwarded(ctx) {
		return nil, rpctypes.ErrGRPCNotLeader
	}
	addr, err := n.waitLeader(ctx)
	if err != nil {
		return nil, err
	}
	n.connMu.Lock()
	defer n.connMu.Unlock()
	if c := n.conns[addr]; c != nil {
		return c, nil
	}
	c, err := grpc.NewClient(string(addr), grpc.WithTransportCredentials(n.peerTLS),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<31-1), grpc.MaxCallSendMsgSize(1<<31-1), grpc.ForceCodec(gogoCodec{})))
	if err != nil {
		return nil, err
	}
	n.conns[addr] = c
	return c, nil
}

func forwardCtx(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, forwardedKey, "1")
}

// waitLeader waits up to two election timeouts for a known leader.
func (n *node) waitLeader(ctx context.Context) (raft.ServerAddress, error) {
	deadline := time.Now().Add(2 * n.cfg.ElectionTimeout)
	for {
		if addr, _ := n.raft.LeaderWithID(); addr != "" {
			return addr, nil
		}
		if time.Now().After(deadline) {
			return "", rpctypes.ErrGRPCNoLeader
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// proposeAnywhere proposes on the leader, forwarding the encoded command
// through the peer API when this member is a follower. A forward that
// certainly did not reach the leader (no connection to it, or it is no
// longer leader) is retried, as etcd holds requests across an election; one
// whose fate is unknown is not, since a retried txn could apply twice.
func (n *node) proposeAnywhere(ctx context.Context, t command.Type, m command.Message) (command.Message, error) {
	data, err := command.Encode(t, m)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, n.requestTimeout())
	defer cancel()
	for {
		resp, err := n.propose(ctx, data)
		if !errors.Is(err, errNotLeader) {
			return resp, err
		}
		conn, err := n.leaderConn(ctx)
		if err != nil {
			return nil, err
		}
		out, err := storev1.NewPeerClient(conn).Propose(forwardCtx(ctx), &storev1.ProposeRequest{Command: data})
		if err == nil {
			return decodeResponse(t, out.Response)
		}
		if !isNotLeaderStatus(err) && !notSent(err) {
			return nil, err
		}
		if sleepCtx(ctx, 20*time.Millisecond) != nil {
			return nil, rpctypes.ErrGRPCTimeoutDueToLeaderFail
		}
	}
}

// notSent reports whether a forwarding call failed before the request left
// this member: the leader could not be dialled.
func notSent(err error) bool {
	s, ok := status.FromError(err)
	if !ok || s.Code() != codes.Unavailable {
		return false
	}
	msg := s.Message()
	return strings.Contains(msg, "while dialing") || strings.Contains(msg, "connection refused")
}

// linearizable blocks until this member has applied everything committed
// before the call: a read then sees every write acknowledged before it.
func (n *node) linearizable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.requestTimeout())
	defer cancel()
	for {
		index, err := n.readIndex(ctx)
		if err == nil {
			return n.waitApplied(ctx, index)
		}
		// A read is safe to retry: wait out a leader change, as etcd does,
		// instead of failing the client.
		if s, ok := status.FromError(err); !ok || (s.Code() != codes.Unavailable && !isNotLeaderStatus(err)) {
			return err
		}
		if sleepCtx(ctx, 20*time.Millisecond) != nil {
			return rpctypes.ErrGRPCLeaderChanged
		}
	}
}

// readIndex returns the leader's confirmed commit index.
func (n *node) readIndex(ctx context.Context) (uint64, error) {
	if n.isLeader() {
		r, err := n.localReadIndex(ctx)
		return r.index, err
	}
	conn, err := n.leaderConn(ctx)
	if err != nil {
		return 0, err
	}
	out, err := storev1.NewPeerClient(conn).ReadIndex(forwardCtx(ctx), &storev1.ReadIndexRequest{})
	if err != nil {
		return 0, err
	}
	return out.CommitIndex, nil
}

// localReadIndex confirms leadership (batched with concurrent callers) and
// returns the commit index to wait for.
func (n *node) localReadIndex(ctx context.Context) (readIndexResult, error) {
	for n.readyTerm.Load() != n.raft.CurrentTerm() {
		if !n.isLeader() {
			return readIndexResult{}, rpctypes.ErrGRPCNotLeader
		}
		select {
		case <-ctx.Done():
			return readIndexResult{}, rpctypes.ErrGRPCTimeout
		case <-time.After(5 * time.Millisecond):
		}
	}
	ch := make(chan readIndexResult, 1)
	select {
	case n.readReqs <- ch:
	case <-ctx.Done():
		return readIndexResult{}, rpctypes.ErrGRPCTimeout
	}
	select {
	case r := <-ch:
		return r, r.err
	case <-ctx.Done():
		return readIndexResult{}, rpctypes.ErrGRPCTimeout
	}
}

// serveReadIndex answers read-index requests in batches: every request
// waiting when a round starts shares one leadership confirmation.
func (n *node) serveReadIndex(ctx context.Context) {
	for {
		var batch []chan readIndexResult
		select {
		case <-ctx.Done():
			return
		case ch := <-n.readReqs:
			batch = append(batch, ch)
		}
	drain:
		for {
			select {
			case ch := <-n.readReqs:
				batch = append(batch, ch)
			default:
				break drain
			}
		}
		res := readIndexResult{index: n.raft.CommitIndex(), term: n.raft.CurrentTerm()}
		if err := n.raft.VerifyLeader().Error(); err != nil {
			res.err = rpctypes.ErrGRPCNotLeader
		}
		for _, ch := range batch {
			ch <- res
		}
	}
}

// waitApplied waits until the state machine has applied index, counting
// entries it never sees (no-ops, barriers) as applied.
func (n *node) waitApplied(ctx context.Context, index uint64) error {
	for {
		applied, ch := n.fsm.appliedIndex()
		if applied >= index || n.onlyNonCommands(applied+1, index) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return rpctypes.ErrGRPCTimeoutWaitAppliedIndex
		}
	}
}

// onlyNonCommands reports whether the log entries [from, to] hold nothing
// the state machine applies. Entries already compacted away were applied.
func (n *node) onlyNonCommands(from, to uint64) bool {
	var l raft.Log
	for i := to; i >= from; i-- {
		if err := n.logs.GetLog(i, &l); err != nil {
			return errors.Is(err, raft.ErrLogNotFound) && i < n.fsmFloor()
		}
		if l.Type == raft.LogCommand || l.Type == raft.LogConfiguration {
			return false
		}
	}
	return true
}

// fsmFloor is the first index still in the log.
func (n *node) fsmFloor() uint64 {
	first, err := n.logs.FirstIndex()
	if err != nil {
		return 0
	}
	return first
}

// publishAttributes records this member's name and URLs in the replicated
// member table, as etcd does, so every member can list them.
func (n *node) publishAttributes(ctx context.Context) {
	want := n.memberRecord()
	for {
		members, err := n.store.Members()
		if err == nil {
			if have := members[n.meta.ID]; have != nil && have.Name == want.Name && equalStrings(have.ClientURLs, want.ClientURLs) && equalStrings(have.PeerURLs, want.PeerURLs) {
				close(n.published)
				return
			}
			pctx, cancel := context.WithTimeout(ctx, n.requestTimeout())
			_, err = n.proposeAnywhere(pctx, command.SetMember, want)
			cancel()
			if err == nil {
				continue
			}
		}
		n.log.Debug("publish member attributes", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (n *node) memberRecord() *pb.Member {
	return &pb.Member{ID: n.meta.ID, Name: n.meta.Name, PeerURLs: n.meta.PeerURLs, ClientURLs: n.meta.ClientURLs}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// slogWriter carries raft's log lines into the member's logger.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Warn(strings.TrimSpace(string(p)), "component", "raft")
	return len(p), nil
}

// timedLogStore measures raft log appends, which are the member's fsyncs.
type timedLogStore struct {
	raft.LogStore
	m *metrics
}

func (s *timedLogStore) StoreLogs(logs []*raft.Log) error {
	start := time.Now()
	err := s.LogStore.StoreLogs(logs)
	s.m.walFsync.Observe(time.Since(start).Seconds())
	return err
}

func (s *timedLogStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

var _ io.Closer = (*raftboltdb.BoltStore)(nil)
