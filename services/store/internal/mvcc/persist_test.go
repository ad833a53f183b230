package mvcc

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// buildState writes a bit of everything: history, deletions, a compaction,
// leases with keys, members.
func buildState(t *testing.T, s *Store) {
	t.Helper()
	mustGrant(t, s, 1, 10)
	mustGrant(t, s, 2, 20)
	mustGrant(t, s, 3, 30)
	mustPut(t, s, "a", "1")                                                         // 2
	mustPutLease(t, s, "a", "2", 1)                                                 // 3
	mustPutLease(t, s, "b", "1", 1)                                                 // 4
	mustPut(t, s, "c", "1")                                                         // 5
	mustDelete(t, s, "c")                                                           // 6
	mustPutLease(t, s, "d", "1", 2)                                                 // 7
	mustPut(t, s, "gone", "1")                                                      // 8
	mustDelete(t, s, "gone")                                                        // 9
	mustCompact(t, s, 6)                                                            //
	mustPut(t, s, "c", "again")                                                     // 10
	mustPutLease(t, s, "d", "2", 1)                                                 // 11: moved to lease 1
	mustTxn(t, s, &pb.TxnRequest{Success: ops(putOp("t1", "x"), putOp("t2", "y"))}) // 12
	apply(t, s, func(w *WriteTxn) {
		w.SetMember(&pb.Member{ID: 7, Name: "m7", PeerURLs: []string{"http://p"}, ClientURLs: []string{"http://c"}})
		w.SetMember(&pb.Member{ID: 8, Name: "m8"})
	})
	apply(t, s, func(w *WriteTxn) { w.DeleteMember(8) })
}

// stateOf renders everything observable about a store.
func stateOf(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("rev %d compact %d applied %d keys %d\n", s.Rev(), s.CompactRev(), s.AppliedIndex(), s.KeyCount())
	for rev := s.CompactRev(); rev <= s.Rev(); rev++ {
		w("@%d %s\n", rev, kvsString(mustRange(t, s, &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Revision: rev}).Kvs))
	}
	evs, next, err := s.Events(s.CompactRev(), EventFilter{Key: []byte{0}, End: []byte{0}, PrevKV: true}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	w("events %s next %d\n", eventsString(evs), next)
	leases := s.Leases()
	for id := int64(-10); id < 10; id++ {
		if ttl, ok := leases[id]; ok {
			_, keys, _ := s.Lease(id)
			w("lease %d ttl %d keys %q\n", id, ttl, keys)
		}
	}
	h, hrev, hc, err := s.HashKV(0)
	w("hash %d %d %d %v\n", h, hrev, hc, err)
	ms, err := s.Members()
	if err != nil {
		t.Fatal(err)
	}
	for id := uint64(0); id < 10; id++ {
		if m, ok := ms[id]; ok {
			w("member %d %s\n", id, m.String())
		}
	}
	w("records %q\n", records(t, s))
	return b.String()
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path, true, Options{})
	if err != nil {
		t.Fatal(err)
	}
	buildState(t, s)
	want := stateOf(t, s)
	if !strings.Contains(want, `lease 1 ttl 10 keys ["a" "b" "d"]`) || !strings.Contains(want, `lease 2 ttl 20 keys []`) {
		t.Fatalf("unexpected state before reopen:\n%s", want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s2 := openStoreAt(t, path, false)
	if got := stateOf(t, s2); got != want {
		t.Fatalf("state after reopen:\n%s\nwant:\n%s", got, want)
	}

	t.Run("the rebuilt index keeps working", func(t *testing.T) {
		if got := kvString(mustPut(t, s2, "a", "3").PrevKv); got != "<nil>" {
			t.Fatal(got)
		}
		if got := kvString(get(t, s2, "a")); got != `a="3" c2 m13 v3 l0` {
			t.Errorf("a: %s", got)
		}
		mustPut(t, s2, "gone", "back")
		if got := kvString(get(t, s2, "gone")); got != `gone="back" c14 m14 v1 l0` {
			t.Errorf("re-created key: %s", got)
		}
		mustPut(t, s2, "c", "x")
		if got := kvString(get(t, s2, "c")); got != `c="x" c10 m15 v2 l0` {
			t.Errorf("c: %s", got)
		}
		// Lease 1 still holds b and d (a was just detached).
		resp, err := doRevoke(t, s2, 1)
		if err != nil || resp.Header.Revision != 16 {
			t.Fatalf("revoke: %v %v", resp, err)
		}
		if got := keysOf(mustRange(t, s2, allKeys()).Kvs); got != "a,c,gone,t1,t2" {
			t.Errorf("keys after revoke: %s", got)
		}
		wantErr(t, doGrant(t, s2, 3, 1), ErrLeaseExists)
		wantErr(t, doCompact(t, s2, 6), ErrCompacted)
		_, err = s2.Range(&pb.RangeRequest{Key: []byte("a"), Revision: 5})
		wantErr(t, err, ErrCompacted)
	})
}

func TestReopenKeepsAppliedIndexWithoutWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path, true, Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "k", "v")
	if err := s.Apply(41, func(w *WriteTxn) {}); err != nil {
		t.Fatal(err)
	}
	if s.AppliedIndex() != 41 {
		t.Fatalf("AppliedIndex %d, want 41", s.AppliedIndex())
	}
	s.Close()
	s2 := openStoreAt(t, path, false)
	if s2.AppliedIndex() != 41 || s2.Rev() != 2 {
		t.Fatalf("after reopen: applied %d rev %d", s2.AppliedIndex(), s2.Rev())
	}
}

