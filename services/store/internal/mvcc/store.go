package mvcc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Domain errors; the API layer maps them to etcd's gRPC errors.
var (
	ErrCompacted     = errors.New("mvcc: required revision has been compacted")
	ErrFutureRev     = errors.New("mvcc: required revision is a future revision")
	ErrLeaseNotFound = errors.New("lease not found")
	ErrLeaseExists   = errors.New("lease already exists")
	ErrKeyNotFound   = errors.New("key not found")
	ErrCorrupt       = errors.New("state database is corrupt")
)

var (
	bucketMeta    = []byte("meta")
	bucketKV      = []byte("kv")
	bucketLease   = []byte("lease")
	bucketMembers = []byte("members")

	metaAppliedIndex = []byte("applied_index")
	metaRev          = []byte("rev")
	metaCompactRev   = []byte("compact_rev")

	allBuckets = [][]byte{bucketMeta, bucketKV, bucketLease, bucketMembers}
)

const (
	kindPut    = 'p'
	kindDelete = 'd'
)

// Options tune how the store uses bbolt.
type Options struct {
	// Sync makes every commit fsync. Off by default: the raft log is the
	// durable record and the state is replayed from it after a crash.
	Sync bool
}

// Store is the MVCC key-value state. Reads are safe from any goroutine;
// writes go through Apply, from one goroutine at a time.
type Store struct {
	path string
	opts Options

	// dbMu guards the db handle: held shared by every read and write, and
	// exclusively only to swap the file in Restore.
	dbMu sync.RWMutex
	db   *bolt.DB

	// idxMu guards the index and the lease table.
	idxMu  sync.RWMutex
	idx    *index
	leases map[int64]*leaseState

	rev          atomic.Int64 // last committed revision, visible to readers
	compactRev   atomic.Int64
	appliedIndex atomic.Uint64

	notifyMu sync.Mutex
	notifyCh chan struct{}
}

type leaseState struct {
	ttl  int64
	keys map[string]struct{}
}

// Open opens the state database at path, creating it if create is set and
// the file does not exist. An existing file that is not a valid state
// database is an error, never re-initialised.
func Open(path string, create bool, opts Options) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		if !os.IsNotExist(err) || !create {
			return nil, fmt.Errorf("open state database %s: %w", path, err)
		}
	} else if err := checkStateFile(path); err != nil {
		return nil, fmt.Errorf("open state database %s: %w", path, err)
	}
	s := &Store{path: path, opts: opts, notifyCh: make(chan struct{})}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) open() error {
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoSync: !s.opts.Sync, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("open state database %s: %w", s.path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		// As etcd, an empty store is at revision 1; its first write gets 2.
		if meta := tx.Bucket(bucketMeta); meta.Get(metaRev) == nil {
			return putInt(meta, metaRev, 1)
		}
		return nil
	})
	if err == nil {
		err = s.load(db)
	}
	if err != nil {
		db.Close()
		return fmt.Errorf("load state database %s: %w", s.path, err)
	}
	s.db = db
	return nil
}

