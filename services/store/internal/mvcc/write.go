package mvcc

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// WriteTxn applies requests inside one bbolt transaction (one raft batch).
// Each request that writes takes the next main revision. A request that
// fails returns its error and changes nothing; a storage failure is kept in
// err and aborts the whole transaction.
type WriteTxn struct {
	s          *Store
	tx         *bolt.Tx
	kv         *bolt.Bucket
	rev        int64 // revision of the last finished write request
	sub        int64 // writes so far in the open request (revision rev+1)
	compactRev int64
	compacted  bool
	err        error
}

func (w *WriteTxn) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// Rev is the newest revision visible inside this transaction.
func (w *WriteTxn) Rev() int64 {
	if w.sub > 0 {
		return w.rev + 1
	}
	return w.rev
}

func (w *WriteTxn) next() revision {
	r := revision{main: w.rev + 1, sub: w.sub}
	w.sub++
	return r
}

// end closes the open request; it took a revision if it wrote anything.
func (w *WriteTxn) end() {
	if w.sub > 0 {
		w.rev++
		w.sub = 0
	}
}

func (w *WriteTxn) header() *pb.ResponseHeader { return &pb.ResponseHeader{Revision: w.Rev()} }

// Put writes one key.
func (w *WriteTxn) Put(r *pb.PutRequest) (*pb.PutResponse, error) {
	if err := w.checkPut(r); err != nil {
		return nil, err
	}
	resp := w.put(r)
	w.end()
	resp.Header = w.header()
	return resp, nil
}

// DeleteRange deletes the live keys in a range.
func (w *WriteTxn) DeleteRange(r *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	resp := w.deleteRange(r)
	w.end()
	resp.Header = w.header()
	return resp, nil
}

// Range reads inside the transaction, seeing its own writes.
func (w *WriteTxn) Range(r *pb.RangeRequest) (*pb.RangeResponse, error) {
	return w.s.rangeTx(w.tx, r, w.Rev(), w.compactRev)
}

// Txn evaluates the compares and runs one branch as a single revision.
// As in etcd, the compares of nested txns on the taken path are evaluated
// up front, against the state before the txn, and only ops on that path are
// validated.
func (w *WriteTxn) Txn(r *pb.TxnRequest) (*pb.TxnResponse, error) {
	p := w.path(r)
	if err := w.checkPath(r, p); err != nil {
		return nil, err
	}
	resp := w.txn(r, p)
	w.end()
	resp.Header = w.header()
	return resp, nil
}

// txnPath is the outcome of a txn's compares and of those of the nested
// txns in the branch it takes, in op order.
type txnPath struct {
	ok     bool
	nested []*txnPath
}

func branch(r *pb.TxnRequest, ok bool) []*pb.RequestOp {
	if ok {
		return r.Success
	}
	return r.Failure
}

func (w *WriteTxn) path(r *pb.TxnRequest) *txnPath {
	p := &txnPath{ok: w.compares(r.Compare)}
	for _, op := range branch(r, p.ok) {
		if t, ok := op.Request.(*pb.RequestOp_RequestTxn); ok {
			p.nested = append(p.nested, w.path(t.RequestTxn))
		}
	}
	return p
}

