package mvcc

import (
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// txnFixture: lease 5; a="v" (create 2, mod 3, version 2, lease 5);
// b="w" (create 4, mod 4, version 1); c="v" (create 5, mod 5, version 1).
func txnFixture(t *testing.T) *Store {
	t.Helper()
	s := openStore(t)
	mustGrant(t, s, 5, 10)
	mustPut(t, s, "a", "u")
	mustPutLease(t, s, "a", "v", 5)
	mustPut(t, s, "b", "w")
	mustPut(t, s, "c", "v")
	wantRev(t, s, 5)
	return s
}

func TestTxnCompare(t *testing.T) {
	const (
		eq = pb.Compare_EQUAL
		ne = pb.Compare_NOT_EQUAL
		gt = pb.Compare_GREATER
		lt = pb.Compare_LESS
	)
	tests := []struct {
		name string
		cmps []*pb.Compare
		want bool
	}{
		{"no compares", nil, true},

		{"version equal", []*pb.Compare{cmpVersion("a", eq, 2)}, true},
		{"version equal, wrong", []*pb.Compare{cmpVersion("a", eq, 1)}, false},
		{"version not equal", []*pb.Compare{cmpVersion("a", ne, 1)}, true},
		{"version not equal, wrong", []*pb.Compare{cmpVersion("a", ne, 2)}, false},
		{"version greater", []*pb.Compare{cmpVersion("a", gt, 1)}, true},
		{"version greater, equal", []*pb.Compare{cmpVersion("a", gt, 2)}, false},
		{"version less", []*pb.Compare{cmpVersion("a", lt, 3)}, true},
		{"version less, equal", []*pb.Compare{cmpVersion("a", lt, 2)}, false},

		{"create equal", []*pb.Compare{cmpCreate("a", eq, 2)}, true},
		{"create not equal", []*pb.Compare{cmpCreate("a", ne, 2)}, false},
		{"create greater", []*pb.Compare{cmpCreate("b", gt, 2)}, true},
		{"create less", []*pb.Compare{cmpCreate("b", lt, 4)}, false},

		{"mod equal", []*pb.Compare{cmpMod("a", eq, 3)}, true},
		{"mod not equal", []*pb.Compare{cmpMod("a", ne, 3)}, false},
		{"mod greater", []*pb.Compare{cmpMod("c", gt, 4)}, true},
		{"mod less", []*pb.Compare{cmpMod("c", lt, 5)}, false},

		{"value equal", []*pb.Compare{cmpValue("a", eq, "v")}, true},
		{"value equal, wrong", []*pb.Compare{cmpValue("a", eq, "u")}, false},
		{"value not equal", []*pb.Compare{cmpValue("a", ne, "u")}, true},
		{"value greater", []*pb.Compare{cmpValue("a", gt, "u")}, true},
		{"value greater, prefix is smaller", []*pb.Compare{cmpValue("a", gt, "vv")}, false},
		{"value less", []*pb.Compare{cmpValue("a", lt, "w")}, true},
		{"value less, equal", []*pb.Compare{cmpValue("a", lt, "v")}, false},
		{"value equal empty, key has a value", []*pb.Compare{cmpValue("a", eq, "")}, false},

		{"lease equal", []*pb.Compare{cmpLease("a", eq, 5)}, true},
		{"lease not equal", []*pb.Compare{cmpLease("a", ne, 5)}, false},
		{"lease greater", []*pb.Compare{cmpLease("a", gt, 4)}, true},
		{"lease less", []*pb.Compare{cmpLease("a", lt, 5)}, false},
		{"no lease is 0", []*pb.Compare{cmpLease("b", eq, 0)}, true},

		{"missing key: version is 0", []*pb.Compare{cmpVersion("zz", eq, 0)}, true},
		{"missing key: version not greater than 0", []*pb.Compare{cmpVersion("zz", gt, 0)}, false},
		{"missing key: create is 0", []*pb.Compare{cmpCreate("zz", eq, 0)}, true},
		{"missing key: mod is 0", []*pb.Compare{cmpMod("zz", eq, 0)}, true},
		{"missing key: mod less than 1", []*pb.Compare{cmpMod("zz", lt, 1)}, true},
		{"missing key: lease is 0", []*pb.Compare{cmpLease("zz", eq, 0)}, true},
		{"missing key: value equal empty is false", []*pb.Compare{cmpValue("zz", eq, "")}, false},
		{"missing key: value not equal is false", []*pb.Compare{cmpValue("zz", ne, "x")}, false},
		{"missing key: value less is false", []*pb.Compare{cmpValue("zz", lt, "x")}, false},

		{"range: every key must match", []*pb.Compare{withEnd(cmpVersion("a", gt, 0), "d")}, true},
		{"range: one key fails", []*pb.Compare{withEnd(cmpValue("a", eq, "v"), "d")}, false},
		{"range: all keys match value", []*pb.Compare{withEnd(cmpValue("a", eq, "v"), "b")}, true},
		{"range: mod less", []*pb.Compare{withEnd(cmpMod("a", lt, 6), "d")}, true},
		{"range: mod less, one fails", []*pb.Compare{withEnd(cmpMod("a", lt, 5), "d")}, false},
		{"range: lease, one fails", []*pb.Compare{withEnd(cmpLease("a", eq, 5), "c")}, false},
		{"range: empty range compares as a missing key", []*pb.Compare{withEnd(cmpVersion("x", eq, 0), "z")}, true},
		{"range: empty range, value is false", []*pb.Compare{withEnd(cmpValue("x", ne, "q"), "z")}, false},
		{"range: from key", []*pb.Compare{withEnd(cmpCreate("b", gt, 3), "\x00")}, true},
		{"range: all keys", []*pb.Compare{withEnd(cmpCreate("\x00", gt, 0), "\x00")}, true},
		{"range: all keys, one fails", []*pb.Compare{withEnd(cmpCreate("\x00", gt, 2), "\x00")}, false},

		{"all compares must hold", []*pb.Compare{cmpVersion("a", eq, 2), cmpValue("b", eq, "w"), cmpLease("a", eq, 5)}, true},
		{"one of several fails", []*pb.Compare{cmpVersion("a", eq, 2), cmpValue("b", eq, "x"), cmpLease("a", eq, 5)}, false},
		{"target union of another type compares as 0", []*pb.Compare{
			{Key: []byte("zz"), Target: pb.Compare_VERSION, Result: eq, TargetUnion: &pb.Compare_ModRevision{ModRevision: 7}}}, true},
	}
	s := txnFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &pb.TxnRequest{Compare: tt.cmps, Success: ops(getOp("a")), Failure: ops(getOp("b"), getOp("c"))}
			resp := mustTxn(t, s, req)
			if resp.Succeeded != tt.want {
				t.Fatalf("succeeded %v, want %v", resp.Succeeded, tt.want)
			}
			wantOps := 2
			if tt.want {
				wantOps = 1
			}
			if len(resp.Responses) != wantOps {
				t.Fatalf("%d responses, want %d", len(resp.Responses), wantOps)
			}
			ro, err := s.ReadTxn(req)
			if err != nil || ro.Succeeded != tt.want {
				t.Fatalf("ReadTxn: succeeded %v err %v, want %v", ro.GetSucceeded(), err, tt.want)
			}
		})
	}
	wantRev(t, s, 5)
}

