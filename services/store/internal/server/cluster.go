package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gantry-dev/gantry/services/store/internal/command"
	"github.com/hashicorp/raft"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// clusterServer is etcd's Cluster service over raft configuration changes.
// The raft configuration is the truth about who is a member; names and
// client URLs live in the replicated member table.
type clusterServer struct {
	pb.UnimplementedClusterServer
	n *node
}

func (s *clusterServer) MemberList(ctx context.Context, r *pb.MemberListRequest) (*pb.MemberListResponse, error) {
	if r.Linearizable {
		if err := s.n.linearizable(ctx); err != nil {
			return nil, toGRPC(err)
		}
	}
	members, err := s.n.memberList()
	if err != nil {
		return nil, toGRPC(err)
	}
	return &pb.MemberListResponse{Header: s.n.newHeader(), Members: members}, nil
}

// memberList merges the raft configuration with the member table.
func (n *node) memberList() ([]*pb.Member, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	attrs, err := n.store.Members()
	if err != nil {
		return nil, err
	}
	scheme := "http://"
	if !n.cfg.PeerTLS.Empty() {
		scheme = "https://"
	}
	var out []*pb.Member
	for _, srv := range f.Configuration().Servers {
		id, err := parseID(string(srv.ID))
		if err != nil {
			continue
		}
		m := &pb.Member{ID: id, PeerURLs: []string{scheme + string(srv.Address)}}
		if a := attrs[id]; a != nil {
			m.Name, m.ClientURLs = a.Name, a.ClientURLs
			if len(a.PeerURLs) > 0 {
				m.PeerURLs = a.PeerURLs
			}
		}
		m.IsLearner = srv.Suffrage == raft.Nonvoter
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *pb.Member) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// onLeader runs fn on the leader: here, or through the leader's Cluster
// service. The response carries this member's header either way.
func onLeader[Req any, Resp interface{ GetHeader() *pb.ResponseHeader }](ctx context.Context, n *node, r Req, local func(context.Context, Req) (Resp, error), remote func(pb.ClusterClient, context.Context, Req, ...grpc.CallOption) (Resp, error)) (Resp, error) {
	var resp Resp
	var err error
	if n.isLeader() {
		resp, err = local(ctx, r)
	} else {
		var conn *grpc.ClientConn
		if conn, err = n.leaderConn(ctx); err != nil {
			return resp, toGRPC(err)
		}
		resp, err = remote(pb.NewClusterClient(conn), forwardCtx(ctx), r)
	}
	if err == nil {
		n.fillHeader(resp.GetHeader())
	}
	return resp, err
}

func (s *clusterServer) MemberAdd(ctx context.Context, r *pb.MemberAddRequest) (*pb.MemberAddResponse, error) {
	return onLeader(ctx, s.n, r, s.memberAdd, pb.ClusterClient.MemberAdd)
}

func (s *clusterServer) memberAdd(ctx context.Context, r *pb.MemberAddRequest) (*pb.MemberAddResponse, error) {
	n := s.n
	addr, err := peerAddr(r.PeerURLs)
	if err != nil {
		return nil, err
	}
	members, err := n.memberList()
	if err != nil {
		return nil, toGRPC(err)
	}
	for _, m := range members {
		for _, u := range m.PeerURLs {
			if slices.Contains(r.PeerURLs, u) {
				return nil, rpctypes.ErrGRPCPeerURLExist
			}
		}
	}
	id := randomMemberID()
	if err := n.addServer(raft.ServerID(idString(id)), addr, r.IsLearner); err != nil {
		return nil, err
	}
	m := &pb.Member{ID: id, PeerURLs: r.PeerURLs, IsLearner: r.IsLearner}
	if _, err := n.proposeAnywhere(ctx, command.SetMember, m); err != nil {
		return nil, toGRPC(err)
	}
	all, err := n.memberList()
	if err != nil {
		return nil, toGRPC(err)
	}
	return &pb.MemberAddResponse{Header: n.newHeader(), Member: m, Members: all}, nil
}

// peerAddr is the raft address of a member's first peer URL.
func peerAddr(urls []string) (raft.ServerAddress, error) {
	if len(urls) == 0 {
		return "", rpctypes.ErrGRPCMemberBadURLs
	}
	addr, err := hostPort(urls[0])
	if err != nil {
		return "", rpctypes.ErrGRPCMemberBadURLs
	}
	return raft.ServerAddress(addr), nil
}

// addServer adds a voter or learner (or moves one to a new address) through
// a raft configuration change.
func (n *node) addServer(id raft.ServerID, addr raft.ServerAddress, learner bool) error {
	f := n.raft.AddVoter
	if learner {
		f = n.raft.AddNonvoter
	}
	if err := f(id, addr, 0, n.requestTimeout()).Error(); err != nil {
		return configErr(err)
	}
	return nil
}

func randomMemberID() uint64 {
	for {
		if id := randomID(); id != 0 {
			return id
		}
	}
}

func configErr(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost):
		return rpctypes.ErrGRPCLeaderChanged
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return rpctypes.ErrGRPCTimeout
	}
	return status.Error(codes.Unavailable, fmt.Sprintf("etcdserver: re-configuration failed: %v", err))
}

