package mvcc

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

func TestOpenEmptyStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := openStoreAt(t, path, true)
	// As etcd: an empty store is at revision 1 and has never been compacted.
	if s.Rev() != 1 || s.CompactRev() != 0 || s.AppliedIndex() != 0 || s.KeyCount() != 0 {
		t.Fatalf("fresh store: rev %d compact %d applied %d keys %d, want rev 1 and the rest 0", s.Rev(), s.CompactRev(), s.AppliedIndex(), s.KeyCount())
	}
	resp := mustRange(t, s, allKeys())
	if len(resp.Kvs) != 0 || resp.Count != 0 || resp.Header.Revision != 1 {
		t.Fatalf("range on empty store: %v", resp)
	}
	resp = mustRange(t, s, &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Revision: 1})
	if len(resp.Kvs) != 0 || resp.Count != 0 || resp.Header.Revision != 1 {
		t.Fatalf("range at revision 1 on empty store: %v", resp)
	}
	if _, err := s.Range(&pb.RangeRequest{Key: []byte("k"), Revision: 2}); err != ErrFutureRev {
		t.Fatalf("range at revision 2 on empty store: %v, want ErrFutureRev", err)
	}
	all := EventFilter{Key: []byte{0}, End: []byte{0}}
	if evs, next, err := s.Events(1, all, 100); err != nil || len(evs) != 0 || next != 2 {
		t.Fatalf("events from 1 on empty store: %s next %d err %v, want none, next 2", eventsString(evs), next, err)
	}
	if _, rev, compact, err := s.HashKV(0); err != nil || rev != 1 || compact != 0 {
		t.Fatalf("HashKV(0) on empty store: rev %d compact %d err %v", rev, compact, err)
	}
	if got := len(s.Leases()); got != 0 {
		t.Fatalf("%d leases on empty store", got)
	}
	// Reopening an empty store keeps it at revision 1.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStoreAt(t, path, false)
	if s.Rev() != 1 || s.CompactRev() != 0 {
		t.Fatalf("reopened empty store: rev %d compact %d, want 1 and 0", s.Rev(), s.CompactRev())
	}
	// So the first write takes revision 2, as in etcd.
	if r := mustPut(t, s, "k", "v"); r.Header.Revision != 2 {
		t.Fatalf("first put got revision %d, want 2", r.Header.Revision)
	}
	if evs, next, err := s.Events(1, all, 100); err != nil || eventsString(evs) != "PUT k@2" || next != 3 {
		t.Fatalf("events from 1 after the first put: %s next %d err %v", eventsString(evs), next, err)
	}

	t.Run("compaction at revision 1", func(t *testing.T) {
		// etcd compacts a fresh store at its revision 1 without error.
		s := openStore(t)
		mustCompact(t, s, 1)
		if s.Rev() != 1 || s.CompactRev() != 1 {
			t.Fatalf("after compaction: rev %d compact %d, want 1 and 1", s.Rev(), s.CompactRev())
		}
		if r := mustRange(t, s, &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Revision: 1}); len(r.Kvs) != 0 || r.Header.Revision != 1 {
			t.Fatalf("range at the compaction revision: %v", r)
		}
		wantErr(t, doCompact(t, s, 1), ErrCompacted)
		if r := mustPut(t, s, "k", "v"); r.Header.Revision != 2 {
			t.Fatalf("first put after compaction got revision %d, want 2", r.Header.Revision)
		}
	})
}