func (w *WriteTxn) txn(r *pb.TxnRequest, p *txnPath) *pb.TxnResponse {
	ops := branch(r, p.ok)
	resp := &pb.TxnResponse{Succeeded: p.ok, Responses: make([]*pb.ResponseOp, 0, len(ops))}
	nested := 0
	for _, op := range ops {
		var ro *pb.ResponseOp
		switch req := op.Request.(type) {
		case *pb.RequestOp_RequestRange:
			rr, err := w.Range(req.RequestRange)
			if err != nil {
				// checkPath validated the revision; a failure here is storage.
				w.fail(err)
				rr = &pb.RangeResponse{}
			}
			ro = &pb.ResponseOp{Response: &pb.ResponseOp_ResponseRange{ResponseRange: rr}}
		case *pb.RequestOp_RequestPut:
			pr := w.put(req.RequestPut)
			pr.Header = &pb.ResponseHeader{Revision: w.Rev()}
			ro = &pb.ResponseOp{Response: &pb.ResponseOp_ResponsePut{ResponsePut: pr}}
		case *pb.RequestOp_RequestDeleteRange:
			dr := w.deleteRange(req.RequestDeleteRange)
			dr.Header = &pb.ResponseHeader{Revision: w.Rev()}
			ro = &pb.ResponseOp{Response: &pb.ResponseOp_ResponseDeleteRange{ResponseDeleteRange: dr}}
		case *pb.RequestOp_RequestTxn:
			tr := w.txn(req.RequestTxn, p.nested[nested])
			tr.Header = &pb.ResponseHeader{}
			nested++
			ro = &pb.ResponseOp{Response: &pb.ResponseOp_ResponseTxn{ResponseTxn: tr}}
		default:
			ro = &pb.ResponseOp{}
		}
		resp.Responses = append(resp.Responses, ro)
	}
	return resp
}

// checkPath verifies that the ops on the taken path can run, so a txn
// either applies whole or not at all.
func (w *WriteTxn) checkPath(r *pb.TxnRequest, p *txnPath) error {
	nested := 0
	for _, op := range branch(r, p.ok) {
		switch req := op.Request.(type) {
		case *pb.RequestOp_RequestRange:
			rev := req.RequestRange.Revision
			if rev > w.Rev() {
				return ErrFutureRev
			}
			if rev > 0 && rev < w.compactRev {
				return ErrCompacted
			}
		case *pb.RequestOp_RequestPut:
			if err := w.checkPut(req.RequestPut); err != nil {
				return err
			}
		case *pb.RequestOp_RequestTxn:
			if err := w.checkPath(req.RequestTxn, p.nested[nested]); err != nil {
				return err
			}
			nested++
		}
	}
	return nil
}

func (w *WriteTxn) checkPut(r *pb.PutRequest) error {
	if r.Lease != 0 && !r.IgnoreLease {
		w.s.idxMu.RLock()
		_, ok := w.s.leases[r.Lease]
		w.s.idxMu.RUnlock()
		if !ok {
			return fmt.Errorf("%w: %x", ErrLeaseNotFound, r.Lease)
		}
	}
	if r.IgnoreValue || r.IgnoreLease {
		w.s.idxMu.RLock()
		ki := w.s.idx.get(r.Key)
		live := ki != nil && ki.live()
		w.s.idxMu.RUnlock()
		if !live {
			return fmt.Errorf("%w: %q", ErrKeyNotFound, r.Key)
		}
	}
	return nil
}

func (w *WriteTxn) compares(cs []*pb.Compare) bool {
	for _, c := range cs {
		if !w.compare(c) {
			return false
		}
	}
	return true
}

func (w *WriteTxn) compare(c *pb.Compare) bool {
	end := c.RangeEnd
	rr, err := w.Range(&pb.RangeRequest{Key: c.Key, RangeEnd: end})
	if err != nil {
		return false
	}
	if len(rr.Kvs) == 0 {
		if c.Target == pb.Compare_VALUE {
			return false
		}
		return compareKV(c, &mvccpb.KeyValue{})
	}
	for _, kv := range rr.Kvs {
		if !compareKV(c, kv) {
			return false
		}
	}
	return true
}

func compareKV(c *pb.Compare, kv *mvccpb.KeyValue) bool {
	var r int
	switch c.Target {
	case pb.Compare_VALUE:
		r = bytes.Compare(kv.Value, c.GetValue())
	case pb.Compare_CREATE:
		r = cmp.Compare(kv.CreateRevision, c.GetCreateRevision())
	case pb.Compare_MOD:
		r = cmp.Compare(kv.ModRevision, c.GetModRevision())
	case pb.Compare_VERSION:
		r = cmp.Compare(kv.Version, c.GetVersion())
	case pb.Compare_LEASE:
		r = cmp.Compare(kv.Lease, c.GetLease())
	}
	switch c.Result {
	case pb.Compare_EQUAL:
		return r == 0
	case pb.Compare_NOT_EQUAL:
		return r != 0
	case pb.Compare_GREATER:
		return r > 0
	case pb.Compare_LESS:
		return r < 0
	}
	return true // etcd treats an unknown result as satisfied
}

