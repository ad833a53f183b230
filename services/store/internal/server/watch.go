package server

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gantry-dev/gantry/services/store/internal/mvcc"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/metadata"
)

// watchServer is etcd's Watch service. Every member serves watches from
// its own applied state: each watcher reads the revision history from the
// store, in order, from its next revision on, and waits for commits when it
// has caught up. So a watch resumed at a revision sees every event after it
// exactly once.
type watchServer struct {
	pb.UnimplementedWatchServer
	n *node
}

const maxEventsPerResponse = 1000

// requireLeader reports whether the client asked, as clientv3's
// WithRequireLeader does, to fail when the member has no leader.
func requireLeader(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get(rpctypes.MetadataRequireLeaderKey)
	return len(v) > 0 && v[0] == rpctypes.MetadataHasLeader
}

func (s *watchServer) Watch(stream pb.Watch_WatchServer) error {
	if requireLeader(stream.Context()) && s.n.leaderID() == 0 {
		return rpctypes.ErrGRPCNoLeader
	}
	ctx, cancel := context.WithCancel(stream.Context())
	ws := &watchStream{n: s.n, ctx: ctx, out: make(chan *pb.WatchResponse, 256), watchers: map[int64]*watcher{}}
	sendErr := make(chan error, 1)
	go func() { sendErr <- ws.sendLoop(stream) }()
	recvErr := make(chan error, 1)
	go func() { recvErr <- ws.recvLoop(stream) }()
	var err error
	select {
	case err = <-recvErr:
	case <-s.lostLeader(ctx, requireLeader(stream.Context())):
		// As etcd: a client that requires a leader is told to go
		// elsewhere when this member has been without one for a while.
		err = rpctypes.ErrGRPCNoLeader
	}
	cancel()
	ws.wg.Wait()
	if err != nil && err != io.EOF && !errors.Is(err, context.Canceled) {
		return err
	}
	select {
	case err := <-sendErr:
		return err
	default:
		return nil
	}
}

// lostLeader returns a channel closed once the member has had no leader for
// three election timeouts; never, if the client did not ask.
func (s *watchServer) lostLeader(ctx context.Context, watch bool) <-chan struct{} {
	ch := make(chan struct{})
	if !watch {
		return ch
	}
	go func() {
		t := time.NewTicker(s.n.cfg.ElectionTimeout)
		defer t.Stop()
		missed := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if s.n.leaderID() != 0 {
				missed = 0
				continue
			}
			if missed++; missed >= 3 {
				close(ch)
				return
			}
		}
	}()
	return ch
}

type watchStream struct {
	n   *node
	ctx context.Context
	out chan *pb.WatchResponse
	wg  sync.WaitGroup

	mu       sync.Mutex
	watchers map[int64]*watcher
	nextID   int64
}

type watcher struct {
	id      int64
	req     *pb.WatchCreateRequest
	cancel  context.CancelFunc
	done    chan struct{}
	through atomic.Int64 // every event up to this revision has been queued
}

func (ws *watchStream) sendLoop(stream pb.Watch_WatchServer) error {
	for {
		select {
		case <-ws.ctx.Done():
			return nil
		case resp := <-ws.out:
			if err := stream.Send(resp); err != nil {
				return err
			}
		}
	}
}

// send queues a response; false once the stream is closing.
func (ws *watchStream) send(resp *pb.WatchResponse) bool {
	select {
	case ws.out <- resp:
		return true
	case <-ws.ctx.Done():
		return false
	}
}

func (ws *watchStream) recvLoop(stream pb.Watch_WatchServer) error {
	for {
		req, err := stream.Recv()
		if err != nil {
			return err
		}
		switch r := req.RequestUnion.(type) {
		case *pb.WatchRequest_CreateRequest:
			ws.create(r.CreateRequest)
		case *pb.WatchRequest_CancelRequest:
			ws.cancelWatch(r.CancelRequest.WatchId)
		case *pb.WatchRequest_ProgressRequest:
			ws.progress()
		}
	}
}