// TestRevisions checks that every write request takes exactly one revision
// and that requests that write nothing take none.
func TestRevisions(t *testing.T) {
	s := openStore(t)
	mustGrant(t, s, 7, 60)
	steps := []struct {
		name    string
		do      func(w *WriteTxn) (int64, error) // returns the response header revision
		wantRev int64
		wantErr error
	}{
		{"put creates", func(w *WriteTxn) (int64, error) {
			r, err := w.Put(&pb.PutRequest{Key: []byte("a"), Value: []byte("1")})
			return hdr(r, err)
		}, 2, nil},
		{"put other key", func(w *WriteTxn) (int64, error) {
			r, err := w.Put(&pb.PutRequest{Key: []byte("b"), Value: []byte("1")})
			return hdr(r, err)
		}, 3, nil},
		{"put overwrites", func(w *WriteTxn) (int64, error) {
			r, err := w.Put(&pb.PutRequest{Key: []byte("a"), Value: []byte("2")})
			return hdr(r, err)
		}, 4, nil},
		{"put same value still writes", func(w *WriteTxn) (int64, error) {
			r, err := w.Put(&pb.PutRequest{Key: []byte("a"), Value: []byte("2")})
			return hdr(r, err)
		}, 5, nil},
		{"delete of a missing key", func(w *WriteTxn) (int64, error) {
			r, err := w.DeleteRange(&pb.DeleteRangeRequest{Key: []byte("zz")})
			return hdr(r, err)
		}, 5, nil},
		{"delete of an empty range", func(w *WriteTxn) (int64, error) {
			r, err := w.DeleteRange(&pb.DeleteRangeRequest{Key: []byte("x"), RangeEnd: []byte("z")})
			return hdr(r, err)
		}, 5, nil},
		{"delete", func(w *WriteTxn) (int64, error) {
			r, err := w.DeleteRange(&pb.DeleteRangeRequest{Key: []byte("b")})
			return hdr(r, err)
		}, 6, nil},
		{"txn without writes", func(w *WriteTxn) (int64, error) {
			r, err := w.Txn(&pb.TxnRequest{Success: ops(getOp("a"), getOp("b"))})
			return hdr(r, err)
		}, 6, nil},
		{"txn whose only write deletes nothing", func(w *WriteTxn) (int64, error) {
			r, err := w.Txn(&pb.TxnRequest{Success: ops(delOp("nothing", ""))})
			return hdr(r, err)
		}, 6, nil},
		{"txn with three writes", func(w *WriteTxn) (int64, error) {
			r, err := w.Txn(&pb.TxnRequest{Success: ops(putOp("c", "1"), putOp("d", "1"), delOp("a", ""))})
			return hdr(r, err)
		}, 7, nil},
		{"failed put", func(w *WriteTxn) (int64, error) {
			r, err := w.Put(&pb.PutRequest{Key: []byte("e"), Lease: 99})
			return hdr(r, err)
		}, 7, ErrLeaseNotFound},
		{"failed txn", func(w *WriteTxn) (int64, error) {
			r, err := w.Txn(&pb.TxnRequest{Success: ops(putOp("f", "1"), putReqOp(&pb.PutRequest{Key: []byte("g"), Lease: 99}))})
			return hdr(r, err)
		}, 7, ErrLeaseNotFound},
		{"lease grant", func(w *WriteTxn) (int64, error) {
			r, err := w.LeaseGrant(8, 10)
			return hdr(r, err)
		}, 7, nil},
		{"revoke of a lease without keys", func(w *WriteTxn) (int64, error) {
			r, err := w.LeaseRevoke(8)
			return hdr(r, err)
		}, 7, nil},
		{"put with lease", func(w *WriteTxn) (int64, error) {
			r, err := w.Put(&pb.PutRequest{Key: []byte("l1"), Lease: 7})
			return hdr(r, err)
		}, 8, nil},
		{"put with lease again", func(w *WriteTxn) (int64, error) {
			r, err := w.Put(&pb.PutRequest{Key: []byte("l2"), Lease: 7})
			return hdr(r, err)
		}, 9, nil},
		{"revoke deleting two keys", func(w *WriteTxn) (int64, error) {
			r, err := w.LeaseRevoke(7)
			return hdr(r, err)
		}, 10, nil},
		{"compaction", func(w *WriteTxn) (int64, error) {
			r, err := w.Compact(4)
			return hdr(r, err)
		}, 10, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var got int64
			var err error
			apply(t, s, func(w *WriteTxn) { got, err = st.do(w) })
			wantErr(t, err, st.wantErr)
			if err == nil && got != st.wantRev {
				t.Errorf("response revision %d, want %d", got, st.wantRev)
			}
			wantRev(t, s, st.wantRev)
		})
	}

	t.Run("txn writes share one revision, numbered by sub revision", func(t *testing.T) {
		var at7 []string
		for _, r := range records(t, s) {
			if strings.HasPrefix(r, "7.") {
				at7 = append(at7, r)
			}
		}
		want := []string{"7.0 p c", "7.1 p d", "7.2 d a"}
		if !slices.Equal(at7, want) {
			t.Fatalf("records at revision 7: %q, want %q", at7, want)
		}
	})
}

// hdr extracts the header revision of any response.
func hdr[R interface{ GetHeader() *pb.ResponseHeader }](r R, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return r.GetHeader().GetRevision(), nil
}

func TestBatchTakesOneRevisionPerRequest(t *testing.T) {
	s := openStore(t)
	var revs []int64
	apply(t, s, func(w *WriteTxn) {
		for _, k := range []string{"a", "b", "c"} {
			r, err := w.Put(&pb.PutRequest{Key: []byte(k)})
			if err != nil {
				t.Errorf("put: %v", err)
				return
			}
			revs = append(revs, r.Header.Revision)
		}
		// Nothing is visible to readers before the commit.
		if got := s.Rev(); got != 1 {
			t.Errorf("revision %d visible before commit", got)
		}
		if resp, err := s.Range(allKeys()); err != nil || len(resp.Kvs) != 0 {
			t.Errorf("reader saw uncommitted writes: %v %v", resp, err)
		}
		// A DeleteRange later in the same batch sees the batch's writes.
		r, _ := w.DeleteRange(&pb.DeleteRangeRequest{Key: []byte("b")})
		revs = append(revs, r.Header.Revision)
	})
	if want := []int64{2, 3, 4, 5}; !slices.Equal(revs, want) {
		t.Fatalf("revisions %v, want %v", revs, want)
	}
	wantRev(t, s, 5)
	if got := keysOf(mustRange(t, s, allKeys()).Kvs); got != "a,c" {
		t.Fatalf("keys %s, want a,c", got)
	}
}