// current returns the live value of a key, or nil.
func (w *WriteTxn) current(ki *keyIndex) *mvccpb.KeyValue {
	if ki == nil || !ki.live() {
		return nil
	}
	kv, err := getKV(w.kv, ki.revs[len(ki.revs)-1].revision)
	if err != nil {
		w.fail(err)
		return nil
	}
	return kv
}

func (w *WriteTxn) put(r *pb.PutRequest) *pb.PutResponse {
	s := w.s
	s.idxMu.RLock()
	ki := s.idx.get(r.Key)
	s.idxMu.RUnlock()
	var prev *mvccpb.KeyValue
	if r.PrevKv || r.IgnoreValue || r.IgnoreLease {
		prev = w.current(ki)
	}
	value, lease := r.Value, r.Lease
	if r.IgnoreValue && prev != nil {
		value = prev.Value
	}
	if r.IgnoreLease && prev != nil {
		lease = prev.Lease
	}
	rv := w.next()
	kv := &mvccpb.KeyValue{Key: r.Key, CreateRevision: rv.main, ModRevision: rv.main, Version: 1, Value: value, Lease: lease}
	oldLease := int64(0)
	if ki != nil && ki.live() {
		kv.CreateRevision, kv.Version = ki.create, ki.version+1
		oldLease = ki.lease
	}
	if err := w.kv.Put(revKey(rv), encodeRecord(kindPut, kv)); err != nil {
		w.fail(err)
	}
	s.idxMu.Lock()
	ki = s.idx.getOrCreate(r.Key)
	ki.revs = append(ki.revs, keyRev{revision: rv})
	ki.create, ki.version, ki.lease = kv.CreateRevision, kv.Version, lease
	if oldLease != lease {
		s.detach(oldLease, r.Key)
		if l := s.leases[lease]; l != nil {
			l.keys[string(r.Key)] = struct{}{}
		}
	}
	s.idxMu.Unlock()
	resp := &pb.PutResponse{}
	if r.PrevKv {
		resp.PrevKv = prev
	}
	return resp
}

// detach removes key from a lease's key set; idxMu must be held.
func (s *Store) detach(lease int64, key []byte) {
	if l := s.leases[lease]; l != nil {
		delete(l.keys, string(key))
	}
}

func (w *WriteTxn) deleteRange(r *pb.DeleteRangeRequest) *pb.DeleteRangeResponse {
	s := w.s
	rev := w.Rev()
	var victims []*keyIndex
	s.idxMu.RLock()
	s.idx.ascend(r.Key, r.RangeEnd, func(ki *keyIndex) bool {
		if _, ok := ki.at(rev); ok {
			victims = append(victims, ki)
		}
		return true
	})
	s.idxMu.RUnlock()
	resp := &pb.DeleteRangeResponse{Deleted: int64(len(victims))}
	for _, ki := range victims {
		w.deleteKey(ki, r.PrevKv, resp)
	}
	return resp
}

func (w *WriteTxn) deleteKey(ki *keyIndex, withPrev bool, resp *pb.DeleteRangeResponse) {
	s := w.s
	if withPrev && resp != nil {
		if prev := w.current(ki); prev != nil {
			resp.PrevKvs = append(resp.PrevKvs, prev)
		}
	}
	rv := w.next()
	tomb := &mvccpb.KeyValue{Key: ki.key, ModRevision: rv.main}
	if err := w.kv.Put(revKey(rv), encodeRecord(kindDelete, tomb)); err != nil {
		w.fail(err)
	}
	s.idxMu.Lock()
	ki.revs = append(ki.revs, keyRev{revision: rv, tombstone: true})
	s.detach(ki.lease, ki.key)
	ki.create, ki.version, ki.lease = 0, 0, 0
	s.idxMu.Unlock()
}

