package server

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const vMaxOps = DefaultMaxTxnOps

func vPut(key string) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte(key)}}}
}

func vPutReq(r *pb.PutRequest) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: r}}
}

func vDel(key, end string) *pb.RequestOp {
	r := &pb.DeleteRangeRequest{Key: []byte(key)}
	if end != "" {
		r.RangeEnd = []byte(end)
	}
	return &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: r}}
}

func vRange(r *pb.RangeRequest) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: r}}
}

func vGet(key string) *pb.RequestOp { return vRange(&pb.RangeRequest{Key: []byte(key)}) }

func vTxn(then, els []*pb.RequestOp) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{Success: then, Failure: els}}}
}

func vOps(o ...*pb.RequestOp) []*pb.RequestOp { return o }

func vN(n int, mk func(i int) *pb.RequestOp) []*pb.RequestOp {
	out := make([]*pb.RequestOp, n)
	for i := range out {
		out[i] = mk(i)
	}
	return out
}

func vCmp(key string) *pb.Compare {
	return &pb.Compare{Key: []byte(key), Target: pb.Compare_VERSION, Result: pb.Compare_EQUAL}
}

func TestCheckTxn(t *testing.T) {
	tests := []struct {
		name string
		req  *pb.TxnRequest
		want error
	}{
		{"empty", &pb.TxnRequest{}, nil},
		{"simple", &pb.TxnRequest{Compare: []*pb.Compare{vCmp("a")}, Success: vOps(vPut("a"), vGet("a"), vDel("b", "")), Failure: vOps(vGet("a"))}, nil},

		// duplicate keys within one branch
		{"duplicate put", &pb.TxnRequest{Success: vOps(vPut("a"), vPut("a"))}, rpctypes.ErrGRPCDuplicateKey},
		{"duplicate put in failure", &pb.TxnRequest{Failure: vOps(vPut("b"), vPut("a"), vPut("b"))}, rpctypes.ErrGRPCDuplicateKey},
		{"same key in success and failure", &pb.TxnRequest{Success: vOps(vPut("a")), Failure: vOps(vPut("a"))}, nil},
		{"put and delete of the same key", &pb.TxnRequest{Success: vOps(vPut("a"), vDel("a", ""))}, rpctypes.ErrGRPCDuplicateKey},
		{"delete then put of the same key", &pb.TxnRequest{Success: vOps(vDel("a", ""), vPut("a"))}, rpctypes.ErrGRPCDuplicateKey},
		{"put inside a delete range", &pb.TxnRequest{Success: vOps(vDel("a", "c"), vPut("b"))}, rpctypes.ErrGRPCDuplicateKey},
		{"put at a delete range's start", &pb.TxnRequest{Success: vOps(vPut("a"), vDel("a", "c"))}, rpctypes.ErrGRPCDuplicateKey},
		{"put at a delete range's end is outside", &pb.TxnRequest{Success: vOps(vDel("a", "c"), vPut("c"))}, nil},
		{"put before a delete range", &pb.TxnRequest{Success: vOps(vDel("b", "c"), vPut("a"))}, nil},
		{"delete range in the other branch", &pb.TxnRequest{Success: vOps(vDel("a", "c")), Failure: vOps(vPut("b"))}, nil},
		{"two deletes of the same key", &pb.TxnRequest{Success: vOps(vDel("a", ""), vDel("a", ""), vDel("a", "z"))}, nil},
		{"range and put of the same key", &pb.TxnRequest{Success: vOps(vGet("a"), vPut("a"), vGet("a"))}, nil},
		{"point delete is not a prefix", &pb.TxnRequest{Success: vOps(vDel("a", ""), vPut("ab"))}, nil},

		// nested txns
		{"same key in then and else of a nested txn", &pb.TxnRequest{Success: vOps(vTxn(vOps(vPut("a")), vOps(vPut("a"))))}, nil},
		{"nested then duplicates outer put", &pb.TxnRequest{Success: vOps(vPut("a"), vTxn(vOps(vPut("a")), nil))}, rpctypes.ErrGRPCDuplicateKey},
		{"nested else duplicates outer put", &pb.TxnRequest{Success: vOps(vTxn(nil, vOps(vPut("a"))), vPut("a"))}, rpctypes.ErrGRPCDuplicateKey},
		{"two nested txns put the same key", &pb.TxnRequest{Success: vOps(vTxn(vOps(vPut("a")), nil), vTxn(vOps(vPut("a")), nil))}, rpctypes.ErrGRPCDuplicateKey},
		{"two nested txns: then and else", &pb.TxnRequest{Success: vOps(vTxn(vOps(vPut("a")), nil), vTxn(nil, vOps(vPut("a"))))}, rpctypes.ErrGRPCDuplicateKey},
		{"nested put inside an outer delete range", &pb.TxnRequest{Success: vOps(vDel("a", "c"), vTxn(vOps(vPut("b")), nil))}, rpctypes.ErrGRPCDuplicateKey},
		{"nested else put inside an outer delete", &pb.TxnRequest{Success: vOps(vDel("b", ""), vTxn(nil, vOps(vPut("b"))))}, rpctypes.ErrGRPCDuplicateKey},
		{"outer put inside a nested delete range", &pb.TxnRequest{Success: vOps(vTxn(vOps(vDel("a", "c")), nil), vPut("b"))}, rpctypes.ErrGRPCDuplicateKey},
		{"outer put inside a nested else delete", &pb.TxnRequest{Success: vOps(vTxn(nil, vOps(vDel("b", ""))), vPut("b"))}, rpctypes.ErrGRPCDuplicateKey},
		{"nested put and delete in separate branches", &pb.TxnRequest{Success: vOps(vTxn(vOps(vDel("a", "c")), vOps(vPut("b"))))}, nil},
		{"nested txn duplicates within itself", &pb.TxnRequest{Success: vOps(vTxn(vOps(vPut("a"), vPut("a")), nil))}, rpctypes.ErrGRPCDuplicateKey},
		{"nested txn put inside its own delete", &pb.TxnRequest{Failure: vOps(vTxn(nil, vOps(vDel("a", "z"), vPut("q"))))}, rpctypes.ErrGRPCDuplicateKey},
		{"two levels down duplicates outer", &pb.TxnRequest{Success: vOps(vPut("a"), vTxn(vOps(vTxn(nil, vOps(vPut("a")))), nil))}, rpctypes.ErrGRPCDuplicateKey},
		{"two levels down, disjoint", &pb.TxnRequest{Success: vOps(vPut("a"), vTxn(vOps(vTxn(nil, vOps(vPut("b")))), vOps(vPut("b"))))}, nil},
		{"nested in failure duplicates failure put", &pb.TxnRequest{Success: vOps(vPut("a")), Failure: vOps(vPut("a"), vTxn(vOps(vPut("a")), nil))}, rpctypes.ErrGRPCDuplicateKey},

		// op counts
		{"128 compares", &pb.TxnRequest{Compare: func() []*pb.Compare {
			c := make([]*pb.Compare, vMaxOps)
			for i := range c {
				c[i] = vCmp("k")
			}
			return c
		}()}, nil},
		{"129 compares", &pb.TxnRequest{Compare: func() []*pb.Compare {
			c := make([]*pb.Compare, vMaxOps+1)
			for i := range c {
				c[i] = vCmp("k")
			}
			return c
		}()}, rpctypes.ErrGRPCTooManyOps},
		{"128 success ops", &pb.TxnRequest{Success: vN(vMaxOps, func(i int) *pb.RequestOp { return vPut(fmt.Sprint(i)) })}, nil},
		{"129 success ops", &pb.TxnRequest{Success: vN(vMaxOps+1, func(i int) *pb.RequestOp { return vPut(fmt.Sprint(i)) })}, rpctypes.ErrGRPCTooManyOps},
		{"129 failure ops", &pb.TxnRequest{Failure: vN(vMaxOps+1, func(i int) *pb.RequestOp { return vGet("k") })}, rpctypes.ErrGRPCTooManyOps},
		{"128 in each branch", &pb.TxnRequest{
			Success: vN(vMaxOps, func(i int) *pb.RequestOp { return vPut(fmt.Sprint(i)) }),
			Failure: vN(vMaxOps, func(i int) *pb.RequestOp { return vPut(fmt.Sprint(i)) })}, nil},
		{"too many ops in a nested txn", &pb.TxnRequest{Success: vOps(vTxn(vN(vMaxOps+1, func(i int) *pb.RequestOp { return vGet("k") }), nil))}, rpctypes.ErrGRPCTooManyOps},

		// per-op validation
		{"empty key in compare", &pb.TxnRequest{Compare: []*pb.Compare{vCmp("a"), vCmp("")}}, rpctypes.ErrGRPCEmptyKey},
		{"empty key in a nested compare", &pb.TxnRequest{Success: vOps(&pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{Compare: []*pb.Compare{vCmp("")}}}})}, rpctypes.ErrGRPCEmptyKey},
		{"empty key in put", &pb.TxnRequest{Success: vOps(vPut(""))}, rpctypes.ErrGRPCEmptyKey},
		{"empty key in range", &pb.TxnRequest{Failure: vOps(vGet(""))}, rpctypes.ErrGRPCEmptyKey},
		{"empty key in delete", &pb.TxnRequest{Success: vOps(vDel("", "z"))}, rpctypes.ErrGRPCEmptyKey},
		{"empty key in a nested put", &pb.TxnRequest{Success: vOps(vTxn(nil, vOps(vPut(""))))}, rpctypes.ErrGRPCEmptyKey},
		{"range end without key", &pb.TxnRequest{Success: vOps(vRange(&pb.RangeRequest{RangeEnd: []byte{0}}))}, rpctypes.ErrGRPCEmptyKey},
		{"ignore_value with a value", &pb.TxnRequest{Success: vOps(vPutReq(&pb.PutRequest{Key: []byte("a"), Value: []byte("v"), IgnoreValue: true}))}, rpctypes.ErrGRPCValueProvided},
		{"ignore_value without a value", &pb.TxnRequest{Success: vOps(vPutReq(&pb.PutRequest{Key: []byte("a"), IgnoreValue: true, Lease: 3}))}, nil},
		{"ignore_lease with a lease", &pb.TxnRequest{Failure: vOps(vPutReq(&pb.PutRequest{Key: []byte("a"), Lease: 5, IgnoreLease: true}))}, rpctypes.ErrGRPCLeaseProvided},
		{"ignore_lease without a lease", &pb.TxnRequest{Success: vOps(vPutReq(&pb.PutRequest{Key: []byte("a"), Value: []byte("v"), IgnoreLease: true}))}, nil},
		{"ignore_value with a value, nested", &pb.TxnRequest{Success: vOps(vTxn(vOps(vPutReq(&pb.PutRequest{Key: []byte("a"), Value: []byte("v"), IgnoreValue: true})), nil))}, rpctypes.ErrGRPCValueProvided},
		{"invalid sort order", &pb.TxnRequest{Success: vOps(vRange(&pb.RangeRequest{Key: []byte("a"), SortOrder: 7}))}, rpctypes.ErrGRPCInvalidSortOption},
		{"invalid sort target", &pb.TxnRequest{Success: vOps(vRange(&pb.RangeRequest{Key: []byte("a"), SortTarget: 9}))}, rpctypes.ErrGRPCInvalidSortOption},
		{"negative sort order", &pb.TxnRequest{Success: vOps(vRange(&pb.RangeRequest{Key: []byte("a"), SortOrder: -1}))}, rpctypes.ErrGRPCInvalidSortOption},
		{"invalid sort option, nested", &pb.TxnRequest{Failure: vOps(vTxn(nil, vOps(vRange(&pb.RangeRequest{Key: []byte("a"), SortTarget: 5}))))}, rpctypes.ErrGRPCInvalidSortOption},
		{"valid sort options", &pb.TxnRequest{Success: vOps(vRange(&pb.RangeRequest{Key: []byte("a"), SortOrder: pb.RangeRequest_DESCEND, SortTarget: pb.RangeRequest_VALUE}))}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkTxn(tt.req, vMaxOps)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheckIntervals(t *testing.T) {
	tests := []struct {
		name     string
		ops      []*pb.RequestOp
		wantPuts string
		wantDels int
		wantErr  error
	}{
		{"nothing", nil, "", 0, nil},
		{"puts and deletes", vOps(vPut("a"), vPut("b"), vDel("x", ""), vDel("c", "d"), vGet("a")), "a,b", 2, nil},
		{"nested puts and deletes are collected", vOps(vPut("a"), vTxn(vOps(vPut("b"), vDel("y", "")), vOps(vPut("b"), vPut("c"), vDel("z", "")))), "a,b,c", 2, nil},
		{"duplicate", vOps(vPut("a"), vPut("a")), "", 0, rpctypes.ErrGRPCDuplicateKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			puts, dels, err := checkIntervals(tt.ops)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for k := range puts {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if got := strings.Join(keys, ","); got != tt.wantPuts {
				t.Errorf("puts %q, want %q", got, tt.wantPuts)
			}
			if len(dels) != tt.wantDels {
				t.Errorf("%d deletes, want %d", len(dels), tt.wantDels)
			}
		})
	}
}

func TestCheckRequests(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"range ok", checkRange(&pb.RangeRequest{Key: []byte("a"), RangeEnd: []byte{0}}), nil},
		{"range empty key", checkRange(&pb.RangeRequest{RangeEnd: []byte("z")}), rpctypes.ErrGRPCEmptyKey},
		{"range bad order", checkRange(&pb.RangeRequest{Key: []byte("a"), SortOrder: 3}), rpctypes.ErrGRPCInvalidSortOption},
		{"range bad target", checkRange(&pb.RangeRequest{Key: []byte("a"), SortTarget: 5}), rpctypes.ErrGRPCInvalidSortOption},
		{"put ok", checkPut(&pb.PutRequest{Key: []byte("a")}), nil},
		{"put empty key", checkPut(&pb.PutRequest{Value: []byte("v")}), rpctypes.ErrGRPCEmptyKey},
		{"put ignore_value with value", checkPut(&pb.PutRequest{Key: []byte("a"), Value: []byte("v"), IgnoreValue: true}), rpctypes.ErrGRPCValueProvided},
		{"put ignore_lease with lease", checkPut(&pb.PutRequest{Key: []byte("a"), Lease: 1, IgnoreLease: true}), rpctypes.ErrGRPCLeaseProvided},
		{"put ignore both, neither given", checkPut(&pb.PutRequest{Key: []byte("a"), IgnoreLease: true, IgnoreValue: true}), nil},
		{"delete ok", checkDelete(&pb.DeleteRangeRequest{Key: []byte("a")}), nil},
		{"delete empty key", checkDelete(&pb.DeleteRangeRequest{RangeEnd: []byte{0}}), rpctypes.ErrGRPCEmptyKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil && tt.err != nil || tt.want != nil && !errors.Is(tt.err, tt.want) {
				t.Fatalf("error %v, want %v", tt.err, tt.want)
			}
		})
	}
}