func (ws *watchStream) create(req *pb.WatchCreateRequest) {
	n := ws.n
	ws.mu.Lock()
	id := req.WatchId
	if id == 0 {
		for ws.watchers[ws.nextID] != nil {
			ws.nextID++
		}
		id = ws.nextID
		ws.nextID++
	} else if ws.watchers[id] != nil {
		ws.mu.Unlock()
		ws.send(&pb.WatchResponse{Header: n.newHeader(), WatchId: id, Created: true, Canceled: true, CancelReason: "mvcc: duplicate watch ID provided on the WatchStream"})
		return
	}
	if len(req.Key) == 0 && len(req.RangeEnd) == 0 {
		ws.mu.Unlock()
		ws.send(&pb.WatchResponse{Header: n.newHeader(), WatchId: id, Created: true, Canceled: true, CancelReason: "etcdserver: key is not provided"})
		return
	}
	ctx, cancel := context.WithCancel(ws.ctx)
	w := &watcher{id: id, req: req, cancel: cancel, done: make(chan struct{})}
	ws.watchers[id] = w
	ws.mu.Unlock()

	start := req.StartRevision
	hdr := n.newHeader()
	if start <= 0 {
		start = hdr.Revision + 1
	}
	w.through.Store(start - 1)
	if !ws.send(&pb.WatchResponse{Header: hdr, WatchId: id, Created: true}) {
		return
	}
	ws.wg.Add(1)
	go func() {
		defer ws.wg.Done()
		defer close(w.done)
		ws.run(ctx, w, start)
	}()
}

// run feeds one watcher until it is cancelled or compacted away.
func (ws *watchStream) run(ctx context.Context, w *watcher, next int64) {
	store := ws.n.store
	f := mvcc.EventFilter{Key: w.req.Key, End: w.req.RangeEnd, PrevKV: w.req.PrevKv}
	for _, ft := range w.req.Filters {
		switch ft {
		case pb.WatchCreateRequest_NOPUT:
			f.NoPut = true
		case pb.WatchCreateRequest_NODELETE:
			f.NoDelete = true
		}
	}
	var progress <-chan time.Time
	if w.req.ProgressNotify {
		t := time.NewTicker(ws.n.cfg.ProgressNotifyInterval)
		defer t.Stop()
		progress = t.C
	}
	for {
		changed := store.Changed()
		evs, after, err := store.Events(next, f, maxEventsPerResponse)
		if errors.Is(err, mvcc.ErrCompacted) {
			ws.remove(w.id)
			ws.send(&pb.WatchResponse{Header: ws.n.newHeader(), WatchId: w.id, CompactRevision: store.CompactRev(), Canceled: true,
				CancelReason: "etcdserver: mvcc: required revision has been compacted"})
			return
		}
		if err != nil {
			ws.n.log.Error("watch: read history", "err", err)
			ws.remove(w.id)
			ws.send(&pb.WatchResponse{Header: ws.n.newHeader(), WatchId: w.id, Canceled: true, CancelReason: err.Error()})
			return
		}
		if len(evs) > 0 {
			hdr := ws.n.newHeader()
			hdr.Revision = after - 1
			if !ws.send(&pb.WatchResponse{Header: hdr, WatchId: w.id, Events: evs}) {
				return
			}
		}
		next = after
		w.through.Store(next - 1)
		if next <= store.Rev() {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-progress:
			hdr := ws.n.newHeader()
			hdr.Revision = next - 1
			if next > store.Rev() && !ws.send(&pb.WatchResponse{Header: hdr, WatchId: w.id}) {
				return
			}
		}
	}
}

func (ws *watchStream) remove(id int64) {
	ws.mu.Lock()
	delete(ws.watchers, id)
	ws.mu.Unlock()
}

func (ws *watchStream) cancelWatch(id int64) {
	ws.mu.Lock()
	w := ws.watchers[id]
	delete(ws.watchers, id)
	ws.mu.Unlock()
	if w == nil {
		return
	}
	w.cancel()
	<-w.done // no event may follow the cancel confirmation
	ws.send(&pb.WatchResponse{Header: ws.n.newHeader(), WatchId: id, Canceled: true})
}

// progress answers a progress request with the revision every watcher on
// the stream has been brought up to (watch ID -1, as etcd).
func (ws *watchStream) progress() {
	rev := ws.n.store.Rev()
	ws.mu.Lock()
	for _, w := range ws.watchers {
		rev = min(rev, w.through.Load())
	}
	ws.mu.Unlock()
	hdr := ws.n.newHeader()
	hdr.Revision = rev
	ws.send(&pb.WatchResponse{Header: hdr, WatchId: -1})
}
