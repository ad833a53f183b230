package server

import (
	"context"
	"errors"

	"github.com/gantry-dev/gantry/services/store/internal/command"
	"github.com/gantry-dev/gantry/services/store/internal/mvcc"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// toGRPC maps a domain error to etcd's gRPC error, once, at the API edge.
// Errors that already carry a gRPC status pass through.
func toGRPC(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, mvcc.ErrCompacted):
		return rpctypes.ErrGRPCCompacted
	case errors.Is(err, mvcc.ErrFutureRev):
		return rpctypes.ErrGRPCFutureRev
	case errors.Is(err, mvcc.ErrLeaseNotFound):
		return rpctypes.ErrGRPCLeaseNotFound
	case errors.Is(err, mvcc.ErrLeaseExists):
		return rpctypes.ErrGRPCLeaseExist
	case errors.Is(err, mvcc.ErrKeyNotFound):
		return rpctypes.ErrGRPCKeyNotFound
	case errors.Is(err, errNotLeader):
		return rpctypes.ErrGRPCNotLeader
	case errors.Is(err, context.Canceled):
		return rpctypes.ErrGRPCCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return rpctypes.ErrGRPCDeadlineExceeded
	}
	return status.Error(codes.Unknown, err.Error())
}

func isNotLeaderStatus(err error) bool {
	s, ok := status.FromError(err)
	return ok && s.Code() == codes.FailedPrecondition && s.Message() == "etcdserver: not leader"
}

// decodeResponse parses the response a leader returned for a forwarded
// command of type t.
func decodeResponse(t command.Type, b []byte) (command.Message, error) {
	var m command.Message
	switch t {
	case command.Put:
		m = &pb.PutResponse{}
	case command.DeleteRange:
		m = &pb.DeleteRangeResponse{}
	case command.Txn:
		m = &pb.TxnResponse{}
	case command.Compact:
		m = &pb.CompactionResponse{}
	case command.LeaseGrant:
		m = &pb.LeaseGrantResponse{}
	case command.LeaseRevoke:
		m = &pb.LeaseRevokeResponse{}
	default:
		return nil, nil
	}
	if err := m.Unmarshal(b); err != nil {
		return nil, status.Errorf(codes.Internal, "decode forwarded %v response: %v", t, err)
	}
	return m, nil
}

// Request validation, as etcd's API layer does it before proposing.

func checkRange(r *pb.RangeRequest) error {
	if len(r.Key) == 0 {
		return rpctypes.ErrGRPCEmptyKey
	}
	if _, ok := pb.RangeRequest_SortOrder_name[int32(r.SortOrder)]; !ok {
		return rpctypes.ErrGRPCInvalidSortOption
	}
	if _, ok := pb.RangeRequest_SortTarget_name[int32(r.SortTarget)]; !ok {
		return rpctypes.ErrGRPCInvalidSortOption
	}
	return nil
}

func checkPut(r *pb.PutRequest) error {
	if len(r.Key) == 0 {
		return rpctypes.ErrGRPCEmptyKey
	}
	if r.IgnoreValue && len(r.Value) != 0 {
		return rpctypes.ErrGRPCValueProvided
	}
	if r.IgnoreLease && r.Lease != 0 {
		return rpctypes.ErrGRPCLeaseProvided
	}
	return nil
}

func checkDelete(r *pb.DeleteRangeRequest) error {
	if len(r.Key) == 0 {
		return rpctypes.ErrGRPCEmptyKey
	}
	return nil
}

// checkTxn validates a txn as etcd does: the shape of every op first
// (nested txns get what is left of the op budget), then the intervals of
// both branches.
func checkTxn(r *pb.TxnRequest, maxOps int) error {
	if err := checkTxnOps(r, maxOps); err != nil {
		return err
	}
	if _, _, err := checkIntervals(r.Success); err != nil {
		return err
	}
	_, _, err := checkIntervals(r.Failure)
	return err
}