// TestKeyMetadata follows one key's create_revision, mod_revision, version
// and lease through its life.
func TestKeyMetadata(t *testing.T) {
	s := openStore(t)
	mustGrant(t, s, 1, 10)
	mustGrant(t, s, 2, 10)
	steps := []struct {
		name string
		do   func()
		want string // kvString of key "k", or <nil>
	}{
		{"create", func() { mustPut(t, s, "k", "v1") }, `k="v1" c2 m2 v1 l0`},
		{"other key does not touch k", func() { mustPut(t, s, "other", "x") }, `k="v1" c2 m2 v1 l0`},
		{"update", func() { mustPut(t, s, "k", "v2") }, `k="v2" c2 m4 v2 l0`},
		{"attach lease", func() { mustPutLease(t, s, "k", "v3", 1) }, `k="v3" c2 m5 v3 l1`},
		{"ignore_value keeps value", func() {
			mustPutReq(t, s, &pb.PutRequest{Key: []byte("k"), IgnoreValue: true, Lease: 2})
		}, `k="v3" c2 m6 v4 l2`},
		{"ignore_lease keeps lease", func() {
			mustPutReq(t, s, &pb.PutRequest{Key: []byte("k"), Value: []byte("v5"), IgnoreLease: true})
		}, `k="v5" c2 m7 v5 l2`},
		{"put without lease detaches", func() { mustPut(t, s, "k", "v6") }, `k="v6" c2 m8 v6 l0`},
		{"delete", func() { mustDelete(t, s, "k") }, `<nil>`},
		{"re-create resets version and create revision", func() { mustPut(t, s, "k", "new") }, `k="new" c10 m10 v1 l0`},
		{"update after re-create", func() { mustPut(t, s, "k", "newer") }, `k="newer" c10 m11 v2 l0`},
		{"txn write", func() { mustTxn(t, s, &pb.TxnRequest{Success: ops(putOp("x", ""), putOp("k", "t"))}) }, `k="t" c10 m12 v3 l0`},
		{"delete and re-create in one batch", func() {
			apply(t, s, func(w *WriteTxn) {
				_, _ = w.DeleteRange(&pb.DeleteRangeRequest{Key: []byte("k")})
				_, _ = w.Put(&pb.PutRequest{Key: []byte("k"), Value: []byte("b")})
			})
		}, `k="b" c14 m14 v1 l0`},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			if got := kvString(get(t, s, "k")); got != st.want {
				t.Fatalf("k is %s, want %s", got, st.want)
			}
		})
	}
}

// rangeFixture builds keys whose versions, create and mod revisions and
// values all sort differently:
//
//	a: create 3, mod 4,  version 2, value "9"
//	b: create 8, mod 11, version 4, value "5"
//	c: create 2, mod 2,  version 1, value "3"
//	d: create 5, mod 7,  version 3, value "1"
//	foo/1 (12), foo/2 (13), fop (14); e created at 15, deleted at 16.
func rangeFixture(t *testing.T) *Store {
	t.Helper()
	s := openStore(t)
	for _, kv := range [][2]string{
		{"c", "3"}, {"a", "x"}, {"a", "9"}, {"d", "x"}, {"d", "x"}, {"d", "1"},
		{"b", "x"}, {"b", "x"}, {"b", "x"}, {"b", "5"},
		{"foo/1", "f1"}, {"foo/2", "f2"}, {"fop", "p"}, {"e", "gone"},
	} {
		mustPut(t, s, kv[0], kv[1])
	}
	mustDelete(t, s, "e")
	wantRev(t, s, 16)
	return s
}

