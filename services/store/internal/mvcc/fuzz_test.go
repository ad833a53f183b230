package mvcc

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

var domainErrors = []error{ErrCompacted, ErrFutureRev, ErrLeaseNotFound, ErrLeaseExists, ErrKeyNotFound}

func isDomainError(err error) bool {
	for _, d := range domainErrors {
		if errors.Is(err, d) {
			return true
		}
	}
	return false
}

func fuzzSeeds() []*pb.TxnRequest {
	return []*pb.TxnRequest{
		{},
		{Success: ops(putOp("a", "1"))},
		{Compare: []*pb.Compare{cmpValue("a", pb.Compare_EQUAL, "v")}, Success: ops(putOp("x", "")), Failure: ops(delOp("a", "c"))},
		{Compare: []*pb.Compare{withEnd(cmpVersion("a", pb.Compare_GREATER, 0), "\x00")}, Success: ops(getOp("a"), delOp("\x00", "\x00"), putOp("z", ""))},
		{Success: ops(putReqOp(&pb.PutRequest{Key: []byte("a"), Lease: 99}))},
		{Success: ops(putReqOp(&pb.PutRequest{Key: []byte("a"), Lease: 1, PrevKv: true}), putReqOp(&pb.PutRequest{Key: []byte("b"), IgnoreValue: true, IgnoreLease: true}))},
		{Success: ops(putReqOp(&pb.PutRequest{Key: []byte("nope"), IgnoreValue: true}))},
		{Success: ops(rangeOp(&pb.RangeRequest{Key: []byte("a"), RangeEnd: []byte("z"), Revision: 3, Limit: 1, SortTarget: pb.RangeRequest_VALUE, SortOrder: pb.RangeRequest_DESCEND}))},
		{Success: ops(rangeOp(&pb.RangeRequest{Key: []byte("a"), Revision: 1 << 40}))},
		{Success: ops(putOp("n", ""), txnOp(&pb.TxnRequest{
			Compare: []*pb.Compare{cmpMod("n", pb.Compare_LESS, 6), cmpLease("a", pb.Compare_NOT_EQUAL, 0)},
			Success: ops(putOp("t", ""), txnOp(&pb.TxnRequest{Failure: ops(delOp("a", ""))})),
			Failure: ops(putOp("f", ""), getOp("n")),
		}))},
		{Success: ops(delOp("a", ""), delOp("a", ""), putOp("a", "again"), getOp("a"))},
		{Success: ops(&pb.RequestOp{})},
	}
}

// FuzzApplyTxn runs arbitrary txns through Apply on a small store and
// checks that a txn either fails with a domain error and changes nothing,
// or succeeds and takes at most one revision whose writes are all numbered
// with it.
func FuzzApplyTxn(f *testing.F) {
	for _, r := range fuzzSeeds() {
		b, err := r.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}

	// One store per fuzz worker process; state carries over between inputs.
	s, err := Open(filepath.Join(f.TempDir(), "state.db"), true, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	var mu sync.Mutex // inputs may run in parallel in the seed phase
	index := uint64(0)
	mustApply := func(fn func(w *WriteTxn)) {
		index++
		if err := s.Apply(index, fn); err != nil {
			f.Fatal(err)
		}
	}
	mustApply(func(w *WriteTxn) {
		_, _ = w.LeaseGrant(1, 10)
		_, _ = w.LeaseGrant(2, 10)
		for _, kv := range [][2]string{{"a", "v"}, {"b", "w"}, {"c", ""}, {"a", "v2"}} {
			_, _ = w.Put(&pb.PutRequest{Key: []byte(kv[0]), Value: []byte(kv[1]), Lease: 1})
		}
		_, _ = w.Put(&pb.PutRequest{Key: []byte("n"), Value: []byte("plain")})
		_, _ = w.DeleteRange(&pb.DeleteRangeRequest{Key: []byte("c")})
		_, _ = w.Compact(3)
	})

	f.Fuzz(func(t *testing.T, data []byte) {
		req := &pb.TxnRequest{}
		if err := req.Unmarshal(data); err != nil {
			t.Skip()
		}
		mu.Lock()
		defer mu.Unlock()
		before := s.Rev()
		keysBefore := s.KeyCount()
		var resp *pb.TxnResponse
		var terr error
		index++
		if err := s.Apply(index, func(w *WriteTxn) { resp, terr = w.Txn(req) }); err != nil {
			t.Fatalf("Apply failed (storage error): %v", err)
		}
		after := s.Rev()
		if terr != nil {
			if !isDomainError(terr) {
				t.Fatalf("txn failed with a non-domain error: %v", terr)
			}
			if after != before || s.KeyCount() != keysBefore {
				t.Fatalf("failed txn changed the store: revision %d -> %d, keys %d -> %d", before, after, keysBefore, s.KeyCount())
			}
			return
		}
		if after != before && after != before+1 {
			t.Fatalf("txn moved the revision from %d to %d", before, after)
		}
		if resp == nil || resp.Header == nil || resp.Header.Revision != after {
			t.Fatalf("response header %v, store revision %d", resp.GetHeader(), after)
		}
		// From the empty key: the mvcc layer accepts an empty key (the API
		// layer rejects it), and "\x00" would skip it.
		all, err := s.Range(&pb.RangeRequest{Key: []byte{}, RangeEnd: []byte{0}})
		if err != nil {
			t.Fatal(err)
		}
		if int(all.Count) != s.KeyCount() || len(all.Kvs) != s.KeyCount() {
			t.Fatalf("range count %d, %d kvs, KeyCount %d", all.Count, len(all.Kvs), s.KeyCount())
		}
		for _, kv := range all.Kvs {
			if kv.Version < 1 || kv.CreateRevision < 1 || kv.ModRevision < kv.CreateRevision || kv.ModRevision > after {
				t.Fatalf("bad metadata %s", kvString(kv))
			}
			if kv.Lease != 0 {
				if _, keys, err := s.Lease(kv.Lease); err != nil || !containsKey(keys, kv.Key) {
					t.Fatalf("%s not attached to its lease (%v)", kvString(kv), err)
				}
			}
		}
		if after == before+1 {
			evs, next, err := s.Events(after, EventFilter{Key: []byte{}, End: []byte{0}}, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 || next != after+1 {
				t.Fatalf("revision %d has %d events, next %d", after, len(evs), next)
			}
			for _, ev := range evs {
				if ev.Kv.ModRevision != after {
					t.Fatalf("event %s at revision %d", eventString(ev), after)
				}
				if ev.Type == mvccpb.PUT && (ev.Kv.Version < 1 || ev.Kv.CreateRevision > after) {
					t.Fatalf("bad put event %s", kvString(ev.Kv))
				}
			}
		}
	})
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, x := range keys {
		if string(x) == string(k) {
			return true
		}
	}
	return false
}
