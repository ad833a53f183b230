package mvcc

import (
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

func TestCompact(t *testing.T) {
	all := EventFilter{Key: []byte{0}, End: []byte{0}, PrevKV: true}
	tests := []struct {
		name  string
		setup func(t *testing.T, s *Store) // writes; the test compacts at compactAt
		at    int64
		check func(t *testing.T, s *Store)
	}{
		{
			name: "history below is gone",
			setup: func(t *testing.T, s *Store) {
				mustPut(t, s, "k", "1") // 2
				mustPut(t, s, "k", "2") // 3
				mustPut(t, s, "k", "3") // 4
				mustPut(t, s, "x", "1") // 5
			},
			at: 4,
			check: func(t *testing.T, s *Store) {
				if _, err := s.Range(&pb.RangeRequest{Key: []byte("k"), Revision: 3}); err != ErrCompacted {
					t.Errorf("range at 3: %v, want ErrCompacted", err)
				}
				if got := kvString(getAt(t, s, "k", 4)); got != `k="3" c2 m4 v3 l0` {
					t.Errorf("k at 4: %s", got)
				}
				if _, _, err := s.Events(3, all, 100); err != ErrCompacted {
					t.Errorf("events from 3: %v, want ErrCompacted", err)
				}
				if _, _, err := s.Events(2, all, 100); err != ErrCompacted {
					t.Errorf("events from 2: %v, want ErrCompacted", err)
				}
				evs, next, err := s.Events(4, all, 100)
				if err != nil || next != 6 {
					t.Fatalf("events from 4: next %d err %v", next, err)
				}
				// Revision 3 is gone, so the event at 4 has no prev_kv.
				if got := eventsString(evs); got != "PUT k@4, PUT x@5" {
					t.Errorf("events from 4: %s", got)
				}
				if got := records(t, s); strings.Join(got, ";") != "4.0 p k;5.0 p x" {
					t.Errorf("records %q", got)
				}
				if _, _, _, err := s.HashKV(3); err != ErrCompacted {
					t.Errorf("HashKV(3): %v, want ErrCompacted", err)
				}
			},
		},
		{
			name: "latest value of every key survives",
			setup: func(t *testing.T, s *Store) {
				mustPut(t, s, "old", "1") // 2
				mustPut(t, s, "old", "2") // 3
				for i := 0; i < 5; i++ {
					mustPut(t, s, "busy", "x") // 4..8
				}
				mustPut(t, s, "new", "1") // 9
			},
			at: 8,
			check: func(t *testing.T, s *Store) {
				want := `[busy="x" c4 m8 v5 l0 | new="1" c9 m9 v1 l0 | old="2" c2 m3 v2 l0]`
				if got := kvsString(mustRange(t, s, allKeys()).Kvs); got != want {
					t.Errorf("got  %s\nwant %s", got, want)
				}
				if got := kvsString(mustRange(t, s, &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Revision: 8}).Kvs); got != `[busy="x" c4 m8 v5 l0 | old="2" c2 m3 v2 l0]` {
					t.Errorf("at 8: %s", got)
				}
				// Versions go on from where they were.
				mustPut(t, s, "old", "3")
				if got := kvString(get(t, s, "old")); got != `old="3" c2 m10 v3 l0` {
					t.Errorf("old after compaction: %s", got)
				}
			},
		},
		{
			name: "a key deleted at or below the compaction disappears",
			setup: func(t *testing.T, s *Store) {
				mustPut(t, s, "gone", "1")  // 2
				mustPut(t, s, "gone", "2")  // 3
				mustDelete(t, s, "gone")    // 4
				mustPut(t, s, "gone2", "1") // 5
				mustDelete(t, s, "gone2")   // 6
				mustPut(t, s, "stay", "1")  // 7
			},
			at: 6,
			check: func(t *testing.T, s *Store) {
				if got := strings.Join(records(t, s), ";"); got != "7.0 p stay" {
					t.Errorf("records %q", got)
				}
				if got := keysOf(mustRange(t, s, &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Revision: 6}).Kvs); got != "" {
					t.Errorf("keys at 6: %q", got)
				}
				if s.idx.get([]byte("gone")) != nil || s.idx.get([]byte("gone2")) != nil {
					t.Error("deleted keys still in the index")
				}
				// Re-creating starts a new life.
				mustPut(t, s, "gone", "again")
				if got := kvString(get(t, s, "gone")); got != `gone="again" c8 m8 v1 l0` {
					t.Errorf("re-created: %s", got)
				}
				evs, _, err := s.Events(6, all, 100)
				if err != nil {
					t.Fatal(err)
				}
				if got := eventsString(evs); got != "PUT stay@7, PUT gone@8" {
					t.Errorf("events from 6: %s", got)
				}
			},
		},
		{
			name: "a deletion above the compaction keeps the value below it",
			setup: func(t *testing.T, s *Store) {
				mustPut(t, s, "k", "1")  // 2
				mustPut(t, s, "x", "1")  // 3
				mustDelete(t, s, "k")    // 4
				mustPut(t, s, "k", "2")  // 5
				mustPut(t, s, "x", "2")  // 6
				mustPut(t, s, "k", "3")  // 7
				mustPut(t, s, "z", "1")  // 8
				mustDelete(t, s, "z")    // 9
				mustPut(t, s, "zz", "1") // 10
			},
			at: 3,
			check: func(t *testing.T, s *Store) {
				if got := kvString(getAt(t, s, "k", 3)); got != `k="1" c2 m2 v1 l0` {
					t.Errorf("k at 3: %s", got)
				}
				if got := getAt(t, s, "k", 4); got != nil {
					t.Errorf("k at 4: %s", kvString(got))
				}
				if got := kvString(getAt(t, s, "k", 6)); got != `k="2" c5 m5 v1 l0` {
					t.Errorf("k at 6: %s", got)
				}
				evs, _, err := s.Events(4, EventFilter{Key: []byte("k"), PrevKV: true}, 100)
				if err != nil {
					t.Fatal(err)
				}
				if got := eventsString(evs); got != `DELETE k@4(prev "1"@2), PUT k@5, PUT k@7(prev "2"@5)` {
					t.Errorf("events of k from 4: %s", got)
				}
			},
		},
		{
			name: "compact at the current revision",
			setup: func(t *testing.T, s *Store) {
				mustPut(t, s, "k", "1")
				mustPut(t, s, "k", "2")
				mustDelete(t, s, "k")
			},
			at: 4,
			check: func(t *testing.T, s *Store) {
				if got := records(t, s); len(got) != 0 {
					t.Errorf("records %q", got)
				}
				if r := mustRange(t, s, allKeys()); len(r.Kvs) != 0 || r.Header.Revision != 4 {
					t.Errorf("range %v", r)
				}
				evs, next, err := s.Events(4, all, 10)
				if err != nil || len(evs) != 0 || next != 5 {
					t.Errorf("events from 4: %v next %d err %v", evs, next, err)
				}
				if r := mustPut(t, s, "k", "3"); r.Header.Revision != 5 {
					t.Errorf("next revision %d", r.Header.Revision)
				}
			},
		},
		{
			name: "compaction keeps leases and their keys",
			setup: func(t *testing.T, s *Store) {
				mustGrant(t, s, 1, 10)
				mustPutLease(t, s, "l", "1", 1)
				mustPutLease(t, s, "l", "2", 1)
				mustPut(t, s, "x", "")
			},
			at: 4,
			check: func(t *testing.T, s *Store) {
				if _, keys, err := s.Lease(1); err != nil || len(keys) != 1 {
					t.Fatalf("lease 1: %q %v", keys, err)
				}
				resp, err := doRevoke(t, s, 1)
				if err != nil || resp.Header.Revision != 5 || get(t, s, "l") != nil {
					t.Errorf("revoke after compaction: %v %v", resp, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			tt.setup(t, s)
			rev := s.Rev()
			var resp *pb.CompactionResponse
			var err error
			apply(t, s, func(w *WriteTxn) { resp, err = w.Compact(tt.at) })
			if err != nil {
				t.Fatalf("compact %d: %v", tt.at, err)
			}
			if resp.Header.Revision != rev {
				t.Errorf("compaction response revision %d, want %d", resp.Header.Revision, rev)
			}
			wantRev(t, s, rev)
			if s.CompactRev() != tt.at {
				t.Errorf("CompactRev %d, want %d", s.CompactRev(), tt.at)
			}
			tt.check(t, s)
		})
	}
}

func TestCompactErrors(t *testing.T) {
	s := openStore(t)
	for i := 0; i < 5; i++ {
		mustPut(t, s, "k", "v")
	}
	steps := []struct {
		name string
		rev  int64
		want error
	}{
		{"nothing to compact at 0", 0, ErrCompacted},
		{"future", 7, ErrFutureRev},
		{"far future", 1 << 40, ErrFutureRev},
		{"valid", 4, nil},
		{"same revision twice", 4, ErrCompacted},
		{"lower revision", 3, ErrCompacted},
		{"negative", -1, ErrCompacted},
		{"higher", 5, nil},
		{"current", 6, nil},
		{"current again", 6, ErrCompacted},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			wantErr(t, doCompact(t, s, st.rev), st.want)
			wantRev(t, s, 6)
		})
	}
	if s.CompactRev() != 6 {
		t.Fatalf("CompactRev %d, want 6", s.CompactRev())
	}
	if got := kvString(get(t, s, "k")); got != `k="v" c2 m6 v5 l0` {
		t.Fatalf("k: %s", got)
	}
}