func TestRange(t *testing.T) {
	s := rangeFixture(t)
	abcd := func(r *pb.RangeRequest) *pb.RangeRequest {
		r.Key, r.RangeEnd = []byte("a"), []byte("e")
		return r
	}
	tests := []struct {
		name      string
		req       *pb.RangeRequest
		wantKeys  string
		wantCount int64
		wantMore  bool
	}{
		{"single key", &pb.RangeRequest{Key: []byte("a")}, "a", 1, false},
		{"single missing key", &pb.RangeRequest{Key: []byte("zz")}, "", 0, false},
		{"single deleted key", &pb.RangeRequest{Key: []byte("e")}, "", 0, false},
		{"key is not a prefix without range_end", &pb.RangeRequest{Key: []byte("fo")}, "", 0, false},
		{"half-open range", &pb.RangeRequest{Key: []byte("a"), RangeEnd: []byte("c")}, "a,b", 2, false},
		{"range end is exclusive", &pb.RangeRequest{Key: []byte("b"), RangeEnd: []byte("d")}, "b,c", 2, false},
		{"range skips deleted keys", &pb.RangeRequest{Key: []byte("d"), RangeEnd: []byte("f")}, "d", 1, false},
		{"prefix", &pb.RangeRequest{Key: []byte("foo/"), RangeEnd: []byte("foo0")}, "foo/1,foo/2", 2, false},
		{"range_end \\x00: every key >= key", &pb.RangeRequest{Key: []byte("d"), RangeEnd: []byte{0}}, "d,foo/1,foo/2,fop", 4, false},
		{"key and range_end \\x00: all keys", allKeys(), "a,b,c,d,foo/1,foo/2,fop", 7, false},
		{"empty range (end before key)", &pb.RangeRequest{Key: []byte("d"), RangeEnd: []byte("a")}, "", 0, false},
		{"limit", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Limit: 2}, "a,b", 7, true},
		{"limit equal to count", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Limit: 7}, "a,b,c,d,foo/1,foo/2,fop", 7, false},
		{"limit above count", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Limit: 100}, "a,b,c,d,foo/1,foo/2,fop", 7, false},
		{"negative limit means none", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Limit: -1}, "a,b,c,d,foo/1,foo/2,fop", 7, false},
		{"count_only", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, CountOnly: true}, "", 7, false},
		{"count_only ignores limit", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, CountOnly: true, Limit: 1}, "", 7, false},

		{"sort key ascend", abcd(&pb.RangeRequest{SortTarget: pb.RangeRequest_KEY, SortOrder: pb.RangeRequest_ASCEND}), "a,b,c,d", 4, false},
		{"sort key descend", abcd(&pb.RangeRequest{SortTarget: pb.RangeRequest_KEY, SortOrder: pb.RangeRequest_DESCEND}), "d,c,b,a", 4, false},
		{"sort version ascend", abcd(&pb.RangeRequest{SortTarget: pb.RangeRequest_VERSION, SortOrder: pb.RangeRequest_ASCEND}), "c,a,d,b", 4, false},
		{"sort version descend", abcd(&pb.RangeRequest{SortTarget: pb.RangeRequest_VERSION, SortOrder: pb.RangeRequest_DESCEND}), "b,d,a,c", 4, false},
		{"sort create ascend", abcd(&pb.RangeRequest{SortTarget: pb.RangeRequest_CREATE, SortOrder: pb.RangeRequest_ASCEND}), "c,a,d,b", 4, false},
		{"sort create descend", abcd(&pb.RangeRequest{SortTarget: pb.RangeRequest_CREATE, SortOrder: pb.RangeRequest_DESCEND}), "b,d,a,c", 4, false},
		{"sort mod ascend", abcd(&pb.RangeRequest{SortTarget: pb.RangeRequest_MOD, SortOrder: pb.RangeRequest_ASCEND}), "c,a,d,b", 4, false},
		{"sort mod descend", abcd(&pb.RangeRequest{SortTarget: pb.RangeRequest_MOD, SortOrder: pb.RangeRequest_DESCEND}), "b,d,a,c", 4, false},
		{"sort value ascend", abcd(&pb.RangeRequest{SortTarget: pb.RangeRequest_VALUE, SortOrder: pb.RangeRequest_ASCEND}), "d,c,b,a", 4, false},
		{"sort value descend", abcd(&pb.RangeRequest{SortTarget: pb.RangeRequest_VALUE, SortOrder: pb.RangeRequest_DESCEND}), "a,b,c,d", 4, false},
		{"sort target without order sorts ascending", abcd(&pb.RangeRequest{SortTarget: pb.RangeRequest_VALUE}), "d,c,b,a", 4, false},
		{"sort descend then limit", abcd(&pb.RangeRequest{SortTarget: pb.RangeRequest_KEY, SortOrder: pb.RangeRequest_DESCEND, Limit: 2}), "d,c", 4, true},
		{"sort mod ascend then limit", abcd(&pb.RangeRequest{SortTarget: pb.RangeRequest_MOD, SortOrder: pb.RangeRequest_ASCEND, Limit: 3}), "c,a,d", 4, true},
		{"sort key ascend with limit", abcd(&pb.RangeRequest{SortTarget: pb.RangeRequest_KEY, SortOrder: pb.RangeRequest_ASCEND, Limit: 3}), "a,b,c", 4, true},

		{"min mod revision", abcd(&pb.RangeRequest{MinModRevision: 7}), "b,d", 4, false},
		{"max mod revision", abcd(&pb.RangeRequest{MaxModRevision: 4}), "a,c", 4, false},
		{"min and max mod revision", abcd(&pb.RangeRequest{MinModRevision: 4, MaxModRevision: 7}), "a,d", 4, false},
		{"min create revision", abcd(&pb.RangeRequest{MinCreateRevision: 5}), "b,d", 4, false},
		{"max create revision", abcd(&pb.RangeRequest{MaxCreateRevision: 3}), "a,c", 4, false},
		{"min and max create revision", abcd(&pb.RangeRequest{MinCreateRevision: 3, MaxCreateRevision: 5}), "a,d", 4, false},
		{"filter bounds are inclusive", abcd(&pb.RangeRequest{MinModRevision: 2, MaxModRevision: 2}), "c", 4, false},
		{"filter then limit", abcd(&pb.RangeRequest{MinModRevision: 3, Limit: 1}), "a", 4, true},
		{"filter then limit, nothing more", abcd(&pb.RangeRequest{MinModRevision: 8, Limit: 1}), "b", 4, false},
		{"filter and sort", abcd(&pb.RangeRequest{MinCreateRevision: 3, SortTarget: pb.RangeRequest_VALUE, SortOrder: pb.RangeRequest_DESCEND}), "a,b,d", 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := mustRange(t, s, tt.req)
			if got := keysOf(resp.Kvs); got != tt.wantKeys {
				t.Errorf("keys %q, want %q", got, tt.wantKeys)
			}
			if resp.Count != tt.wantCount {
				t.Errorf("count %d, want %d", resp.Count, tt.wantCount)
			}
			if resp.More != tt.wantMore {
				t.Errorf("more %v, want %v", resp.More, tt.wantMore)
			}
			if resp.Header.Revision != 16 {
				t.Errorf("header revision %d, want 16", resp.Header.Revision)
			}
		})
	}

	t.Run("values and metadata", func(t *testing.T) {
		got := kvsString(mustRange(t, s, abcd(&pb.RangeRequest{})).Kvs)
		want := `[a="9" c3 m4 v2 l0 | b="5" c8 m11 v4 l0 | c="3" c2 m2 v1 l0 | d="1" c5 m7 v3 l0]`
		if got != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("keys_only drops values, keeps metadata", func(t *testing.T) {
		got := kvsString(mustRange(t, s, abcd(&pb.RangeRequest{KeysOnly: true})).Kvs)
		want := `[a="" c3 m4 v2 l0 | b="" c8 m11 v4 l0 | c="" c2 m2 v1 l0 | d="" c5 m7 v3 l0]`
		if got != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("keys_only still sorts by value", func(t *testing.T) {
		resp := mustRange(t, s, abcd(&pb.RangeRequest{KeysOnly: true, SortTarget: pb.RangeRequest_VALUE, SortOrder: pb.RangeRequest_ASCEND}))
		if got := keysOf(resp.Kvs); got != "d,c,b,a" {
			t.Fatalf("keys %s, want d,c,b,a", got)
		}
	})
	t.Run("count_only returns no kvs", func(t *testing.T) {
		resp := mustRange(t, s, &pb.RangeRequest{Key: []byte("a"), CountOnly: true})
		if len(resp.Kvs) != 0 || resp.Count != 1 {
			t.Fatalf("count_only: %d kvs, count %d", len(resp.Kvs), resp.Count)
		}
	})
	t.Run("results do not alias the store", func(t *testing.T) {
		resp := mustRange(t, s, &pb.RangeRequest{Key: []byte("a")})
		resp.Kvs[0].Value[0] = 'X'
		if v := string(get(t, s, "a").Value); v != "9" {
			t.Fatalf("a changed to %q through a returned slice", v)
		}
	})
}

func TestRangeRevision(t *testing.T) {
	s := rangeFixture(t) // revisions 2..16
	tests := []struct {
		name    string
		key     string
		rev     int64
		want    string
		wantErr error
	}{
		{"current", "a", 0, `a="9" c3 m4 v2 l0`, nil},
		{"negative means current", "a", -5, `a="9" c3 m4 v2 l0`, nil},
		{"exactly the current revision", "b", 16, `b="5" c8 m11 v4 l0`, nil},
		{"past value", "a", 3, `a="x" c3 m3 v1 l0`, nil},
		{"before creation", "a", 2, `<nil>`, nil},
		{"past version", "b", 9, `b="x" c8 m9 v2 l0`, nil},
		{"deleted key before deletion", "e", 15, `e="gone" c15 m15 v1 l0`, nil},
		{"deleted key at deletion", "e", 16, `<nil>`, nil},
		{"future", "a", 17, "", ErrFutureRev},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := s.Range(&pb.RangeRequest{Key: []byte(tt.key), Revision: tt.rev})
			wantErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			got := "<nil>"
			if len(resp.Kvs) > 0 {
				got = kvString(resp.Kvs[0])
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if resp.Header.Revision != 16 {
				t.Errorf("header revision %d, want the current 16", resp.Header.Revision)
			}
		})
	}

	t.Run("past range keeps its own key set", func(t *testing.T) {
		resp := mustRange(t, s, &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Revision: 5})
		if got := keysOf(resp.Kvs); got != "a,c,d" || resp.Count != 3 {
			t.Fatalf("keys at 5: %s count %d, want a,c,d count 3", got, resp.Count)
		}
	})

	mustCompact(t, s, 7)
	after := []struct {
		name    string
		key     string
		rev     int64
		want    string
		wantErr error
	}{
		{"below compaction", "a", 6, "", ErrCompacted},
		{"far below compaction", "a", 2, "", ErrCompacted},
		{"exactly at compaction", "d", 7, `d="1" c5 m7 v3 l0`, nil},
		{"at compaction, key last written below it", "a", 7, `a="9" c3 m4 v2 l0`, nil},
		{"at compaction, key created after it", "b", 7, `<nil>`, nil},
		{"above compaction", "b", 9, `b="x" c8 m9 v2 l0`, nil},
		{"future after compaction", "a", 99, "", ErrFutureRev},
	}
	for _, tt := range after {
		t.Run("compacted/"+tt.name, func(t *testing.T) {
			resp, err := s.Range(&pb.RangeRequest{Key: []byte(tt.key), Revision: tt.rev})
			wantErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			got := "<nil>"
			if len(resp.Kvs) > 0 {
				got = kvString(resp.Kvs[0])
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("compacted/count_only below compaction", func(t *testing.T) {
		_, err := s.Range(&pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Revision: 6, CountOnly: true})
		wantErr(t, err, ErrCompacted)
	})
}

func TestPut(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, s *Store)
		req      *pb.PutRequest
		wantErr  error
		wantPrev string // kvString of the response's prev_kv
		wantKV   string // kvString of the key afterwards
		wantRev  int64  // store revision afterwards
	}{
		{
			name:     "create with prev_kv",
			req:      &pb.PutRequest{Key: []byte("k"), Value: []byte("v"), PrevKv: true},
			wantPrev: "<nil>", wantKV: `k="v" c3 m3 v1 l0`, wantRev: 3,
		},
		{
			name:     "overwrite with prev_kv",
			setup:    func(t *testing.T, s *Store) { mustPutLease(t, s, "k", "old", 1) },
			req:      &pb.PutRequest{Key: []byte("k"), Value: []byte("new"), PrevKv: true},
			wantPrev: `k="old" c3 m3 v1 l1`, wantKV: `k="new" c3 m4 v2 l0`, wantRev: 4,
		},
		{
			name:     "overwrite without prev_kv",
			setup:    func(t *testing.T, s *Store) { mustPut(t, s, "k", "old") },
			req:      &pb.PutRequest{Key: []byte("k"), Value: []byte("new")},
			wantPrev: "<nil>", wantKV: `k="new" c3 m4 v2 l0`, wantRev: 4,
		},
		{
			name:     "prev_kv of a deleted key",
			setup:    func(t *testing.T, s *Store) { mustPut(t, s, "k", "old"); mustDelete(t, s, "k") },
			req:      &pb.PutRequest{Key: []byte("k"), Value: []byte("new"), PrevKv: true},
			wantPrev: "<nil>", wantKV: `k="new" c5 m5 v1 l0`, wantRev: 5,
		},
		{
			name:     "empty value",
			setup:    func(t *testing.T, s *Store) { mustPut(t, s, "k", "old") },
			req:      &pb.PutRequest{Key: []byte("k")},
			wantPrev: "<nil>", wantKV: `k="" c3 m4 v2 l0`, wantRev: 4,
		},
		{
			name:     "ignore_value keeps the value, takes the new lease",
			setup:    func(t *testing.T, s *Store) { mustPutLease(t, s, "k", "old", 1) },
			req:      &pb.PutRequest{Key: []byte("k"), IgnoreValue: true, Lease: 2, PrevKv: true},
			wantPrev: `k="old" c3 m3 v1 l1`, wantKV: `k="old" c3 m4 v2 l2`, wantRev: 4,
		},
		{
			name:     "ignore_value without lease detaches",
			setup:    func(t *testing.T, s *Store) { mustPutLease(t, s, "k", "old", 1) },
			req:      &pb.PutRequest{Key: []byte("k"), IgnoreValue: true},
			wantPrev: "<nil>", wantKV: `k="old" c3 m4 v2 l0`, wantRev: 4,
		},
		{
			name:     "ignore_lease keeps the lease",
			setup:    func(t *testing.T, s *Store) { mustPutLease(t, s, "k", "old", 1) },
			req:      &pb.PutRequest{Key: []byte("k"), Value: []byte("new"), IgnoreLease: true},
			wantPrev: "<nil>", wantKV: `k="new" c3 m4 v2 l1`, wantRev: 4,
		},
		{
			name:     "ignore_value and ignore_lease",
			setup:    func(t *testing.T, s *Store) { mustPutLease(t, s, "k", "old", 2) },
			req:      &pb.PutRequest{Key: []byte("k"), IgnoreValue: true, IgnoreLease: true},
			wantPrev: "<nil>", wantKV: `k="old" c3 m4 v2 l2`, wantRev: 4,
		},
		{
			name:    "ignore_value on a missing key",
			req:     &pb.PutRequest{Key: []byte("k"), IgnoreValue: true},
			wantErr: ErrKeyNotFound, wantKV: "<nil>", wantRev: 2,
		},
		{
			name:    "ignore_value on a deleted key",
			setup:   func(t *testing.T, s *Store) { mustPut(t, s, "k", "old"); mustDelete(t, s, "k") },
			req:     &pb.PutRequest{Key: []byte("k"), IgnoreValue: true},
			wantErr: ErrKeyNotFound, wantKV: "<nil>", wantRev: 4,
		},
		{
			name:    "ignore_lease on a missing key",
			req:     &pb.PutRequest{Key: []byte("k"), Value: []byte("v"), IgnoreLease: true},
			wantErr: ErrKeyNotFound, wantKV: "<nil>", wantRev: 2,
		},
		{
			name:    "unknown lease writes nothing",
			setup:   func(t *testing.T, s *Store) { mustPut(t, s, "k", "old") },
			req:     &pb.PutRequest{Key: []byte("k"), Value: []byte("new"), Lease: 99},
			wantErr: ErrLeaseNotFound, wantKV: `k="old" c3 m3 v1 l0`, wantRev: 3,
		},
		{
			name:    "unknown lease on a new key",
			req:     &pb.PutRequest{Key: []byte("k"), Value: []byte("new"), Lease: 99},
			wantErr: ErrLeaseNotFound, wantKV: "<nil>", wantRev: 2,
		},
		{
			name:     "binary key and value",
			req:      &pb.PutRequest{Key: []byte{0, 0xff, 'k'}, Value: []byte{0, 1, 2}},
			wantPrev: "<nil>", wantRev: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			mustGrant(t, s, 1, 10)
			mustGrant(t, s, 2, 10)
			mustPut(t, s, "unrelated", "u") // revision 2
			if tt.setup != nil {
				tt.setup(t, s)
			}
			resp, err := doPut(t, s, tt.req)
			wantErr(t, err, tt.wantErr)
			if err == nil {
				if got := kvString(resp.PrevKv); got != tt.wantPrev {
					t.Errorf("prev_kv %s, want %s", got, tt.wantPrev)
				}
				if resp.Header.Revision != tt.wantRev {
					t.Errorf("header revision %d, want %d", resp.Header.Revision, tt.wantRev)
				}
			}
			if tt.wantKV != "" {
				if got := kvString(get(t, s, string(tt.req.Key))); got != tt.wantKV {
					t.Errorf("key is %s, want %s", got, tt.wantKV)
				}
			} else if got := get(t, s, string(tt.req.Key)); got == nil || string(got.Value) != string(tt.req.Value) {
				t.Errorf("key is %s", kvString(got))
			}
			wantRev(t, s, tt.wantRev)
			if got := kvString(get(t, s, "unrelated")); got != `unrelated="u" c2 m2 v1 l0` {
				t.Errorf("unrelated key changed: %s", got)
			}
		})
	}
}

func TestPutLeaseAttachment(t *testing.T) {
	s := openStore(t)
	mustGrant(t, s, 1, 10)
	mustGrant(t, s, 2, 20)
	keys := func(id int64) string {
		t.Helper()
		_, ks, err := s.Lease(id)
		if err != nil {
			t.Fatalf("lease %d: %v", id, err)
		}
		out := make([]string, len(ks))
		for i, k := range ks {
			out[i] = string(k)
		}
		return strings.Join(out, ",")
	}
	steps := []struct {
		name   string
		do     func()
		l1, l2 string
	}{
		{"nothing attached", func() {}, "", ""},
		{"attach two keys", func() { mustPutLease(t, s, "b", "", 1); mustPutLease(t, s, "a", "", 1) }, "a,b", ""},
		{"move a key to another lease", func() { mustPutLease(t, s, "a", "", 2) }, "b", "a"},
		{"same lease again", func() { mustPutLease(t, s, "a", "x", 2) }, "b", "a"},
		{"ignore_lease keeps it", func() { mustPutReq(t, s, &pb.PutRequest{Key: []byte("a"), IgnoreLease: true}) }, "b", "a"},
		{"put without lease detaches", func() { mustPut(t, s, "b", "") }, "", "a"},
		{"delete detaches", func() { mustDelete(t, s, "a") }, "", ""},
		{"attach in a txn", func() {
			mustTxn(t, s, &pb.TxnRequest{Success: ops(
				putReqOp(&pb.PutRequest{Key: []byte("t1"), Lease: 1}),
				putReqOp(&pb.PutRequest{Key: []byte("t2"), Lease: 2}))})
		}, "t1", "t2"},
		{"delete range in a txn detaches", func() { mustTxn(t, s, &pb.TxnRequest{Success: ops(delOp("t", "u"))}) }, "", ""},
		{"failed put attaches nothing", func() {
			_, _ = doTxn(t, s, &pb.TxnRequest{Success: ops(
				putReqOp(&pb.PutRequest{Key: []byte("f"), Lease: 1}),
				putReqOp(&pb.PutRequest{Key: []byte("g"), Lease: 77}))})
		}, "", ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			if got := keys(1); got != st.l1 {
				t.Errorf("lease 1 keys %q, want %q", got, st.l1)
			}
			if got := keys(2); got != st.l2 {
				t.Errorf("lease 2 keys %q, want %q", got, st.l2)
			}
		})
	}
	if got := s.Leases(); len(got) != 2 || got[1] != 10 || got[2] != 20 {
		t.Fatalf("leases %v", got)
	}
	if ttl, ok := s.LeaseTTL(2); !ok || ttl != 20 {
		t.Fatalf("LeaseTTL(2) = %d, %v", ttl, ok)
	}
	if _, ok := s.LeaseTTL(3); ok {
		t.Fatal("LeaseTTL of an unknown lease reported ok")
	}
	if _, _, err := s.Lease(3); err != ErrLeaseNotFound {
		t.Fatalf("Lease(3): %v, want ErrLeaseNotFound", err)
	}
}

