package mvcc

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// openStore opens a fresh store in a temporary directory.
func openStore(t testing.TB) *Store {
	t.Helper()
	return openStoreAt(t, filepath.Join(t.TempDir(), "state.db"), true)
}

func openStoreAt(t testing.TB, path string, create bool) *Store {
	t.Helper()
	s, err := Open(path, create, Options{})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// apply runs fn as the next raft entry and fails the test on a storage error.
func apply(t testing.TB, s *Store, fn func(w *WriteTxn)) {
	t.Helper()
	if err := s.Apply(s.AppliedIndex()+1, fn); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

func doPut(t testing.TB, s *Store, r *pb.PutRequest) (resp *pb.PutResponse, err error) {
	t.Helper()
	apply(t, s, func(w *WriteTxn) { resp, err = w.Put(r) })
	return resp, err
}

func mustPut(t testing.TB, s *Store, key, value string) *pb.PutResponse {
	t.Helper()
	return mustPutReq(t, s, &pb.PutRequest{Key: []byte(key), Value: []byte(value)})
}

func mustPutLease(t testing.TB, s *Store, key, value string, lease int64) *pb.PutResponse {
	t.Helper()
	return mustPutReq(t, s, &pb.PutRequest{Key: []byte(key), Value: []byte(value), Lease: lease})
}

func mustPutReq(t testing.TB, s *Store, r *pb.PutRequest) *pb.PutResponse {
	t.Helper()
	resp, err := doPut(t, s, r)
	if err != nil {
		t.Fatalf("put %q: %v", r.Key, err)
	}
	return resp
}

func doDelete(t testing.TB, s *Store, r *pb.DeleteRangeRequest) (resp *pb.DeleteRangeResponse) {
	t.Helper()
	var err error
	apply(t, s, func(w *WriteTxn) { resp, err = w.DeleteRange(r) })
	if err != nil {
		t.Fatalf("delete %q: %v", r.Key, err)
	}
	return resp
}

func mustDelete(t testing.TB, s *Store, key string) *pb.DeleteRangeResponse {
	t.Helper()
	return doDelete(t, s, &pb.DeleteRangeRequest{Key: []byte(key)})
}

func doTxn(t testing.TB, s *Store, r *pb.TxnRequest) (resp *pb.TxnResponse, err error) {
	t.Helper()
	apply(t, s, func(w *WriteTxn) { resp, err = w.Txn(r) })
	return resp, err
}

func mustTxn(t testing.TB, s *Store, r *pb.TxnRequest) *pb.TxnResponse {
	t.Helper()
	resp, err := doTxn(t, s, r)
	if err != nil {
		t.Fatalf("txn: %v", err)
	}
	return resp
}

func doCompact(t testing.TB, s *Store, rev int64) (err error) {
	t.Helper()
	apply(t, s, func(w *WriteTxn) { _, err = w.Compact(rev) })
	return err
}

func mustCompact(t testing.TB, s *Store, rev int64) {
	t.Helper()
	if err := doCompact(t, s, rev); err != nil {
		t.Fatalf("compact %d: %v", rev, err)
	}
}

func doGrant(t testing.TB, s *Store, id, ttl int64) (err error) {
	t.Helper()
	apply(t, s, func(w *WriteTxn) { _, err = w.LeaseGrant(id, ttl) })
	return err
}

func mustGrant(t testing.TB, s *Store, id, ttl int64) {
	t.Helper()
	if err := doGrant(t, s, id, ttl); err != nil {
		t.Fatalf("grant %d: %v", id, err)
	}
}

func doRevoke(t testing.TB, s *Store, id int64) (resp *pb.LeaseRevokeResponse, err error) {
	t.Helper()
	apply(t, s, func(w *WriteTxn) { resp, err = w.LeaseRevoke(id) })
	return resp, err
}

func mustRange(t testing.TB, s *Store, r *pb.RangeRequest) *pb.RangeResponse {
	t.Helper()
	resp, err := s.Range(r)
	if err != nil {
		t.Fatalf("range %q..%q@%d: %v", r.Key, r.RangeEnd, r.Revision, err)
	}
	return resp
}

// get returns the live value of key, or nil.
func get(t testing.TB, s *Store, key string) *mvccpb.KeyValue {
	t.Helper()
	resp := mustRange(t, s, &pb.RangeRequest{Key: []byte(key)})
	if len(resp.Kvs) == 0 {
		return nil
	}
	return resp.Kvs[0]
}

func getAt(t testing.TB, s *Store, key string, rev int64) *mvccpb.KeyValue {
	t.Helper()
	resp := mustRange(t, s, &pb.RangeRequest{Key: []byte(key), Revision: rev})
	if len(resp.Kvs) == 0 {
		return nil
	}
	return resp.Kvs[0]
}

func allKeys() *pb.RangeRequest {
	return &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}}
}