// TestCompactionInvisibleBeforeCommit: a compaction is not visible to
// readers until it commits. A reader running while the compaction's
// transaction is still open (the raft goroutine applying a batch while a
// gRPC reader ranges) must see either the old history or ErrCompacted,
// never a key that silently vanished.
func TestCompactionInvisibleBeforeCommit(t *testing.T) {
	s := openStore(t)
	mustPut(t, s, "k", "1") // 2
	mustPut(t, s, "k", "2") // 3
	mustPut(t, s, "k", "3") // 4
	mustPut(t, s, "x", "")  // 5
	var resp *pb.RangeResponse
	var rerr error
	apply(t, s, func(w *WriteTxn) {
		if _, err := w.Compact(4); err != nil {
			t.Errorf("compact: %v", err)
			return
		}
		// The compaction is applied but not committed: CompactRev() is
		// still 0, so a read at revision 3 is allowed.
		resp, rerr = s.Range(&pb.RangeRequest{Key: []byte("k"), Revision: 3})
	})
	if rerr == ErrCompacted {
		return
	}
	if rerr != nil {
		t.Fatalf("range at 3 during compaction: %v", rerr)
	}
	if got := kvsString(resp.Kvs); got != `[k="2" c2 m3 v2 l0]` || resp.Count != 1 {
		t.Fatalf("range at 3 during an uncommitted compaction returned %s (count %d), want k=\"2\" or ErrCompacted", got, resp.Count)
	}
}