func TestDeleteRange(t *testing.T) {
	// a(2) b(3) b/1(4) b/2(5) c(6) d(7), then b again (8); deletions take 9.
	tests := []struct {
		name        string
		req         *pb.DeleteRangeRequest
		wantDeleted int64
		wantPrev    string
		wantLeft    string
	}{
		{"single key", &pb.DeleteRangeRequest{Key: []byte("b")}, 1, "", "a,b/1,b/2,c,d"},
		{"single key with prev_kv", &pb.DeleteRangeRequest{Key: []byte("b"), PrevKv: true}, 1, `[b="2" c3 m8 v2 l0]`, "a,b/1,b/2,c,d"},
		{"missing key", &pb.DeleteRangeRequest{Key: []byte("x"), PrevKv: true}, 0, `[]`, "a,b,b/1,b/2,c,d"},
		{"range", &pb.DeleteRangeRequest{Key: []byte("a"), RangeEnd: []byte("c")}, 4, "", "c,d"},
		{"range with prev_kv", &pb.DeleteRangeRequest{Key: []byte("b/"), RangeEnd: []byte("b0"), PrevKv: true}, 2, `[b/1="1" c4 m4 v1 l0 | b/2="1" c5 m5 v1 l0]`, "a,b,c,d"},
		{"empty range", &pb.DeleteRangeRequest{Key: []byte("e"), RangeEnd: []byte("z")}, 0, "", "a,b,b/1,b/2,c,d"},
		{"from key", &pb.DeleteRangeRequest{Key: []byte("b/2"), RangeEnd: []byte{0}}, 3, "", "a,b,b/1"},
		{"all keys", &pb.DeleteRangeRequest{Key: []byte{0}, RangeEnd: []byte{0}}, 6, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			for _, k := range []string{"a", "b", "b/1", "b/2", "c", "d"} {
				mustPut(t, s, k, "1")
			}
			mustPut(t, s, "b", "2")
			resp := doDelete(t, s, tt.req)
			if resp.Deleted != tt.wantDeleted {
				t.Errorf("deleted %d, want %d", resp.Deleted, tt.wantDeleted)
			}
			if tt.wantPrev != "" {
				if got := kvsString(resp.PrevKvs); got != tt.wantPrev {
					t.Errorf("prev_kvs %s, want %s", got, tt.wantPrev)
				}
			} else if len(resp.PrevKvs) != 0 {
				t.Errorf("prev_kvs without asking: %s", kvsString(resp.PrevKvs))
			}
			want := int64(8)
			if tt.wantDeleted > 0 {
				want = 9
			}
			wantRev(t, s, want)
			if resp.Header.Revision != want {
				t.Errorf("header revision %d, want %d", resp.Header.Revision, want)
			}
			if got := keysOf(mustRange(t, s, allKeys()).Kvs); got != tt.wantLeft {
				t.Errorf("keys left %q, want %q", got, tt.wantLeft)
			}
			// Every deletion of one request shares its revision.
			evs, _, err := s.Events(9, EventFilter{Key: []byte{0}, End: []byte{0}}, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(evs)) != tt.wantDeleted {
				t.Errorf("%d events, want %d", len(evs), tt.wantDeleted)
			}
			for _, ev := range evs {
				if ev.Type != mvccpb.DELETE || ev.Kv.ModRevision != 9 {
					t.Errorf("event %s", eventString(ev))
				}
			}
			// A deleted key's history stays readable.
			if tt.wantDeleted > 0 {
				if kv := getAt(t, s, "d", 8); kv == nil {
					t.Errorf("d not readable at 8")
				}
			}
		})
	}
}