// load rebuilds the in-memory index and lease table from db.
func (s *Store) load(db *bolt.DB) error {
	idx := newIndex()
	leases := map[int64]*leaseState{}
	var rev, compact int64
	var applied uint64
	err := db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		rev = getInt(meta, metaRev)
		compact = getInt(meta, metaCompactRev)
		applied = uint64(getInt(meta, metaAppliedIndex))
		if err := tx.Bucket(bucketLease).ForEach(func(k, v []byte) error {
			if len(k) != 8 || len(v) != 8 {
				return fmt.Errorf("%w: bad lease record %x", ErrCorrupt, k)
			}
			leases[int64(binary.BigEndian.Uint64(k))] = &leaseState{ttl: int64(binary.BigEndian.Uint64(v)), keys: map[string]struct{}{}}
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketKV).ForEach(func(k, v []byte) error {
			r, kind, kv, err := decodeRecord(k, v)
			if err != nil {
				return err
			}
			ki := idx.getOrCreate(kv.Key)
			ki.revs = append(ki.revs, keyRev{revision: r, tombstone: kind == kindDelete})
			if kind == kindPut {
				ki.create, ki.version, ki.lease = kv.CreateRevision, kv.Version, kv.Lease
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	idx.tree.Ascend(func(ki *keyIndex) bool {
		if ki.live() && ki.lease != 0 {
			if l := leases[ki.lease]; l != nil {
				l.keys[string(ki.key)] = struct{}{}
			}
		}
		return true
	})
	s.idxMu.Lock()
	s.idx, s.leases = idx, leases
	s.idxMu.Unlock()
	s.rev.Store(rev)
	s.compactRev.Store(compact)
	s.appliedIndex.Store(applied)
	return nil
}

// Close closes the database after syncing it.
func (s *Store) Close() error {
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	if s.db == nil {
		return nil
	}
	err := s.db.Sync()
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	s.db = nil
	return err
}

// Sync flushes committed state to disk.
func (s *Store) Sync() error {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	if s.db == nil {
		return nil
	}
	return s.db.Sync()
}

// Rev returns the current revision.
func (s *Store) Rev() int64 { return s.rev.Load() }

// CompactRev returns the revision of the last compaction.
func (s *Store) CompactRev() int64 { return s.compactRev.Load() }

// AppliedIndex returns the raft index of the last applied entry.
func (s *Store) AppliedIndex() uint64 { return s.appliedIndex.Load() }

// Size returns the database file size and the bytes in use.
func (s *Store) Size() (size, inUse int64) {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	_ = s.db.View(func(tx *bolt.Tx) error {
		size = tx.Size()
		st := s.db.Stats()
		inUse = size - int64(st.FreePageN+st.PendingPageN)*int64(s.db.Info().PageSize)
		return nil
	})
	return size, inUse
}

// KeyCount returns the number of live keys.
func (s *Store) KeyCount() int {
	s.idxMu.RLock()
	defer s.idxMu.RUnlock()
	n := 0
	s.idx.tree.Ascend(func(ki *keyIndex) bool {
		if ki.live() {
			n++
		}
		return true
	})
	return n
}

// Changed returns a channel closed at the next commit.
func (s *Store) Changed() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return s.notifyCh
}

func (s *Store) notify() {
	s.notifyMu.Lock()
	close(s.notifyCh)
	s.notifyCh = make(chan struct{})
	s.notifyMu.Unlock()
}

// view runs fn in a read transaction on the current database.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	return s.db.View(fn)
}

// Apply runs fn in one write transaction, records index as the last applied
// raft index and commits. Readers see the new revision only after the commit.
func (s *Store) Apply(index uint64, fn func(w *WriteTxn)) error {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	var w *WriteTxn
	err := s.db.Update(func(tx *bolt.Tx) error {
		w = &WriteTxn{s: s, tx: tx, kv: tx.Bucket(bucketKV), rev: s.rev.Load(), compactRev: s.compactRev.Load()}
		fn(w)
		if w.err != nil {
			return w.err
		}
		meta := tx.Bucket(bucketMeta)
		if err := putInt(meta, metaRev, w.rev); err != nil {
			return err
		}
		if err := putInt(meta, metaCompactRev, w.compactRev); err != nil {
			return err
		}
		return putInt(meta, metaAppliedIndex, int64(index))
	})
	if err != nil {
		return err
	}
	s.appliedIndex.Store(index)
	s.compactRev.Store(w.compactRev)
	if w.rev != s.rev.Load() || w.compacted {
		s.rev.Store(w.rev)
		s.notify()
	}
	return nil
}

// Snapshot pins the current state and returns a function that writes it,
// so the caller can stream it while writes go on. release must be called.
func (s *Store) Snapshot() (applied uint64, size int64, write func(io.Writer) error, release func(), err error) {
	if err := s.Sync(); err != nil {
		return 0, 0, nil, nil, err
	}
	s.dbMu.RLock()
	tx, err := s.db.Begin(false)
	if err != nil {
		s.dbMu.RUnlock()
		return 0, 0, nil, nil, err
	}
	size = tx.Size()
	applied = uint64(getInt(tx.Bucket(bucketMeta), metaAppliedIndex))
	var once sync.Once
	release = func() {
		once.Do(func() {
			_ = tx.Rollback()
			s.dbMu.RUnlock()
		})
	}
	write = func(out io.Writer) error {
		_, err := tx.WriteTo(out)
		return err
	}
	return applied, size, write, release, nil
}

// Restore replaces the whole state with the database read from r.
func (s *Store) Restore(r io.Reader) error {
	tmp := s.path + ".restore"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = checkStateFile(tmp)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore state: %w", err)
	}
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	if err := s.swapIn(tmp); err != nil {
		return err
	}
	s.notify()
	return nil
}

// swapIn replaces the database file with tmp and reopens it; dbMu must be
// held exclusively.
func (s *Store) swapIn(tmp string) error {
	if err := s.db.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(s.path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return s.open()
}

// Defragment rewrites the database into a new file without its free pages
// and swaps it in, as etcd's defragment does. Reads and writes wait while it
// runs.
func (s *Store) Defragment() error {
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	tmp := s.path + ".defrag"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoSync: true, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("defragment: %w", err)
	}
	err = bolt.Compact(dst, s.db, 64<<20)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("defragment: %w", err)
	}
	return s.swapIn(tmp)
}