// Behaviours where etcd v3.6's v3rpc/key.go is the reference.

// TestCheckIntervalsFromKeyDeleteLikeEtcd: etcd builds the delete interval
// [key, "\x00") for a range_end of "\x00" and compares interval ends as
// plain strings, so a from-key delete never overlaps a put: etcd accepts
// delete(from "a") + put("b") in one branch.
func TestCheckIntervalsFromKeyDeleteLikeEtcd(t *testing.T) {
	for name, req := range map[string]*pb.TxnRequest{
		"from-key delete and put":     {Success: vOps(vDel("a", "\x00"), vPut("b"))},
		"delete everything and put":   {Success: vOps(vDel("\x00", "\x00"), vPut("b"))},
		"nested from-key delete, put": {Success: vOps(vTxn(vOps(vDel("a", "\x00")), nil), vPut("b"))},
	} {
		t.Run(name, func(t *testing.T) {
			if err := checkTxn(req, vMaxOps); err != nil {
				t.Fatalf("rejected with %v; etcd accepts it", err)
			}
		})
	}
}

// TestCheckTxnNestedOpLimitLikeEtcd: etcd checks a nested txn against
// maxTxnOps minus the largest op count of the txn around it.
func TestCheckTxnNestedOpLimitLikeEtcd(t *testing.T) {
	req := &pb.TxnRequest{Success: vOps(vTxn(vN(vMaxOps, func(i int) *pb.RequestOp { return vGet("k") }), nil))}
	if err := checkTxn(req, vMaxOps); !errors.Is(err, rpctypes.ErrGRPCTooManyOps) {
		t.Fatalf("nested txn of %d ops inside a 1-op txn: %v, want ErrGRPCTooManyOps (limit %d-1)", vMaxOps, err, vMaxOps)
	}
	ok := &pb.TxnRequest{Success: vOps(vTxn(vN(vMaxOps-1, func(i int) *pb.RequestOp { return vGet("k") }), nil))}
	if err := checkTxn(ok, vMaxOps); err != nil {
		t.Fatalf("nested txn of %d ops: %v", vMaxOps-1, err)
	}
}