func TestTxnBranches(t *testing.T) {
	tests := []struct {
		name     string
		req      *pb.TxnRequest
		wantOK   bool
		wantRev  int64 // store revision afterwards (fixture ends at 5)
		wantKeys string
		check    func(t *testing.T, s *Store, resp *pb.TxnResponse)
	}{
		{
			name:    "success branch runs",
			req:     &pb.TxnRequest{Compare: []*pb.Compare{cmpValue("a", pb.Compare_EQUAL, "v")}, Success: ops(putOp("s", "1")), Failure: ops(putOp("f", "1"))},
			wantOK:  true,
			wantRev: 6, wantKeys: "a,b,c,s",
		},
		{
			name:    "failure branch runs",
			req:     &pb.TxnRequest{Compare: []*pb.Compare{cmpValue("a", pb.Compare_EQUAL, "nope")}, Success: ops(putOp("s", "1")), Failure: ops(putOp("f", "1"))},
			wantOK:  false,
			wantRev: 6, wantKeys: "a,b,c,f",
		},
		{
			name:    "empty branch",
			req:     &pb.TxnRequest{Compare: []*pb.Compare{cmpValue("a", pb.Compare_EQUAL, "nope")}, Success: ops(putOp("s", "1"))},
			wantOK:  false,
			wantRev: 5, wantKeys: "a,b,c",
			check: func(t *testing.T, s *Store, resp *pb.TxnResponse) {
				if len(resp.Responses) != 0 || resp.Header.Revision != 5 {
					t.Errorf("response %v", resp)
				}
			},
		},
		{
			name:    "responses match ops",
			req:     &pb.TxnRequest{Success: ops(putReqOp(&pb.PutRequest{Key: []byte("a"), Value: []byte("v2"), PrevKv: true}), getOp("b"), delOp("c", ""), txnOp(&pb.TxnRequest{}))},
			wantOK:  true,
			wantRev: 6, wantKeys: "a,b",
			check: func(t *testing.T, s *Store, resp *pb.TxnResponse) {
				if len(resp.Responses) != 4 {
					t.Fatalf("%d responses", len(resp.Responses))
				}
				if p := resp.Responses[0].GetResponsePut(); p == nil || p.PrevKv == nil || string(p.PrevKv.Value) != "v" || p.Header.GetRevision() != 6 {
					t.Errorf("put response %v", resp.Responses[0])
				}
				if r := resp.Responses[1].GetResponseRange(); r == nil || keysOf(r.Kvs) != "b" || r.Header.GetRevision() != 6 {
					t.Errorf("range response %v", resp.Responses[1])
				}
				if d := resp.Responses[2].GetResponseDeleteRange(); d == nil || d.Deleted != 1 || d.Header.GetRevision() != 6 {
					t.Errorf("delete response %v", resp.Responses[2])
				}
				if n := resp.Responses[3].GetResponseTxn(); n == nil || !n.Succeeded {
					t.Errorf("txn response %v", resp.Responses[3])
				}
				if resp.Header.Revision != 6 {
					t.Errorf("header revision %d", resp.Header.Revision)
				}
			},
		},
		{
			name:    "range sees the txn's earlier writes",
			req:     &pb.TxnRequest{Success: ops(getOp("n"), putOp("n", "1"), getOp("n"), delOp("a", ""), getOp("a"))},
			wantOK:  true,
			wantRev: 6, wantKeys: "b,c,n",
			check: func(t *testing.T, s *Store, resp *pb.TxnResponse) {
				before := resp.Responses[0].GetResponseRange()
				after := resp.Responses[2].GetResponseRange()
				gone := resp.Responses[4].GetResponseRange()
				if len(before.Kvs) != 0 || before.Header.Revision != 5 {
					t.Errorf("range before the put: %v", before)
				}
				if got := kvsString(after.Kvs); got != `[n="1" c6 m6 v1 l0]` || after.Header.Revision != 6 {
					t.Errorf("range after the put: %s header %d", got, after.Header.Revision)
				}
				if len(gone.Kvs) != 0 {
					t.Errorf("range after the delete: %v", gone)
				}
			},
		},
		{
			name:    "range at a past revision inside a txn",
			req:     &pb.TxnRequest{Success: ops(putOp("a", "new"), rangeOp(&pb.RangeRequest{Key: []byte("a"), Revision: 2}))},
			wantOK:  true,
			wantRev: 6, wantKeys: "a,b,c",
			check: func(t *testing.T, s *Store, resp *pb.TxnResponse) {
				r := resp.Responses[1].GetResponseRange()
				if got := kvsString(r.Kvs); got != `[a="u" c2 m2 v1 l0]` {
					t.Errorf("a at 2: %s", got)
				}
			},
		},
		{
			name:    "delete range inside a txn sees the txn's puts",
			req:     &pb.TxnRequest{Success: ops(putOp("x1", ""), putOp("x2", ""), delOp("x", "y"))},
			wantOK:  true,
			wantRev: 6, wantKeys: "a,b,c",
			check: func(t *testing.T, s *Store, resp *pb.TxnResponse) {
				if d := resp.Responses[2].GetResponseDeleteRange(); d.Deleted != 2 {
					t.Errorf("deleted %d, want 2", d.Deleted)
				}
			},
		},
		{
			name:    "second delete of the same key deletes nothing",
			req:     &pb.TxnRequest{Success: ops(delOp("a", ""), delOp("a", ""))},
			wantOK:  true,
			wantRev: 6, wantKeys: "b,c",
			check: func(t *testing.T, s *Store, resp *pb.TxnResponse) {
				if d := resp.Responses[1].GetResponseDeleteRange(); d.Deleted != 0 {
					t.Errorf("second delete deleted %d", d.Deleted)
				}
				if got := records(t, s); len(got) != 5 {
					t.Errorf("records %q", got)
				}
			},
		},
		{
			name: "nested txn",
			req: &pb.TxnRequest{Success: ops(
				putOp("outer", "1"),
				txnOp(&pb.TxnRequest{
					Compare: []*pb.Compare{cmpVersion("a", pb.Compare_EQUAL, 2)},
					Success: ops(putOp("inner-then", "1"), getOp("a")),
					Failure: ops(putOp("inner-else", "1")),
				}),
				txnOp(&pb.TxnRequest{
					Compare: []*pb.Compare{cmpVersion("a", pb.Compare_EQUAL, 99)},
					Success: ops(putOp("x-then", "1")),
					Failure: ops(txnOp(&pb.TxnRequest{Success: ops(putOp("deep", "1"))})),
				}),
			)},
			wantOK:  true,
			wantRev: 6, wantKeys: "a,b,c,deep,inner-then,outer",
			check: func(t *testing.T, s *Store, resp *pb.TxnResponse) {
				n1 := resp.Responses[1].GetResponseTxn()
				n2 := resp.Responses[2].GetResponseTxn()
				if n1 == nil || !n1.Succeeded || len(n1.Responses) != 2 {
					t.Errorf("first nested response %v", n1)
				}
				if n2 == nil || n2.Succeeded || len(n2.Responses) != 1 || n2.Responses[0].GetResponseTxn() == nil {
					t.Errorf("second nested response %v", n2)
				}
				var at6 []string
				for _, r := range records(t, s) {
					if r[0] == '6' {
						at6 = append(at6, r)
					}
				}
				if want := "[6.0 p outer 6.1 p inner-then 6.2 p deep]"; sliceString(at6) != want {
					t.Errorf("records at 6: %s, want %s", sliceString(at6), want)
				}
			},
		},
		{
			name:    "nested txn inside the failure branch",
			req:     &pb.TxnRequest{Compare: []*pb.Compare{cmpVersion("zz", pb.Compare_GREATER, 0)}, Failure: ops(txnOp(&pb.TxnRequest{Success: ops(putOp("n", ""))}))},
			wantOK:  false,
			wantRev: 6, wantKeys: "a,b,c,n",
		},
		{
			name:    "read-only nested txn",
			req:     &pb.TxnRequest{Success: ops(txnOp(&pb.TxnRequest{Success: ops(getOp("a"))}))},
			wantOK:  true,
			wantRev: 5, wantKeys: "a,b,c",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := txnFixture(t)
			resp := mustTxn(t, s, tt.req)
			if resp.Succeeded != tt.wantOK {
				t.Errorf("succeeded %v, want %v", resp.Succeeded, tt.wantOK)
			}
			wantRev(t, s, tt.wantRev)
			if resp.Header.Revision != tt.wantRev {
				t.Errorf("header revision %d, want %d", resp.Header.Revision, tt.wantRev)
			}
			if got := keysOf(mustRange(t, s, allKeys()).Kvs); got != tt.wantKeys {
				t.Errorf("keys %q, want %q", got, tt.wantKeys)
			}
			if tt.check != nil {
				tt.check(t, s, resp)
			}
		})
	}
}