func TestReadTxnMatchesApply(t *testing.T) {
	s := rangeFixture(t)
	req := &pb.TxnRequest{
		Compare: []*pb.Compare{cmpValue("a", pb.Compare_EQUAL, "9")},
		Success: ops(getOp("a"), rangeOp(&pb.RangeRequest{Key: []byte("a"), RangeEnd: []byte("e"), Revision: 6})),
		Failure: ops(getOp("b")),
	}
	r1, err := s.ReadTxn(req)
	if err != nil {
		t.Fatal(err)
	}
	r2 := mustTxn(t, s, req)
	b1, _ := r1.Marshal()
	b2, _ := r2.Marshal()
	if string(b1) != string(b2) {
		t.Fatalf("ReadTxn %v\nApply   %v", r1, r2)
	}
	if !r1.Succeeded || r1.Header.Revision != 16 || len(r1.Responses) != 2 {
		t.Fatalf("ReadTxn response %v", r1)
	}
	wantRev(t, s, 16)
	if _, err := s.ReadTxn(&pb.TxnRequest{Success: ops(rangeOp(&pb.RangeRequest{Key: []byte("a"), Revision: 17}))}); err != ErrFutureRev {
		t.Fatalf("ReadTxn of a future revision: %v", err)
	}
}

func TestKeyCount(t *testing.T) {
	s := rangeFixture(t)
	if got := s.KeyCount(); got != 7 {
		t.Fatalf("KeyCount %d, want 7", got)
	}
	mustCompact(t, s, 16)
	if got := s.KeyCount(); got != 7 {
		t.Fatalf("KeyCount after compaction %d, want 7", got)
	}
}