// Compact discards history below rev.
func (w *WriteTxn) Compact(rev int64) (*pb.CompactionResponse, error) {
	if rev > w.Rev() {
		return nil, ErrFutureRev
	}
	if rev <= w.compactRev {
		return nil, ErrCompacted
	}
	s := w.s
	var removed []revision
	var empty []*keyIndex
	s.idxMu.Lock()
	// Readers check the compaction revision under the index lock, so they
	// never see the index half compacted at a revision they may still read.
	s.compactRev.Store(rev)
	s.idx.tree.Ascend(func(ki *keyIndex) bool {
		var gone bool
		removed, gone = ki.compact(rev, removed)
		if gone {
			empty = append(empty, ki)
		}
		return true
	})
	for _, ki := range empty {
		s.idx.delete(ki)
	}
	s.idxMu.Unlock()
	sort.Slice(removed, func(i, j int) bool { return removed[i].less(removed[j]) })
	for _, r := range removed {
		if err := w.kv.Delete(revKey(r)); err != nil {
			w.fail(err)
			break
		}
	}
	w.compactRev = rev
	w.compacted = true
	return &pb.CompactionResponse{Header: w.header()}, nil
}

// LeaseGrant creates a lease.
func (w *WriteTxn) LeaseGrant(id, ttl int64) (*pb.LeaseGrantResponse, error) {
	s := w.s
	s.idxMu.Lock()
	if _, ok := s.leases[id]; ok {
		s.idxMu.Unlock()
		return nil, fmt.Errorf("%w: %x", ErrLeaseExists, id)
	}
	s.leases[id] = &leaseState{ttl: ttl, keys: map[string]struct{}{}}
	s.idxMu.Unlock()
	if err := w.tx.Bucket(bucketLease).Put(int64Key(id), int64Key(ttl)); err != nil {
		w.fail(err)
	}
	return &pb.LeaseGrantResponse{Header: w.header(), ID: id, TTL: ttl}, nil
}

// LeaseRevoke deletes a lease and, as one revision, every key attached to it.
func (w *WriteTxn) LeaseRevoke(id int64) (*pb.LeaseRevokeResponse, error) {
	s := w.s
	s.idxMu.Lock()
	l := s.leases[id]
	if l == nil {
		s.idxMu.Unlock()
		return nil, fmt.Errorf("%w: %x", ErrLeaseNotFound, id)
	}
	keys := make([][]byte, 0, len(l.keys))
	for k := range l.keys {
		keys = append(keys, []byte(k))
	}
	delete(s.leases, id)
	s.idxMu.Unlock()
	sortKeys(keys)
	for _, k := range keys {
		s.idxMu.RLock()
		ki := s.idx.get(k)
		s.idxMu.RUnlock()
		if ki != nil && ki.live() {
			w.deleteKey(ki, false, nil)
		}
	}
	w.end()
	if err := w.tx.Bucket(bucketLease).Delete(int64Key(id)); err != nil {
		w.fail(err)
	}
	return &pb.LeaseRevokeResponse{Header: w.header()}, nil
}

// SetMember records a member's attributes.
func (w *WriteTxn) SetMember(m *pb.Member) {
	b, err := m.Marshal()
	if err == nil {
		k := make([]byte, 8)
		binary.BigEndian.PutUint64(k, m.ID)
		err = w.tx.Bucket(bucketMembers).Put(k, b)
	}
	if err != nil {
		w.fail(err)
	}
}

// DeleteMember forgets a member's attributes.
func (w *WriteTxn) DeleteMember(id uint64) {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, id)
	if err := w.tx.Bucket(bucketMembers).Delete(k); err != nil {
		w.fail(err)
	}
}

func int64Key(v int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(v))
	return b
}
