package server

import (
	"context"
	"errors"

	storev1 "github.com/gantry-dev/gantry/proto/gantry/store/v1"
	"github.com/gantry-dev/gantry/services/store/internal/command"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// peerServer is the member-to-member API: forwarded proposals and read
// indexes, answered by the leader.
type peerServer struct {
	storev1.UnimplementedPeerServer
	n *node
}

func (s *peerServer) Propose(ctx context.Context, r *storev1.ProposeRequest) (*storev1.ProposeResponse, error) {
	// Never let a malformed entry into the log: every member would fail to
	// apply it.
	if _, _, err := command.Decode(r.Command); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "gantry-store: bad command: %v", err)
	}
	resp, err := s.n.propose(ctx, r.Command)
	if errors.Is(err, errNotLeader) {
		return nil, rpctypes.ErrGRPCNotLeader
	}
	if err != nil {
		return nil, toGRPC(err)
	}
	out := &storev1.ProposeResponse{}
	if resp != nil {
		b := make([]byte, resp.Size())
		if _, err := resp.MarshalTo(b); err != nil {
			return nil, status.Errorf(codes.Internal, "encode response: %v", err)
		}
		out.Response = b
	}
	return out, nil
}

func (s *peerServer) ReadIndex(ctx context.Context, r *storev1.ReadIndexRequest) (*storev1.ReadIndexResponse, error) {
	if !s.n.isLeader() {
		return nil, rpctypes.ErrGRPCNotLeader
	}
	res, err := s.n.localReadIndex(ctx)
	if err != nil {
		return nil, err
	}
	return &storev1.ReadIndexResponse{CommitIndex: res.index, Term: res.term}, nil
}