func keysOf(kvs []*mvccpb.KeyValue) string {
	ks := make([]string, len(kvs))
	for i, kv := range kvs {
		ks[i] = string(kv.Key)
	}
	return strings.Join(ks, ",")
}

// kvString renders a key-value with all its metadata.
func kvString(kv *mvccpb.KeyValue) string {
	if kv == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s=%q c%d m%d v%d l%d", kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease)
}

func kvsString(kvs []*mvccpb.KeyValue) string {
	out := make([]string, len(kvs))
	for i, kv := range kvs {
		out[i] = kvString(kv)
	}
	return "[" + strings.Join(out, " | ") + "]"
}

func eventString(ev *mvccpb.Event) string {
	s := fmt.Sprintf("%s %s@%d", ev.Type, ev.Kv.Key, ev.Kv.ModRevision)
	if ev.PrevKv != nil {
		s += fmt.Sprintf("(prev %q@%d)", ev.PrevKv.Value, ev.PrevKv.ModRevision)
	}
	return s
}

func eventsString(evs []*mvccpb.Event) string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = eventString(ev)
	}
	return strings.Join(out, ", ")
}

// records returns the kv bucket's records in revision order, rendered as
// "main.sub kind key".
func records(t testing.TB, s *Store) []string {
	t.Helper()
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKV).ForEach(func(k, v []byte) error {
			r, kind, kv, err := decodeRecord(k, v)
			if err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("%d.%d %c %s", r.main, r.sub, kind, kv.Key))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantErr(t testing.TB, got, want error) {
	t.Helper()
	if want == nil {
		if got != nil {
			t.Fatalf("unexpected error: %v", got)
		}
		return
	}
	if !errors.Is(got, want) {
		t.Fatalf("error %v, want %v", got, want)
	}
}

func wantRev(t testing.TB, s *Store, want int64) {
	t.Helper()
	if got := s.Rev(); got != want {
		t.Fatalf("store revision %d, want %d", got, want)
	}
}

// Request-op builders.

func putOp(key, value string) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte(key), Value: []byte(value)}}}
}

func putReqOp(r *pb.PutRequest) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: r}}
}

func delOp(key, end string) *pb.RequestOp {
	r := &pb.DeleteRangeRequest{Key: []byte(key)}
	if end != "" {
		r.RangeEnd = []byte(end)
	}
	return &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: r}}
}

func rangeOp(r *pb.RangeRequest) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: r}}
}

func getOp(key string) *pb.RequestOp {
	return rangeOp(&pb.RangeRequest{Key: []byte(key)})
}

func txnOp(r *pb.TxnRequest) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: r}}
}

func ops(o ...*pb.RequestOp) []*pb.RequestOp { return o }

// Compare builders.

func cmpVersion(key string, res pb.Compare_CompareResult, v int64) *pb.Compare {
	return &pb.Compare{Key: []byte(key), Target: pb.Compare_VERSION, Result: res, TargetUnion: &pb.Compare_Version{Version: v}}
}

func cmpCreate(key string, res pb.Compare_CompareResult, v int64) *pb.Compare {
	return &pb.Compare{Key: []byte(key), Target: pb.Compare_CREATE, Result: res, TargetUnion: &pb.Compare_CreateRevision{CreateRevision: v}}
}

func cmpMod(key string, res pb.Compare_CompareResult, v int64) *pb.Compare {
	return &pb.Compare{Key: []byte(key), Target: pb.Compare_MOD, Result: res, TargetUnion: &pb.Compare_ModRevision{ModRevision: v}}
}

func cmpValue(key string, res pb.Compare_CompareResult, v string) *pb.Compare {
	return &pb.Compare{Key: []byte(key), Target: pb.Compare_VALUE, Result: res, TargetUnion: &pb.Compare_Value{Value: []byte(v)}}
}

func cmpLease(key string, res pb.Compare_CompareResult, v int64) *pb.Compare {
	return &pb.Compare{Key: []byte(key), Target: pb.Compare_LEASE, Result: res, TargetUnion: &pb.Compare_Lease{Lease: v}}
}

func withEnd(c *pb.Compare, end string) *pb.Compare {
	c.RangeEnd = []byte(end)
	return c
}

func sameKVs(a, b []*mvccpb.KeyValue) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, _ := a[i].Marshal()
		y, _ := b[i].Marshal()
		if !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}