// checkStateFile verifies that path is a bbolt file with our buckets.
func checkStateFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		// A truncated file would fault (SIGBUS) on the first page read
		// past its end: check the size before touching any page.
		if tx.Size() > st.Size() {
			return fmt.Errorf("%w: file is %d bytes, its header says %d", ErrCorrupt, st.Size(), tx.Size())
		}
		for _, b := range allBuckets {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("%w: bucket %q missing", ErrCorrupt, b)
			}
		}
		return nil
	})
}

// Members returns the member records stored by SetMember.
func (s *Store) Members() (map[uint64]*pb.Member, error) {
	out := map[uint64]*pb.Member{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMembers).ForEach(func(k, v []byte) error {
			m := &pb.Member{}
			if err := m.Unmarshal(v); err != nil {
				return fmt.Errorf("%w: member %x: %v", ErrCorrupt, k, err)
			}
			out[binary.BigEndian.Uint64(k)] = m
			return nil
		})
	})
	return out, err
}

// Leases returns the granted leases and their TTLs.
func (s *Store) Leases() map[int64]int64 {
	s.idxMu.RLock()
	defer s.idxMu.RUnlock()
	out := make(map[int64]int64, len(s.leases))
	for id, l := range s.leases {
		out[id] = l.ttl
	}
	return out
}

// Lease returns a lease's TTL and attached keys.
func (s *Store) Lease(id int64) (ttl int64, keys [][]byte, err error) {
	s.idxMu.RLock()
	defer s.idxMu.RUnlock()
	l := s.leases[id]
	if l == nil {
		return 0, nil, ErrLeaseNotFound
	}
	for k := range l.keys {
		keys = append(keys, []byte(k))
	}
	sortKeys(keys)
	return l.ttl, keys, nil
}

func revKey(r revision) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(r.main))
	binary.BigEndian.PutUint64(b[8:], uint64(r.sub))
	return b
}

// decodeRecord parses a kv bucket entry. The returned KeyValue does not
// alias v, which is only valid inside its bbolt transaction.
func decodeRecord(k, v []byte) (revision, byte, *mvccpb.KeyValue, error) {
	return decodeRecordIn(k, append([]byte(nil), v...))
}

// decodeRecordIn parses a kv bucket entry whose value the caller owns; the
// KeyValue aliases it.
func decodeRecordIn(k, v []byte) (revision, byte, *mvccpb.KeyValue, error) {
	if len(k) != 16 || len(v) < 1 || (v[0] != kindPut && v[0] != kindDelete) {
		return revision{}, 0, nil, fmt.Errorf("%w: bad kv record %x", ErrCorrupt, k)
	}
	r := revision{main: int64(binary.BigEndian.Uint64(k)), sub: int64(binary.BigEndian.Uint64(k[8:]))}
	kv := &mvccpb.KeyValue{}
	if err := decodeKV(kv, v[1:]); err != nil {
		return revision{}, 0, nil, fmt.Errorf("%w: kv record %x: %v", ErrCorrupt, k, err)
	}
	return r, v[0], kv, nil
}

func encodeRecord(kind byte, kv *mvccpb.KeyValue) []byte {
	b := make([]byte, 1+kv.Size())
	b[0] = kind
	if _, err := kv.MarshalTo(b[1:]); err != nil {
		panic(err) // a sized buffer cannot be too small
	}
	return b
}

func getInt(b *bolt.Bucket, k []byte) int64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func putInt(b *bolt.Bucket, k []byte, v int64) error {
	buf := make([]byte, 8)
	binary.BigEndian.PutUint64(buf, uint64(v))
	return b.Put(k, buf)
}

func sortKeys(keys [][]byte) {
	slices.SortFunc(keys, bytes.Compare)
}
