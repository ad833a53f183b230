package server

import (
	"context"
	"crypto/sha256"
	"io"

	"github.com/hashicorp/raft"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Version is the etcd API version gantry-store reports.
const Version = "3.6.0"

// maintenanceServer is etcd's Maintenance service.
type maintenanceServer struct {
	pb.UnimplementedMaintenanceServer
	n *node
}

func (s *maintenanceServer) Status(ctx context.Context, r *pb.StatusRequest) (*pb.StatusResponse, error) {
	n := s.n
	size, inUse := n.store.Size()
	applied, _ := n.fsm.appliedIndex()
	resp := &pb.StatusResponse{
		Header:           n.newHeader(),
		Version:          Version,
		DbSize:           size,
		DbSizeInUse:      inUse,
		Leader:           n.leaderID(),
		RaftIndex:        n.raft.CommitIndex(),
		RaftTerm:         n.raft.CurrentTerm(),
		RaftAppliedIndex: applied,
		StorageVersion:   Version,
	}
	if srv, ok := n.findMember(n.meta.ID); ok {
		resp.IsLearner = srv.Suffrage == raft.Nonvoter
	}
	if resp.Leader == 0 {
		resp.Errors = append(resp.Errors, "etcdserver: no leader")
	}
	return resp, nil
}

// Snapshot streams a consistent copy of the state database followed by
// its SHA-256, as etcd does, so `etcdctl snapshot save` works.
func (s *maintenanceServer) Snapshot(r *pb.SnapshotRequest, stream pb.Maintenance_SnapshotServer) error {
	_, size, write, release, err := s.n.store.Snapshot()
	if err != nil {
		return toGRPC(err)
	}
	defer release()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	defer pr.Close()
	h := sha256.New()
	buf := make([]byte, 32*1024)
	sent := int64(0)
	for {
		k, err := io.ReadFull(pr, buf)
		if k > 0 {
			h.Write(buf[:k])
			sent += int64(k)
			resp := &pb.SnapshotResponse{Header: s.n.newHeader(), RemainingBytes: uint64(max(size-sent, 0)), Blob: append([]byte(nil), buf[:k]...), Version: Version}
			if err := stream.Send(resp); err != nil {
				return err
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return status.Errorf(codes.Internal, "snapshot: %v", err)
		}
	}
	return stream.Send(&pb.SnapshotResponse{Header: s.n.newHeader(), Blob: h.Sum(nil), Version: Version})
}

func (s *maintenanceServer) Alarm(ctx context.Context, r *pb.AlarmRequest) (*pb.AlarmResponse, error) {
	// gantry-store raises no alarms (it has no space quota yet): there is
	// nothing to list or to disarm.
	if r.Action == pb.AlarmRequest_ACTIVATE {
		return nil, status.Error(codes.Unimplemented, "etcdserver: gantry-store does not support activating alarms")
	}
	return &pb.AlarmResponse{Header: s.n.newHeader()}, nil
}

// Defragment rewrites this member's state database without free pages.
// Like etcd's, it acts on the member it is sent to and blocks its reads and
// writes meanwhile.
func (s *maintenanceServer) Defragment(ctx context.Context, r *pb.DefragmentRequest) (*pb.DefragmentResponse, error) {
	if err := s.n.store.Defragment(); err != nil {
		return nil, status.Errorf(codes.Internal, "etcdserver: defragment: %v", err)
	}
	return &pb.DefragmentResponse{Header: s.n.newHeader()}, nil
}

func (s *maintenanceServer) Hash(ctx context.Context, r *pb.HashRequest) (*pb.HashResponse, error) {
	h, _, _, err := s.n.store.HashKV(0)
	if err != nil {
		return nil, toGRPC(err)
	}
	return &pb.HashResponse{Header: s.n.newHeader(), Hash: h}, nil
}

func (s *maintenanceServer) HashKV(ctx context.Context, r *pb.HashKVRequest) (*pb.HashKVResponse, error) {
	h, rev, compact, err := s.n.store.HashKV(r.Revision)
	if err != nil {
		return nil, toGRPC(err)
	}
	return &pb.HashKVResponse{Header: s.n.newHeader(), Hash: h, CompactRevision: compact, HashRevision: rev}, nil
}

func (s *maintenanceServer) MoveLeader(ctx context.Context, r *pb.MoveLeaderRequest) (*pb.MoveLeaderResponse, error) {
	n := s.n
	if !n.isLeader() {
		conn, err := n.leaderConn(ctx)
		if err != nil {
			return nil, toGRPC(err)
		}
		return pb.NewMaintenanceClient(conn).MoveLeader(forwardCtx(ctx), r)
	}
	srv, ok := n.findMember(r.TargetID)
	if !ok || srv.Suffrage != raft.Voter {
		return nil, status.Error(codes.FailedPrecondition, "etcdserver: bad leader transferee")
	}
	if err := n.raft.LeadershipTransferToServer(srv.ID, srv.Address).Error(); err != nil {
		return nil, configErr(err)
	}
	return &pb.MoveLeaderResponse{Header: n.newHeader()}, nil
}

func (s *maintenanceServer) Downgrade(ctx context.Context, r *pb.DowngradeRequest) (*pb.DowngradeResponse, error) {
	return nil, status.Error(codes.Unimplemented, "etcdserver: gantry-store has no downgrade support")
}