// TestConcurrentReads: readers running alongside the writer see only
// committed, self-consistent state.
func TestConcurrentReads(t *testing.T) {
	s := openStore(t)
	mustPut(t, s, "k", "2") // the first write takes revision 2; k's value is always its mod revision
	done := make(chan struct{})
	errs := make(chan error, 4)
	for r := 0; r < 3; r++ {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				resp, err := s.Range(&pb.RangeRequest{Key: []byte("k")})
				if err != nil {
					errs <- err
					return
				}
				cur := resp.Header.Revision
				if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != strconv.FormatInt(resp.Kvs[0].ModRevision, 10) || resp.Kvs[0].ModRevision > cur {
					errs <- fmt.Errorf("at %d: %s", cur, kvsString(resp.Kvs))
					return
				}
				past := cur / 2
				if past < 2 {
					past = 2
				}
				old, err := s.Range(&pb.RangeRequest{Key: []byte("k"), Revision: past})
				if err != nil || len(old.Kvs) != 1 || string(old.Kvs[0].Value) != strconv.FormatInt(past, 10) {
					errs <- fmt.Errorf("at %d: %v %v", past, old, err)
					return
				}
				evs, _, err := s.Events(past, EventFilter{Key: []byte("k")}, 10)
				if err != nil || len(evs) == 0 || evs[0].Kv.ModRevision != past {
					errs <- fmt.Errorf("events from %d: %v %v", past, evs, err)
					return
				}
			}
		}()
	}
	for i := 0; i < 100; i++ {
		apply(t, s, func(w *WriteTxn) {
			for j := 0; j < 3; j++ {
				_, _ = w.Put(&pb.PutRequest{Key: []byte("k"), Value: []byte(strconv.FormatInt(w.Rev()+1, 10))})
			}
		})
	}
	close(done)
	for r := 0; r < 3; r++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	wantRev(t, s, 302)
}