func (n *node) findMember(id uint64) (raft.Server, bool) {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return raft.Server{}, false
	}
	for _, srv := range f.Configuration().Servers {
		if srv.ID == raft.ServerID(idString(id)) {
			return srv, true
		}
	}
	return raft.Server{}, false
}

func (s *clusterServer) MemberRemove(ctx context.Context, r *pb.MemberRemoveRequest) (*pb.MemberRemoveResponse, error) {
	return onLeader(ctx, s.n, r, s.memberRemove, pb.ClusterClient.MemberRemove)
}

func (s *clusterServer) memberRemove(ctx context.Context, r *pb.MemberRemoveRequest) (*pb.MemberRemoveResponse, error) {
	n := s.n
	srv, ok := n.findMember(r.ID)
	if !ok {
		return nil, rpctypes.ErrGRPCMemberNotFound
	}
	if err := n.raft.RemoveServer(srv.ID, 0, n.requestTimeout()).Error(); err != nil {
		return nil, configErr(err)
	}
	// The leader may have removed itself; the member table is then updated
	// by the next leader through forwarding.
	if _, err := n.proposeAnywhere(ctx, command.DelMember, &pb.Member{ID: r.ID}); err != nil {
		n.log.Warn("member removed but its attributes remain", "member", idString(r.ID), "err", err)
	}
	all, err := n.memberList()
	if err != nil {
		return nil, toGRPC(err)
	}
	return &pb.MemberRemoveResponse{Header: n.newHeader(), Members: all}, nil
}

func (s *clusterServer) MemberUpdate(ctx context.Context, r *pb.MemberUpdateRequest) (*pb.MemberUpdateResponse, error) {
	return onLeader(ctx, s.n, r, s.memberUpdate, pb.ClusterClient.MemberUpdate)
}

func (s *clusterServer) memberUpdate(ctx context.Context, r *pb.MemberUpdateRequest) (*pb.MemberUpdateResponse, error) {
	n := s.n
	srv, ok := n.findMember(r.ID)
	if !ok {
		return nil, rpctypes.ErrGRPCMemberNotFound
	}
	addr, err := peerAddr(r.PeerURLs)
	if err != nil {
		return nil, err
	}
	// Adding a server that exists changes its address, keeping its vote.
	if err := n.addServer(srv.ID, addr, srv.Suffrage == raft.Nonvoter); err != nil {
		return nil, err
	}
	attrs, _ := n.store.Members()
	m := &pb.Member{ID: r.ID, PeerURLs: r.PeerURLs}
	if a := attrs[r.ID]; a != nil {
		m.Name, m.ClientURLs = a.Name, a.ClientURLs
	}
	if _, err := n.proposeAnywhere(ctx, command.SetMember, m); err != nil {
		return nil, toGRPC(err)
	}
	all, err := n.memberList()
	if err != nil {
		return nil, toGRPC(err)
	}
	return &pb.MemberUpdateResponse{Header: n.newHeader(), Members: all}, nil
}

func (s *clusterServer) MemberPromote(ctx context.Context, r *pb.MemberPromoteRequest) (*pb.MemberPromoteResponse, error) {
	return onLeader(ctx, s.n, r, s.memberPromote, pb.ClusterClient.MemberPromote)
}

func (s *clusterServer) memberPromote(ctx context.Context, r *pb.MemberPromoteRequest) (*pb.MemberPromoteResponse, error) {
	n := s.n
	srv, ok := n.findMember(r.ID)
	if !ok {
		return nil, rpctypes.ErrGRPCMemberNotFound
	}
	if srv.Suffrage != raft.Nonvoter {
		return nil, rpctypes.ErrGRPCMemberNotLearner
	}
	if err := n.addServer(srv.ID, srv.Address, false); err != nil {
		return nil, err
	}
	all, err := n.memberList()
	if err != nil {
		return nil, toGRPC(err)
	}
	return &pb.MemberPromoteResponse{Header: n.newHeader(), Members: all}, nil
}

// discoverSelf asks the existing members, through their peer API, for this
// new member's ID (given by MemberAdd) and the cluster ID.
func discoverSelf(ctx context.Context, cfg *Config, dial func(addr string) (*grpc.ClientConn, error)) (id, cluster uint64, err error) {
	members, err := parseInitialCluster(cfg.InitialCluster)
	if err != nil {
		return 0, 0, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		for name, urls := range members {
			if name == cfg.Name {
				continue
			}
			addr, _ := hostPort(urls[0])
			conn, err := dial(addr)
			if err != nil {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			resp, err := pb.NewClusterClient(conn).MemberList(cctx, &pb.MemberListRequest{})
			cancel()
			conn.Close()
			if err != nil {
				continue
			}
			for _, m := range resp.Members {
				for _, u := range m.PeerURLs {
					if slices.Contains(cfg.InitialAdvertisePeerURLs, u) {
						return m.ID, resp.Header.ClusterId, nil
					}
				}
			}
			return 0, 0, fmt.Errorf("the cluster at %s has no member with peer URLs %v: add it with MemberAdd first", addr, cfg.InitialAdvertisePeerURLs)
		}
		if time.Now().After(deadline) {
			return 0, 0, errors.New("--initial-cluster-state existing: no other member of --initial-cluster answered")
		}
		if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
			return 0, 0, err
		}
	}
}
