package mvcc

import (
	"bytes"
	"cmp"
	"fmt"
	"hash/crc32"
	"sort"

	bolt "go.etcd.io/bbolt"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Range reads keys as of r.Revision (0 = the current revision).
func (s *Store) Range(r *pb.RangeRequest) (*pb.RangeResponse, error) {
	// Read the revision before the bbolt transaction starts, so the
	// transaction holds at least everything up to it.
	rev, compact := s.rev.Load(), s.compactRev.Load()
	var resp *pb.RangeResponse
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		resp, err = s.rangeTx(tx, r, rev, compact)
		return err
	})
	return resp, err
}

// rangeTx serves r inside tx, where cur is the newest revision tx can see.
func (s *Store) rangeTx(tx *bolt.Tx, r *pb.RangeRequest, cur, compact int64) (*pb.RangeResponse, error) {
	rev := r.Revision
	switch {
	case rev <= 0:
		rev = cur
	case rev > cur:
		return nil, ErrFutureRev
	case rev < compact:
		return nil, ErrCompacted
	}

	limit := r.Limit
	sortOrder := r.SortOrder
	if r.SortTarget != pb.RangeRequest_KEY && sortOrder == pb.RangeRequest_NONE {
		sortOrder = pb.RangeRequest_ASCEND
	} else if r.SortTarget == pb.RangeRequest_KEY && sortOrder == pb.RangeRequest_ASCEND {
		sortOrder = pb.RangeRequest_NONE
	}
	filtered := r.MinModRevision != 0 || r.MaxModRevision != 0 || r.MinCreateRevision != 0 || r.MaxCreateRevision != 0
	// As etcd: the limit is lifted for a requested sort order or a filter,
	// but not for the implicit ascending order of a non-key sort target.
	if r.SortOrder != pb.RangeRequest_NONE || filtered {
		limit = 0
	}

	var revs []revision
	s.idxMu.RLock()
	if rev < s.compactRev.Load() {
		// A compaction is being applied; its index changes are visible.
		s.idxMu.RUnlock()
		return nil, ErrCompacted
	}
	s.idx.ascend(r.Key, r.RangeEnd, func(ki *keyIndex) bool {
		if rv, ok := ki.at(rev); ok {
			revs = append(revs, rv)
		}
		return true
	})
	s.idxMu.RUnlock()

	resp := &pb.RangeResponse{Header: &pb.ResponseHeader{Revision: cur}, Count: int64(len(revs))}
	if r.CountOnly {
		return resp, nil
	}
	fetch := revs
	if limit > 0 && int64(len(fetch)) > limit {
		fetch = fetch[:limit+1]
	}
	// Copy the records into one buffer and decode them in place: one
	// allocation for all values instead of several per key.
	kvb := tx.Bucket(bucketKV)
	raws := make([][]byte, len(fetch))
	total := 0
	for i, rv := range fetch {
		v := kvb.Get(revKey(rv))
		if v == nil {
			if rev < s.compactRev.Load() {
				return nil, ErrCompacted
			}
			return nil, fmt.Errorf("%w: revision %d.%d missing", ErrCorrupt, rv.main, rv.sub)
		}
		raws[i] = v
		total += len(v)
	}
	arena := make([]byte, 0, total)
	structs := make([]mvccpb.KeyValue, len(fetch))
	kvs := make([]*mvccpb.KeyValue, 0, len(fetch))
	for i, v := range raws {
		start := len(arena)
		arena = append(arena, v...)
		rec := arena[start:len(arena):len(arena)]
		if len(rec) < 1 || rec[0] != kindPut {
			return nil, fmt.Errorf("%w: revision %d.%d is not a value", ErrCorrupt, fetch[i].main, fetch[i].sub)
		}
		kv := &structs[i]
		if err := decodeKV(kv, rec[1:]); err != nil {
			return nil, fmt.Errorf("%w: revision %d.%d: %v", ErrCorrupt, fetch[i].main, fetch[i].sub, err)
		}
		if !passes(r, kv) {
			continue
		}
		kvs = append(kvs, kv)
	}
	if sortOrder != pb.RangeRequest_NONE {
		sortKVs(kvs, r.SortTarget, sortOrder)
	}
	if r.Limit > 0 && int64(len(kvs)) > r.Limit {
		kvs = kvs[:r.Limit]
		resp.More = true
	}
	if r.KeysOnly { // only now: the sort may have been by value
		for _, kv := range kvs {
			kv.Value = nil
		}
	}
	resp.Kvs = kvs
	return resp, nil
}

func passes(r *pb.RangeRequest, kv *mvccpb.KeyValue) bool {
	return (r.MinModRevision == 0 || kv.ModRevision >= r.MinModRevision) &&
		(r.MaxModRevision == 0 || kv.ModRevision <= r.MaxModRevision) &&
		(r.MinCreateRevision == 0 || kv.CreateRevision >= r.MinCreateRevision) &&
		(r.MaxCreateRevision == 0 || kv.CreateRevision <= r.MaxCreateRevision)
}

