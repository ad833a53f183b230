package mvcc

import (
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

func TestLeaseGrant(t *testing.T) {
	s := openStore(t)
	mustPut(t, s, "k", "")
	var resp *pb.LeaseGrantResponse
	var err error
	apply(t, s, func(w *WriteTxn) { resp, err = w.LeaseGrant(1, 30) })
	if err != nil || resp.ID != 1 || resp.TTL != 30 || resp.Header.Revision != 2 {
		t.Fatalf("grant: %v %v", resp, err)
	}
	wantRev(t, s, 2)
	wantErr(t, doGrant(t, s, 1, 99), ErrLeaseExists)
	if ttl, ok := s.LeaseTTL(1); !ok || ttl != 30 {
		t.Fatalf("TTL after a second grant: %d %v, want 30", ttl, ok)
	}
	mustGrant(t, s, -5, 1) // ids are opaque int64s
	if got := s.Leases(); len(got) != 2 || got[1] != 30 || got[-5] != 1 {
		t.Fatalf("leases %v", got)
	}
	// Grant and revoke in one batch.
	apply(t, s, func(w *WriteTxn) {
		if _, err := w.LeaseGrant(9, 1); err != nil {
			t.Error(err)
		}
		if _, err := w.LeaseRevoke(9); err != nil {
			t.Error(err)
		}
	})
	if _, ok := s.LeaseTTL(9); ok {
		t.Fatal("lease 9 survived its revocation")
	}
}

func TestLeaseRevoke(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(t *testing.T, s *Store) // starts with leases 1 and 2, revision 1
		revoke     int64
		wantErr    error
		wantRev    int64
		wantKeys   string
		wantEvents string
		wantLeases int
	}{
		{
			name:    "unknown lease",
			setup:   func(t *testing.T, s *Store) { mustPutLease(t, s, "a", "", 1) },
			revoke:  99,
			wantErr: ErrLeaseNotFound, wantRev: 2, wantKeys: "a", wantLeases: 2,
		},
		{
			name:    "lease without keys takes no revision",
			setup:   func(t *testing.T, s *Store) { mustPutLease(t, s, "a", "", 1) },
			revoke:  2,
			wantRev: 2, wantKeys: "a", wantLeases: 1,
		},
		{
			name: "attached keys go in one revision, in key order",
			setup: func(t *testing.T, s *Store) {
				mustPutLease(t, s, "c", "", 1)
				mustPutLease(t, s, "a", "", 1)
				mustPutLease(t, s, "b", "", 2)
				mustPutLease(t, s, "d", "", 1)
			},
			revoke:  1,
			wantRev: 6, wantKeys: "b", wantLeases: 1,
			wantEvents: `DELETE a@6(prev ""@3), DELETE c@6(prev ""@2), DELETE d@6(prev ""@5)`,
		},
		{
			name: "keys moved off the lease stay",
			setup: func(t *testing.T, s *Store) {
				mustPutLease(t, s, "a", "", 1)
				mustPutLease(t, s, "b", "", 1)
				mustPut(t, s, "a", "kept")
				mustPutLease(t, s, "b", "", 2)
			},
			revoke:  1,
			wantRev: 5, wantKeys: "a,b", wantLeases: 1,
		},
		{
			name: "deleted keys are not deleted again",
			setup: func(t *testing.T, s *Store) {
				mustPutLease(t, s, "a", "", 1)
				mustPutLease(t, s, "b", "", 1)
				mustDelete(t, s, "a")
			},
			revoke:  1,
			wantRev: 5, wantKeys: "", wantLeases: 1,
			wantEvents: `DELETE b@5(prev ""@3)`,
		},
		{
			name: "keys attached in a txn",
			setup: func(t *testing.T, s *Store) {
				mustTxn(t, s, &pb.TxnRequest{Success: ops(
					putReqOp(&pb.PutRequest{Key: []byte("x"), Lease: 2}),
					putReqOp(&pb.PutRequest{Key: []byte("y"), Lease: 2}))})
			},
			revoke:  2,
			wantRev: 3, wantKeys: "", wantLeases: 1,
			wantEvents: `DELETE x@3(prev ""@2), DELETE y@3(prev ""@2)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			mustGrant(t, s, 1, 10)
			mustGrant(t, s, 2, 10)
			tt.setup(t, s)
			before := s.Rev()
			resp, err := doRevoke(t, s, tt.revoke)
			wantErr(t, err, tt.wantErr)
			wantRev(t, s, tt.wantRev)
			if err == nil && resp.Header.Revision != tt.wantRev {
				t.Errorf("header revision %d, want %d", resp.Header.Revision, tt.wantRev)
			}
			if got := keysOf(mustRange(t, s, allKeys()).Kvs); got != tt.wantKeys {
				t.Errorf("keys %q, want %q", got, tt.wantKeys)
			}
			if got := len(s.Leases()); got != tt.wantLeases {
				t.Errorf("%d leases, want %d", got, tt.wantLeases)
			}
			evs, _, err := s.Events(before+1, EventFilter{Key: []byte{0}, End: []byte{0}, PrevKV: true}, 100)
			if err != nil {
				t.Fatal(err)
			}
			if got := eventsString(evs); got != tt.wantEvents {
				t.Errorf("events %s, want %s", got, tt.wantEvents)
			}
			if tt.wantErr == nil {
				if _, _, err := s.Lease(tt.revoke); err != ErrLeaseNotFound {
					t.Errorf("Lease after revoke: %v", err)
				}
				_, err := doPut(t, s, &pb.PutRequest{Key: []byte("new"), Lease: tt.revoke})
				wantErr(t, err, ErrLeaseNotFound)
				_, err = doRevoke(t, s, tt.revoke)
				wantErr(t, err, ErrLeaseNotFound)
			}
		})
	}
}