func TestSnapshotRestore(t *testing.T) {
	src := openStore(t)
	buildState(t, src)
	want := stateOf(t, src)

	applied, size, write, release, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if applied != src.AppliedIndex() || size <= 0 {
		t.Fatalf("snapshot applied %d (want %d) size %d", applied, src.AppliedIndex(), size)
	}
	// Writes go on while the snapshot is streamed; it keeps the state it
	// pinned. (A write may wait for the snapshot's read transaction when
	// bbolt has to grow its memory map, so it runs aside.)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := src.Apply(src.AppliedIndex()+1, func(w *WriteTxn) {
			_, _ = w.Put(&pb.PutRequest{Key: []byte("after-snapshot")})
		}); err != nil {
			t.Error(err)
		}
	}()
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		t.Fatal(err)
	}
	release()
	release() // idempotent
	wg.Wait()
	if int64(buf.Len()) != size {
		t.Fatalf("snapshot wrote %d bytes, announced %d", buf.Len(), size)
	}
	snap := buf.Bytes()

	dst := openStore(t)
	mustPut(t, dst, "dst-only", "x")
	mustGrant(t, dst, 9, 9)
	changed := dst.Changed()
	if err := dst.Restore(bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Error("Restore did not signal Changed")
	}
	if got := stateOf(t, dst); got != want {
		t.Fatalf("restored state:\n%s\nwant:\n%s", got, want)
	}
	h1, _, _, _ := src.HashKV(dst.Rev())
	h2, _, _, _ := dst.HashKV(0)
	if h1 != h2 {
		t.Fatalf("HashKV at %d differs: %d vs %d", dst.Rev(), h1, h2)
	}

	t.Run("restored store keeps working and survives reopen", func(t *testing.T) {
		mustPut(t, dst, "post", "1")
		if get(t, dst, "post") == nil {
			t.Fatal("write after restore lost")
		}
		path := dst.path
		if err := dst.Close(); err != nil {
			t.Fatal(err)
		}
		re := openStoreAt(t, path, false)
		if get(t, re, "post") == nil || get(t, re, "dst-only") != nil {
			t.Fatal("reopened restored store has the wrong state")
		}
	})

	t.Run("garbage is refused and changes nothing", func(t *testing.T) {
		s := openStore(t)
		mustPut(t, s, "k", "v")
		before := stateOf(t, s)
		for name, data := range map[string][]byte{
			"empty":        nil,
			"garbage":      bytes.Repeat([]byte("not bbolt "), 1000),
			"foreign bolt": foreignBolt(t),
		} {
			if err := s.Restore(bytes.NewReader(data)); err == nil {
				t.Errorf("%s: Restore accepted it", name)
			}
			if got := stateOf(t, s); got != before {
				t.Fatalf("%s: state changed:\n%s", name, got)
			}
			if _, err := os.Stat(s.path + ".restore"); !os.IsNotExist(err) {
				t.Errorf("%s: temporary file left behind: %v", name, err)
			}
		}
	})
}

