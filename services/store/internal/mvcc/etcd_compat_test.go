package mvcc

import (
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// Behaviours where etcd v3.6 (server/etcdserver/txn) is the reference.

// TestNestedTxnComparesSeeStateBeforeTxn: etcd evaluates the compares of a
// txn and of every nested txn on its taken path up front, against the
// state before the txn writes anything (compareToPath), and only then
// executes the ops. A nested compare therefore does not see the writes the
// enclosing txn made before it.
func TestNestedTxnComparesSeeStateBeforeTxn(t *testing.T) {
	s := openStore(t)
	mustPut(t, s, "other", "")
	resp := mustTxn(t, s, &pb.TxnRequest{Success: ops(
		putOp("k", "v"),
		txnOp(&pb.TxnRequest{
			Compare: []*pb.Compare{cmpVersion("k", pb.Compare_GREATER, 0)},
			Success: ops(putOp("then", "")),
			Failure: ops(putOp("else", "")),
		}),
	)})
	nested := resp.Responses[1].GetResponseTxn()
	if nested.GetSucceeded() {
		t.Errorf("nested compare saw the enclosing txn's put of k; etcd evaluates it before the txn runs")
	}
	if got := keysOf(mustRange(t, s, allKeys()).Kvs); got != "else,k,other" {
		t.Errorf("keys %q, want else,k,other (as etcd)", got)
	}
}

// TestNestedTxnChecksOnlyTakenBranch: etcd validates (lease exists,
// ignore_value/ignore_lease key exists, range revision) only the ops on the
// path the compares select (checkTxn walks txnPath). An invalid op in a
// nested branch that is not taken must not fail the txn.
func TestNestedTxnChecksOnlyTakenBranch(t *testing.T) {
	untaken := map[string]*pb.RequestOp{
		"unknown lease":           putReqOp(&pb.PutRequest{Key: []byte("x"), Lease: 99}),
		"ignore_value on missing": putReqOp(&pb.PutRequest{Key: []byte("missing"), IgnoreValue: true}),
		"future range revision":   rangeOp(&pb.RangeRequest{Key: []byte("x"), Revision: 1000}),
	}
	for name, bad := range untaken {
		t.Run(name, func(t *testing.T) {
			s := openStore(t)
			mustPut(t, s, "a", "1")
			resp, err := doTxn(t, s, &pb.TxnRequest{Success: ops(
				putOp("outer", ""),
				txnOp(&pb.TxnRequest{
					Compare: []*pb.Compare{cmpValue("a", pb.Compare_EQUAL, "1")},
					Success: ops(putOp("then", "")),
					Failure: ops(bad),
				}),
			)})
			if err != nil {
				t.Fatalf("txn failed on an op in a branch it does not take: %v", err)
			}
			if !resp.Responses[1].GetResponseTxn().GetSucceeded() {
				t.Fatal("nested compare failed")
			}
			if got := keysOf(mustRange(t, s, allKeys()).Kvs); got != "a,outer,then" {
				t.Fatalf("keys %q", got)
			}
		})
	}
}

// TestRangeSortWithoutOrderAppliesLimitFirst: etcd resets the fetch limit
// only when the request's sort_order is not NONE (or a revision filter is
// set). A sort_target other than KEY with sort_order NONE is sorted
// ascending, but only among the first limit+1 keys in key order.
func TestRangeSortWithoutOrderAppliesLimitFirst(t *testing.T) {
	s := rangeFixture(t) // a="9" b="5" c="3" d="1"
	resp := mustRange(t, s, &pb.RangeRequest{Key: []byte("a"), RangeEnd: []byte("e"), SortTarget: pb.RangeRequest_VALUE, Limit: 2})
	// etcd fetches a, b, c, sorts them by value (c, b, a) and keeps two.
	if got := keysOf(resp.Kvs); got != "c,b" || !resp.More || resp.Count != 4 {
		t.Fatalf("keys %q more %v count %d, want c,b more true count 4 (as etcd)", got, resp.More, resp.Count)
	}
}

// TestHashKVFutureRevision: etcd's HashKV of a revision above the current
// one fails with ErrFutureRev rather than hashing the current revision.
func TestHashKVFutureRevision(t *testing.T) {
	s := openStore(t)
	mustPut(t, s, "a", "1")
	if _, _, _, err := s.HashKV(3); err != ErrFutureRev {
		t.Fatalf("HashKV(3) at revision 2: %v, want ErrFutureRev", err)
	}
}

// TestCompareUnknownEnums: etcd's compareKV treats an unknown target as
// equal (result 0) and an unknown result as true; neither is rejected by
// etcd's request validation.
func TestCompareUnknownEnums(t *testing.T) {
	s := txnFixture(t)
	for name, c := range map[string]*pb.Compare{
		"unknown target": {Key: []byte("a"), Target: pb.Compare_CompareTarget(42), Result: pb.Compare_EQUAL},
		"unknown result": {Key: []byte("a"), Target: pb.Compare_VERSION, Result: pb.Compare_CompareResult(42), TargetUnion: &pb.Compare_Version{Version: 1}},
	} {
		t.Run(name, func(t *testing.T) {
			resp := mustTxn(t, s, &pb.TxnRequest{Compare: []*pb.Compare{c}})
			if !resp.Succeeded {
				t.Fatal("compare false, etcd says true")
			}
		})
	}
}