func sliceString(s []string) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}

// TestTxnFailingOpChangesNothing: a txn whose branch cannot run returns an
// error and leaves the store exactly as it was.
func TestTxnFailingOpChangesNothing(t *testing.T) {
	tests := []struct {
		name    string
		req     *pb.TxnRequest
		wantErr error
	}{
		{"unknown lease after a put", &pb.TxnRequest{Success: ops(putOp("n", "1"), delOp("a", ""), putReqOp(&pb.PutRequest{Key: []byte("m"), Lease: 99}))}, ErrLeaseNotFound},
		{"unknown lease in the failure branch", &pb.TxnRequest{
			Compare: []*pb.Compare{cmpValue("a", pb.Compare_EQUAL, "nope")},
			Failure: ops(putOp("n", "1"), putReqOp(&pb.PutRequest{Key: []byte("m"), Lease: 99}))}, ErrLeaseNotFound},
		{"ignore_value on a missing key", &pb.TxnRequest{Success: ops(putOp("n", "1"), putReqOp(&pb.PutRequest{Key: []byte("zz"), IgnoreValue: true}))}, ErrKeyNotFound},
		{"ignore_lease on a missing key", &pb.TxnRequest{Success: ops(putOp("n", "1"), putReqOp(&pb.PutRequest{Key: []byte("zz"), IgnoreLease: true}))}, ErrKeyNotFound},
		{"range at a future revision", &pb.TxnRequest{Success: ops(putOp("n", "1"), rangeOp(&pb.RangeRequest{Key: []byte("a"), Revision: 6}))}, ErrFutureRev},
		{"range at a compacted revision", &pb.TxnRequest{Success: ops(putOp("n", "1"), rangeOp(&pb.RangeRequest{Key: []byte("a"), Revision: 2}))}, ErrCompacted},
		{"unknown lease in a taken nested branch", &pb.TxnRequest{Success: ops(putOp("n", "1"),
			txnOp(&pb.TxnRequest{Success: ops(putReqOp(&pb.PutRequest{Key: []byte("m"), Lease: 99}))}))}, ErrLeaseNotFound},
		{"unknown lease two levels down", &pb.TxnRequest{Success: ops(putOp("n", "1"),
			txnOp(&pb.TxnRequest{Success: ops(txnOp(&pb.TxnRequest{Success: ops(putReqOp(&pb.PutRequest{Key: []byte("m"), Lease: 99}))}))}))}, ErrLeaseNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := txnFixture(t)
			mustCompact(t, s, 3)
			before := records(t, s)
			h0, _, _, _ := s.HashKV(0)
			_, err := doTxn(t, s, tt.req)
			wantErr(t, err, tt.wantErr)
			wantRev(t, s, 5)
			if got := records(t, s); sliceString(got) != sliceString(before) {
				t.Errorf("records changed:\n%q\n%q", before, got)
			}
			if h1, _, _, _ := s.HashKV(0); h1 != h0 {
				t.Errorf("hash changed")
			}
			if got := keysOf(mustRange(t, s, allKeys()).Kvs); got != "a,b,c" {
				t.Errorf("keys %q", got)
			}
			if _, keys, _ := s.Lease(5); len(keys) != 1 || string(keys[0]) != "a" {
				t.Errorf("lease 5 keys %q", keys)
			}
			// The store still works afterwards.
			if r := mustPut(t, s, "after", "1"); r.Header.Revision != 6 {
				t.Errorf("next put got revision %d, want 6", r.Header.Revision)
			}
		})
	}
	t.Run("a failing op in the branch not taken is not an error", func(t *testing.T) {
		s := txnFixture(t)
		resp := mustTxn(t, s, &pb.TxnRequest{
			Compare: []*pb.Compare{cmpValue("a", pb.Compare_EQUAL, "v")},
			Success: ops(putOp("n", "1")),
			Failure: ops(putReqOp(&pb.PutRequest{Key: []byte("m"), Lease: 99}))})
		if !resp.Succeeded {
			t.Fatal("compare failed")
		}
		wantRev(t, s, 6)
	})
}