// TestCheckTxnEmptyRequestOpLikeEtcd: etcd rejects a RequestOp with no
// request set with ErrGRPCKeyNotFound.
func TestCheckTxnEmptyRequestOpLikeEtcd(t *testing.T) {
	err := checkTxn(&pb.TxnRequest{Success: vOps(&pb.RequestOp{})}, vMaxOps)
	if !errors.Is(err, rpctypes.ErrGRPCKeyNotFound) {
		t.Fatalf("error %v, want %v", err, rpctypes.ErrGRPCKeyNotFound)
	}
}

// TestCheckTxnValidatesOpsBeforeIntervalsLikeEtcd: etcd validates every op
// of both branches (checkTxnRequest) before looking for duplicate keys
// (checkIntervals), so an invalid op wins over a duplicate.
func TestCheckTxnValidatesOpsBeforeIntervalsLikeEtcd(t *testing.T) {
	err := checkTxn(&pb.TxnRequest{Success: vOps(vPut("a"), vPut("a")), Failure: vOps(vPut(""))}, vMaxOps)
	if !errors.Is(err, rpctypes.ErrGRPCEmptyKey) {
		t.Fatalf("error %v, want %v", err, rpctypes.ErrGRPCEmptyKey)
	}
}

func FuzzCheckTxn(f *testing.F) {
	seeds := []*pb.TxnRequest{
		{},
		{Compare: []*pb.Compare{vCmp("a")}, Success: vOps(vPut("a"), vGet("a")), Failure: vOps(vDel("a", "z"))},
		{Success: vOps(vPut("a"), vPut("a"))},
		{Success: vOps(vDel("a", "c"), vPut("b"))},
		{Success: vOps(vDel("a", "\x00"), vPut("b"))},
		{Success: vOps(vTxn(vOps(vPut("a")), vOps(vPut("a"))), vTxn(vOps(vDel("b", "")), nil))},
		{Success: vOps(vTxn(vOps(vTxn(nil, vOps(vPut("x")))), nil), vPut("x"))},
		{Compare: []*pb.Compare{vCmp("")}},
		{Success: vOps(vPutReq(&pb.PutRequest{Key: []byte("a"), Value: []byte("v"), IgnoreValue: true, Lease: 1, IgnoreLease: true}))},
		{Success: vOps(vRange(&pb.RangeRequest{Key: []byte("a"), SortOrder: 9, SortTarget: -2}))},
		{Success: vOps(&pb.RequestOp{})},
		{Failure: vN(vMaxOps+1, func(i int) *pb.RequestOp { return vGet("k") })},
	}
	for _, r := range seeds {
		b, err := r.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &pb.TxnRequest{}
		if err := r.Unmarshal(data); err != nil {
			t.Skip()
		}
		err := checkTxn(r, vMaxOps)
		if err == nil {
			return
		}
		if s, ok := status.FromError(err); !ok || s.Code() != codes.InvalidArgument && s.Code() != codes.NotFound {
			t.Fatalf("checkTxn returned %v, not an etcd gRPC error", err)
		}
		if err2 := checkTxn(r, vMaxOps); err2 == nil || err2.Error() != err.Error() {
			t.Fatalf("checkTxn not deterministic: %v then %v", err, err2)
		}
	})
}