func sortKVs(kvs []*mvccpb.KeyValue, target pb.RangeRequest_SortTarget, order pb.RangeRequest_SortOrder) {
	var by func(a, b *mvccpb.KeyValue) int
	switch target {
	case pb.RangeRequest_VERSION:
		by = func(a, b *mvccpb.KeyValue) int { return cmp.Compare(a.Version, b.Version) }
	case pb.RangeRequest_CREATE:
		by = func(a, b *mvccpb.KeyValue) int { return cmp.Compare(a.CreateRevision, b.CreateRevision) }
	case pb.RangeRequest_MOD:
		by = func(a, b *mvccpb.KeyValue) int { return cmp.Compare(a.ModRevision, b.ModRevision) }
	case pb.RangeRequest_VALUE:
		by = func(a, b *mvccpb.KeyValue) int { return bytes.Compare(a.Value, b.Value) }
	default:
		by = func(a, b *mvccpb.KeyValue) int { return bytes.Compare(a.Key, b.Key) }
	}
	if order == pb.RangeRequest_DESCEND {
		sort.SliceStable(kvs, func(i, j int) bool { return by(kvs[i], kvs[j]) > 0 })
		return
	}
	sort.SliceStable(kvs, func(i, j int) bool { return by(kvs[i], kvs[j]) < 0 })
}

func getKV(kvb *bolt.Bucket, rv revision) (*mvccpb.KeyValue, error) {
	v := kvb.Get(revKey(rv))
	if v == nil {
		return nil, fmt.Errorf("%w: revision %d.%d missing", ErrCorrupt, rv.main, rv.sub)
	}
	_, _, kv, err := decodeRecord(revKey(rv), v)
	return kv, err
}

// EventFilter selects the events a watcher wants.
type EventFilter struct {
	Key, End []byte
	PrevKV   bool
	NoPut    bool
	NoDelete bool
}

// Events returns the events of revisions [from, Rev()] matching f, at most
// about max of them (a revision's events are never split), and the revision
// to continue from. It fails with ErrCompacted if from is below the
// compaction revision.
func (s *Store) Events(from int64, f EventFilter, max int) ([]*mvccpb.Event, int64, error) {
	var evs []*mvccpb.Event
	next := from
	err := s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		cur, compact := getInt(meta, metaRev), getInt(meta, metaCompactRev)
		if from < compact {
			return ErrCompacted
		}
		next = cur + 1
		if from > cur {
			next = from
			return nil
		}
		kvb := tx.Bucket(bucketKV)
		c := kvb.Cursor()
		lastMain := int64(-1)
		for k, v := c.Seek(revKey(revision{main: from})); k != nil; k, v = c.Next() {
			// Decode in place first (v is valid inside the transaction) and
			// copy only the events this watcher wants.
			r, kind, kv, err := decodeRecordIn(k, v)
			if err != nil {
				return err
			}
			if r.main > cur {
				break
			}
			if len(evs) >= max && r.main != lastMain {
				next = r.main
				break
			}
			lastMain = r.main
			if !inRange(kv.Key, f.Key, f.End) {
				continue
			}
			if (kind == kindDelete && f.NoDelete) || (kind == kindPut && f.NoPut) {
				continue
			}
			if _, _, kv, err = decodeRecord(k, v); err != nil {
				return err
			}
			ev := &mvccpb.Event{Kv: kv}
			if kind == kindDelete {
				ev.Type = mvccpb.DELETE
			}
			if f.PrevKV {
				ev.PrevKv = s.prevKV(kvb, kv.Key, r)
			}
			evs = append(evs, ev)
		}
		return nil
	})
	return evs, next, err
}

func (s *Store) prevKV(kvb *bolt.Bucket, key []byte, r revision) *mvccpb.KeyValue {
	s.idxMu.RLock()
	ki := s.idx.get(key)
	var prev revision
	ok := false
	if ki != nil {
		prev, ok = ki.before(r)
	}
	s.idxMu.RUnlock()
	if !ok {
		return nil
	}
	kv, err := getKV(kvb, prev)
	if err != nil {
		return nil
	}
	return kv
}

// ReadTxn serves a txn that has no writes, at the current revision.
func (s *Store) ReadTxn(r *pb.TxnRequest) (*pb.TxnResponse, error) {
	rev, compact := s.rev.Load(), s.compactRev.Load()
	var resp *pb.TxnResponse
	err := s.view(func(tx *bolt.Tx) error {
		w := &WriteTxn{s: s, tx: tx, kv: tx.Bucket(bucketKV), rev: rev, compactRev: compact}
		var err error
		resp, err = w.Txn(r)
		if err == nil {
			err = w.err
		}
		return err
	})
	return resp, err
}

// HashKV hashes the key-value history up to rev (0 = current), for
// comparing members.
func (s *Store) HashKV(rev int64) (hash uint32, hashRev, compactRev int64, err error) {
	cur := s.rev.Load()
	if rev > cur {
		return 0, 0, 0, ErrFutureRev
	}
	if rev <= 0 {
		rev = cur
	}
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	err = s.view(func(tx *bolt.Tx) error {
		compactRev = getInt(tx.Bucket(bucketMeta), metaCompactRev)
		if rev < compactRev {
			return ErrCompacted
		}
		c := tx.Bucket(bucketKV).Cursor()
		end := revKey(revision{main: rev + 1})
		for k, v := c.First(); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
			h.Write(k)
			h.Write(v)
		}
		return nil
	})
	return h.Sum32(), rev, compactRev, err
}

// LeaseTTL returns a lease's granted TTL.
func (s *Store) LeaseTTL(id int64) (int64, bool) {
	s.idxMu.RLock()
	defer s.idxMu.RUnlock()
	l := s.leases[id]
	if l == nil {
		return 0, false
	}
	return l.ttl, true
}