// foreignBolt returns a valid bbolt file that is not a state database.
func foreignBolt(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("logs"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// inSubprocess runs the calling test alone in a child process with
// MVCC_TEST_CHILD set, so a fatal signal fails the test instead of killing
// the whole test binary. It reports whether the caller is the child.
func inSubprocess(t *testing.T) bool {
	t.Helper()
	if os.Getenv("MVCC_TEST_CHILD") == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "MVCC_TEST_CHILD="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		lines := strings.Split(string(out), "\n")
		if len(lines) > 12 {
			lines = lines[:12]
		}
		t.Fatalf("child process failed: %v\n%s", err, strings.Join(lines, "\n"))
	}
	return false
}

// truncatedState returns the first half of a state database file that has
// grown past a few pages.
func truncatedState(t *testing.T) []byte {
	t.Helper()
	s := openStore(t)
	for i := 0; i < 200; i++ {
		mustPut(t, s, fmt.Sprintf("key-%03d", i), strings.Repeat("v", 100))
	}
	_, _, write, release, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()[:buf.Len()/2]
}

// TestRestoreTruncatedSnapshot: a truncated snapshot is refused with an
// error; it must not crash the process (bbolt maps pages past the end of
// the file, and touching them raises SIGBUS).
func TestRestoreTruncatedSnapshot(t *testing.T) {
	if !inSubprocess(t) {
		return
	}
	data := truncatedState(t)
	s := openStore(t)
	mustPut(t, s, "k", "v")
	if err := s.Restore(bytes.NewReader(data)); err == nil {
		t.Fatal("Restore accepted a truncated snapshot")
	}
	if got := kvString(get(t, s, "k")); got != `k="v" c2 m2 v1 l0` {
		t.Fatalf("state changed: %s", got)
	}
}

// TestOpenTruncatedFile: a truncated state file is an error at Open, not
// a crash.
func TestOpenTruncatedFile(t *testing.T) {
	if !inSubprocess(t) {
		return
	}
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, truncatedState(t), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, false, Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a truncated state file")
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name    string
		content []byte // nil: no file
		create  bool
		wantErr bool
	}{
		{"missing file without create", nil, false, true},
		{"missing file with create", nil, true, false},
		{"not a bbolt file", []byte(strings.Repeat("this is not a database\n", 500)), false, true},
		{"not a bbolt file, create set", []byte(strings.Repeat("this is not a database\n", 500)), true, true},
		{"short garbage", []byte("x"), true, true},
		{"empty file", []byte{}, false, true},
		{"empty file, create set", []byte{}, true, true},
		{"bbolt file of something else", []byte("foreign"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			content := tt.content
			if string(content) == "foreign" {
				content = foreignBolt(t)
			}
			if content != nil {
				if err := os.WriteFile(path, content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Open(path, tt.create, Options{})
			if err == nil {
				defer s.Close()
			}
			if tt.wantErr != (err != nil) {
				t.Fatalf("Open: err %v, want error %v", err, tt.wantErr)
			}
			if content == nil && !tt.create {
				if _, err := os.Stat(path); !os.IsNotExist(err) {
					t.Errorf("Open without create made a file: %v", err)
				}
			}
			if tt.wantErr && content != nil {
				if s != nil {
					s.Close()
				}
				got, _ := os.ReadFile(path)
				if !bytes.Equal(got, content) {
					t.Errorf("the file was rewritten (%d bytes, was %d)", len(got), len(content))
				}
			}
		})
	}
}

func TestApplyIndexAndChanged(t *testing.T) {
	s := openStore(t)
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	steps := []struct {
		name        string
		index       uint64
		fn          func(w *WriteTxn)
		wantChanged bool
	}{
		{"empty batch", 3, func(w *WriteTxn) {}, false},
		{"put", 4, func(w *WriteTxn) { _, _ = w.Put(&pb.PutRequest{Key: []byte("k")}) }, true},
		{"lease grant", 5, func(w *WriteTxn) { _, _ = w.LeaseGrant(1, 1) }, false},
		{"delete of nothing", 6, func(w *WriteTxn) { _, _ = w.DeleteRange(&pb.DeleteRangeRequest{Key: []byte("x")}) }, false},
		{"failed put", 7, func(w *WriteTxn) { _, _ = w.Put(&pb.PutRequest{Key: []byte("k"), Lease: 9}) }, false},
		{"read-only txn", 8, func(w *WriteTxn) { _, _ = w.Txn(&pb.TxnRequest{Success: ops(getOp("k"))}) }, false},
		{"member change", 9, func(w *WriteTxn) { w.SetMember(&pb.Member{ID: 1}) }, false},
		{"delete", 10, func(w *WriteTxn) { _, _ = w.DeleteRange(&pb.DeleteRangeRequest{Key: []byte("k")}) }, true},
		{"several writes", 12, func(w *WriteTxn) {
			_, _ = w.Put(&pb.PutRequest{Key: []byte("a")})
			_, _ = w.Put(&pb.PutRequest{Key: []byte("b")})
		}, true},
		{"compaction", 13, func(w *WriteTxn) { _, _ = w.Compact(3) }, true},
		{"failed compaction", 14, func(w *WriteTxn) { _, _ = w.Compact(3) }, false},
		{"revoke with keys", 15, func(w *WriteTxn) {
			_, _ = w.Put(&pb.PutRequest{Key: []byte("l"), Lease: 1})
			_, _ = w.LeaseRevoke(1)
		}, true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			ch := s.Changed()
			if closed(ch) {
				t.Fatal("Changed already closed")
			}
			if err := s.Apply(st.index, st.fn); err != nil {
				t.Fatal(err)
			}
			if s.AppliedIndex() != st.index {
				t.Errorf("AppliedIndex %d, want %d", s.AppliedIndex(), st.index)
			}
			if closed(ch) != st.wantChanged {
				t.Errorf("Changed closed %v, want %v", closed(ch), st.wantChanged)
			}
			if closed(s.Changed()) {
				t.Error("the new Changed channel is already closed")
			}
		})
	}
}

func TestMembers(t *testing.T) {
	s := openStore(t)
	apply(t, s, func(w *WriteTxn) {
		w.SetMember(&pb.Member{ID: 1, Name: "one", PeerURLs: []string{"http://1"}})
		w.SetMember(&pb.Member{ID: 2, Name: "two"})
		w.SetMember(&pb.Member{ID: 1, Name: "uno", PeerURLs: []string{"http://1b"}})
	})
	apply(t, s, func(w *WriteTxn) { w.DeleteMember(2); w.DeleteMember(99) })
	ms, err := s.Members()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[1].Name != "uno" || ms[1].PeerURLs[0] != "http://1b" {
		t.Fatalf("members %v", ms)
	}
	wantRev(t, s, 1) // member changes take no revision: still the empty store's
}

func TestHashKV(t *testing.T) {
	s := openStore(t)
	mustPut(t, s, "a", "1")
	mustPut(t, s, "b", "1")
	mustPut(t, s, "a", "2")
	h0, rev0, c0, err := s.HashKV(0)
	if err != nil || rev0 != 4 || c0 != 0 {
		t.Fatalf("HashKV(0): %d %d %d %v", h0, rev0, c0, err)
	}
	if h, rev, _, _ := s.HashKV(4); h != h0 || rev != 4 {
		t.Fatalf("HashKV(4) = %d@%d, HashKV(0) = %d", h, rev, h0)
	}
	h3, rev3, _, err := s.HashKV(3)
	if err != nil || rev3 != 3 || h3 == h0 {
		t.Fatalf("HashKV(3): %d %d %v", h3, rev3, err)
	}
	mustPut(t, s, "c", "1")
	if h, _, _, _ := s.HashKV(4); h != h0 {
		t.Fatal("HashKV(4) changed after a later write")
	}
	// The same history gives the same hash on another store.
	o := openStore(t)
	mustPut(t, o, "a", "1")
	mustPut(t, o, "b", "1")
	mustPut(t, o, "a", "2")
	if h, _, _, _ := o.HashKV(0); h != h0 {
		t.Fatal("same history, different hash")
	}
	mustCompact(t, s, 3)
	if _, _, c, err := s.HashKV(0); err != nil || c != 3 {
		t.Fatalf("after compaction: compact %d err %v", c, err)
	}
	if _, _, _, err := s.HashKV(2); err != ErrCompacted {
		t.Fatalf("HashKV below compaction: %v", err)
	}
}

func TestDefragmentShrinksAndKeepsState(t *testing.T) {
	s := openStore(t)
	val := make([]byte, 4096)
	for i := 0; i < 500; i++ {
		mustPutReq(t, s, &pb.PutRequest{Key: []byte(fmt.Sprintf("k%03d", i%50)), Value: val})
	}
	mustCompact(t, s, s.Rev())
	before, _ := s.Size()
	h1, _, _, err := s.HashKV(0)
	if err != nil {
		t.Fatal(err)
	}
	rev := s.Rev()
	if err := s.Defragment(); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Size()
	h2, _, _, err := s.HashKV(0)
	if err != nil {
		t.Fatal(err)
	}
	if after >= before || h1 != h2 || s.Rev() != rev {
		t.Fatalf("size %d -> %d, hash %x -> %x, rev %d -> %d", before, after, h1, h2, rev, s.Rev())
	}
	r, err := s.Range(&pb.RangeRequest{Key: []byte("k"), RangeEnd: []byte("l"), CountOnly: true})
	if err != nil || r.Count != 50 {
		t.Fatalf("after defragment: %v %v", r, err)
	}
}
