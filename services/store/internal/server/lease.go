package server

import (
	"context"
	"errors"
	"io"
	"math"
	"time"

	"github.com/gantry-dev/gantry/services/store/internal/command"
	"github.com/gantry-dev/gantry/services/store/internal/mvcc"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// leaseServer is etcd's Lease service. Grants and revocations go through
// raft; keep-alives and time-to-live are answered by the leader, which
// alone tracks deadlines.
type leaseServer struct {
	pb.UnimplementedLeaseServer
	n *node
}

// minTTL is etcd's floor for lease TTLs: one and a half election timeouts,
// rounded up to whole seconds, so a lease survives a leader change.
func (n *node) minTTL() int64 {
	return int64(math.Ceil((3 * n.cfg.ElectionTimeout / 2).Seconds()))
}

func (s *leaseServer) LeaseGrant(ctx context.Context, r *pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error) {
	if r.TTL > maxLeaseTTL {
		return nil, rpctypes.ErrGRPCLeaseTTLTooLarge
	}
	ttl := max(r.TTL, s.n.minTTL())
	for attempt := 0; ; attempt++ {
		id := r.ID
		if id == 0 {
			id = randomLeaseID()
		}
		out, err := writeAs[*pb.LeaseGrantResponse](ctx, s.n, command.LeaseGrant, &pb.LeaseGrantRequest{ID: id, TTL: ttl})
		if errors.Is(err, rpctypes.ErrGRPCLeaseExist) && r.ID == 0 && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		if s.n.isLeader() {
			s.n.lessor.renew(id, ttl)
		}
		return out, nil
	}
}

func randomLeaseID() int64 {
	for {
		if id := int64(randomID() >> 1); id != 0 {
			return id
		}
	}
}

func (s *leaseServer) LeaseRevoke(ctx context.Context, r *pb.LeaseRevokeRequest) (*pb.LeaseRevokeResponse, error) {
	return writeAs[*pb.LeaseRevokeResponse](ctx, s.n, command.LeaseRevoke, r)
}

func (s *leaseServer) LeaseTimeToLive(ctx context.Context, r *pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error) {
	if !s.n.isLeader() {
		conn, err := s.n.leaderConn(ctx)
		if err != nil {
			return nil, toGRPC(err)
		}
		out, err := pb.NewLeaseClient(conn).LeaseTimeToLive(forwardCtx(ctx), r)
		if err == nil {
			s.n.fillHeader(out.Header)
		}
		return out, err
	}
	if err := s.n.waitLessor(ctx); err != nil {
		return nil, err
	}
	ttl, keys, err := s.n.store.Lease(r.ID)
	if errors.Is(err, mvcc.ErrLeaseNotFound) {
		return &pb.LeaseTimeToLiveResponse{Header: s.n.newHeader(), ID: r.ID, TTL: -1}, nil
	}
	if err != nil {
		return nil, toGRPC(err)
	}
	out := &pb.LeaseTimeToLiveResponse{Header: s.n.newHeader(), ID: r.ID, TTL: s.n.lessor.remaining(r.ID, ttl), GrantedTTL: ttl}
	if r.Keys {
		out.Keys = keys
	}
	return out, nil
}

func (s *leaseServer) LeaseLeases(ctx context.Context, r *pb.LeaseLeasesRequest) (*pb.LeaseLeasesResponse, error) {
	out := &pb.LeaseLeasesResponse{Header: s.n.newHeader()}
	for id := range s.n.store.Leases() {
		out.Leases = append(out.Leases, &pb.LeaseStatus{ID: id})
	}
	return out, nil
}

func (s *leaseServer) LeaseKeepAlive(stream pb.Lease_LeaseKeepAliveServer) error {
	ctx := stream.Context()
	if !s.n.isLeader() {
		return s.proxyKeepAlive(stream)
	}
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if !s.n.isLeader() {
			return rpctypes.ErrGRPCNotLeader
		}
		if err := s.n.waitLessor(ctx); err != nil {
			return err
		}
		resp := &pb.LeaseKeepAliveResponse{Header: s.n.newHeader(), ID: req.ID}
		if ttl, ok := s.n.store.LeaseTTL(req.ID); ok {
			s.n.lessor.renew(req.ID, ttl)
			resp.TTL = ttl
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

// proxyKeepAlive relays a follower's keep-alive stream to the leader. The
// handler goroutine owns stream.Send; a helper owns stream.Recv and ends
// when the handler returns and the stream's context is cancelled.
func (s *leaseServer) proxyKeepAlive(stream pb.Lease_LeaseKeepAliveServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	conn, err := s.n.leaderConn(ctx)
	if err != nil {
		return toGRPC(err)
	}
	up, err := pb.NewLeaseClient(conn).LeaseKeepAlive(forwardCtx(ctx))
	if err != nil {
		return err
	}
	go func() {
		defer cancel()
		for {
			req, err := stream.Recv()
			if err != nil {
				_ = up.CloseSend()
				return
			}
			if err := up.Send(req); err != nil {
				return
			}
		}
	}()
	for {
		resp, err := up.Recv()
		if err == io.EOF || (err != nil && ctx.Err() != nil && stream.Context().Err() == nil) {
			return nil // the client closed its side
		}
		if err != nil {
			return err
		}
		s.n.fillHeader(resp.Header)
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

// waitLessor waits until this leader's lessor has taken over deadlines.
func (n *node) waitLessor(ctx context.Context) error {
	for !n.lessor.isPrimary() {
		if !n.isLeader() {
			return rpctypes.ErrGRPCNotLeader
		}
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return rpctypes.ErrGRPCTimeout
		}
	}
	return nil
}