func checkTxnOps(r *pb.TxnRequest, maxOps int) error {
	opc := max(len(r.Compare), len(r.Success), len(r.Failure))
	if opc > maxOps {
		return rpctypes.ErrGRPCTooManyOps
	}
	for _, c := range r.Compare {
		if len(c.Key) == 0 {
			return rpctypes.ErrGRPCEmptyKey
		}
	}
	for _, ops := range [][]*pb.RequestOp{r.Success, r.Failure} {
		for _, op := range ops {
			if err := checkOp(op, maxOps-opc); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkOp(op *pb.RequestOp, maxOps int) error {
	switch req := op.Request.(type) {
	case *pb.RequestOp_RequestRange:
		return checkRange(req.RequestRange)
	case *pb.RequestOp_RequestPut:
		return checkPut(req.RequestPut)
	case *pb.RequestOp_RequestDeleteRange:
		return checkDelete(req.RequestDeleteRange)
	case *pb.RequestOp_RequestTxn:
		return checkTxnOps(req.RequestTxn, maxOps)
	}
	return rpctypes.ErrGRPCKeyNotFound // an empty op, as etcd answers it
}

type interval struct{ key, end []byte }

// hits reports whether a put of k overlaps a delete. As in etcd's interval
// tree, a from-key delete (range_end "\x00") is an empty interval there.
func hits(dels []interval, k []byte) bool {
	for _, d := range dels {
		if len(d.end) == 1 && d.end[0] == 0 {
			continue
		}
		if len(d.end) == 0 {
			if string(d.key) == string(k) {
				return true
			}
		} else if mvccInRange(k, d.key, d.end) {
			return true
		}
	}
	return false
}

func mvccInRange(k, key, end []byte) bool {
	return string(k) >= string(key) && string(k) < string(end)
}

// checkIntervals rejects a txn branch that writes a key twice, or puts a
// key it also deletes; etcd's rule, including nested txns (whose two
// branches exclude each other).
func checkIntervals(ops []*pb.RequestOp) (map[string]struct{}, []interval, error) {
	var dels []interval
	for _, op := range ops {
		if d, ok := op.Request.(*pb.RequestOp_RequestDeleteRange); ok && d.RequestDeleteRange != nil {
			dels = append(dels, interval{d.RequestDeleteRange.Key, d.RequestDeleteRange.RangeEnd})
		}
	}
	puts := map[string]struct{}{}
	for _, op := range ops {
		t, ok := op.Request.(*pb.RequestOp_RequestTxn)
		if !ok || t.RequestTxn == nil {
			continue
		}
		putsThen, delsThen, err := checkIntervals(t.RequestTxn.Success)
		if err != nil {
			return nil, nil, err
		}
		putsElse, delsElse, err := checkIntervals(t.RequestTxn.Failure)
		if err != nil {
			return nil, nil, err
		}
		for k := range putsThen {
			if _, dup := puts[k]; dup || hits(dels, []byte(k)) {
				return nil, nil, rpctypes.ErrGRPCDuplicateKey
			}
			puts[k] = struct{}{}
		}
		for k := range putsElse {
			if _, dup := puts[k]; dup {
				if _, fromThen := putsThen[k]; !fromThen {
					return nil, nil, rpctypes.ErrGRPCDuplicateKey
				}
			}
			if hits(dels, []byte(k)) {
				return nil, nil, rpctypes.ErrGRPCDuplicateKey
			}
			puts[k] = struct{}{}
		}
		dels = append(dels, delsThen...)
		dels = append(dels, delsElse...)
	}
	for _, op := range ops {
		p, ok := op.Request.(*pb.RequestOp_RequestPut)
		if !ok || p.RequestPut == nil {
			continue
		}
		k := string(p.RequestPut.Key)
		if _, dup := puts[k]; dup || hits(dels, p.RequestPut.Key) {
			return nil, nil, rpctypes.ErrGRPCDuplicateKey
		}
		puts[k] = struct{}{}
	}
	return puts, dels, nil
}
