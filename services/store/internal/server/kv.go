package server

import (
	"context"

	"github.com/gantry-dev/gantry/services/store/internal/command"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// kvServer is etcd's KV service.
type kvServer struct {
	pb.UnimplementedKVServer
	n *node
}

func (s *kvServer) Range(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	if err := checkRange(r); err != nil {
		return nil, err
	}
	if !r.Serializable {
		if err := s.n.linearizable(ctx); err != nil {
			return nil, toGRPC(err)
		}
	}
	resp, err := s.n.store.Range(r)
	if err != nil {
		return nil, toGRPC(err)
	}
	s.n.fillHeader(resp.Header)
	return resp, nil
}

func (s *kvServer) Put(ctx context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	if err := checkPut(r); err != nil {
		return nil, err
	}
	return writeAs[*pb.PutResponse](ctx, s.n, command.Put, r)
}

func (s *kvServer) DeleteRange(ctx context.Context, r *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	if err := checkDelete(r); err != nil {
		return nil, err
	}
	return writeAs[*pb.DeleteRangeResponse](ctx, s.n, command.DeleteRange, r)
}

func (s *kvServer) Txn(ctx context.Context, r *pb.TxnRequest) (*pb.TxnResponse, error) {
	if err := checkTxn(r, s.n.cfg.MaxTxnOps); err != nil {
		return nil, err
	}
	if isReadOnlyTxn(r) {
		// Like etcd, a txn without writes is served as a read: no log entry.
		return s.readOnlyTxn(ctx, r)
	}
	return writeAs[*pb.TxnResponse](ctx, s.n, command.Txn, r)
}

func (s *kvServer) readOnlyTxn(ctx context.Context, r *pb.TxnRequest) (*pb.TxnResponse, error) {
	if !txnSerializable(r) {
		if err := s.n.linearizable(ctx); err != nil {
			return nil, toGRPC(err)
		}
	}
	resp, err := s.n.store.ReadTxn(r)
	if err != nil {
		return nil, toGRPC(err)
	}
	s.n.fillHeader(resp.Header)
	return resp, nil
}

func (s *kvServer) Compact(ctx context.Context, r *pb.CompactionRequest) (*pb.CompactionResponse, error) {
	return writeAs[*pb.CompactionResponse](ctx, s.n, command.Compact, r)
}

// isReadOnlyTxn reports whether no branch of r can write.
func isReadOnlyTxn(r *pb.TxnRequest) bool {
	for _, ops := range [][]*pb.RequestOp{r.Success, r.Failure} {
		for _, op := range ops {
			switch req := op.Request.(type) {
			case *pb.RequestOp_RequestPut, *pb.RequestOp_RequestDeleteRange:
				return false
			case *pb.RequestOp_RequestTxn:
				if !isReadOnlyTxn(req.RequestTxn) {
					return false
				}
			}
		}
	}
	return true
}

// txnSerializable reports whether every range in r asked for serializable.
func txnSerializable(r *pb.TxnRequest) bool {
	n := 0
	for _, ops := range [][]*pb.RequestOp{r.Success, r.Failure} {
		for _, op := range ops {
			switch req := op.Request.(type) {
			case *pb.RequestOp_RequestRange:
				if !req.RequestRange.Serializable {
					return false
				}
				n++
			case *pb.RequestOp_RequestTxn:
				if !txnSerializable(req.RequestTxn) {
					return false
				}
				n++
			}
		}
	}
	return n > 0
}

// write validates the encoded size and proposes the command, forwarding it
// to the leader if need be. Errors come back as etcd gRPC errors.
func (n *node) write(ctx context.Context, t command.Type, m command.Message) (command.Message, error) {
	if m.Size()+1 > n.cfg.MaxRequestBytes {
		return nil, rpctypes.ErrGRPCRequestTooLarge
	}
	resp, err := n.proposeAnywhere(ctx, t, m)
	if err != nil {
		return nil, toGRPC(err)
	}
	return resp, nil
}

// writeAs proposes a command and returns its response as R with this
// member's header.
func writeAs[R interface {
	command.Message
	GetHeader() *pb.ResponseHeader
}](ctx context.Context, n *node, t command.Type, m command.Message) (R, error) {
	var zero R
	resp, err := n.write(ctx, t, m)
	if err != nil {
		return zero, err
	}
	out, ok := resp.(R)
	if !ok {
		return zero, status.Errorf(codes.Internal, "gantry-store: unexpected %T response to %v", resp, t)
	}
	n.fillHeader(out.GetHeader())
	return out, nil
}

// fillHeader completes a response header with this member's identity.
func (n *node) fillHeader(h *pb.ResponseHeader) {
	if h == nil {
		return
	}
	h.ClusterId = n.meta.ClusterID
	h.MemberId = n.meta.ID
	h.RaftTerm = n.raft.CurrentTerm()
}

func (n *node) newHeader() *pb.ResponseHeader {
	h := &pb.ResponseHeader{Revision: n.store.Rev()}
	n.fillHeader(h)
	return h
}
