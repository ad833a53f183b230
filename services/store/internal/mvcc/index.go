package mvcc

import (
	"bytes"
	"unsafe"

	"github.com/google/btree"
)

// revision identifies one write: the main revision of its transaction and
// its position inside it.
type revision struct {
	main int64
	sub  int64
}

func (a revision) less(b revision) bool {
	return a.main < b.main || (a.main == b.main && a.sub < b.sub)
}

// keyRev is one entry of a key's history.
type keyRev struct {
	revision
	tombstone bool
}

// keyIndex is the history of one key, oldest first, plus the key's current
// create revision, version and lease (meaningful while it is live).
type keyIndex struct {
	key     []byte
	revs    []keyRev
	create  int64
	version int64
	lease   int64
}

func (ki *keyIndex) live() bool {
	return len(ki.revs) > 0 && !ki.revs[len(ki.revs)-1].tombstone
}

// at returns the revision holding the key's value as of main revision rev,
// and false if the key did not exist then.
func (ki *keyIndex) at(rev int64) (revision, bool) {
	for i := len(ki.revs) - 1; i >= 0; i-- {
		r := ki.revs[i]
		if r.main <= rev {
			if r.tombstone {
				return revision{}, false
			}
			return r.revision, true
		}
	}
	return revision{}, false
}

// before returns the live revision preceding r, for prev_kv of watch events.
func (ki *keyIndex) before(r revision) (revision, bool) {
	for i := len(ki.revs) - 1; i >= 0; i-- {
		if ki.revs[i].less(r) {
			if ki.revs[i].tombstone {
				return revision{}, false
			}
			return ki.revs[i].revision, true
		}
	}
	return revision{}, false
}

// compact drops the history at or below rev except the newest live entry,
// appending dropped revisions to removed. It reports whether the key has no
// history left.
func (ki *keyIndex) compact(rev int64, removed []revision) ([]revision, bool) {
	keep := -1
	for i := len(ki.revs) - 1; i >= 0; i-- {
		if ki.revs[i].main <= rev {
			keep = i
			break
		}
	}
	if keep < 0 {
		return removed, false
	}
	drop := keep
	if ki.revs[keep].tombstone {
		drop = keep + 1
	}
	for _, r := range ki.revs[:drop] {
		removed = append(removed, r.revision)
	}
	ki.revs = append(ki.revs[:0:0], ki.revs[drop:]...)
	return removed, len(ki.revs) == 0
}

func lessKeyIndex(a, b *keyIndex) bool { return bytes.Compare(a.key, b.key) < 0 }

// index maps keys to their history: a B-tree for ordered ranges and a hash
// map for the point lookups every write does. It is not safe for concurrent
// use; the Store guards it.
type index struct {
	tree  *btree.BTreeG[*keyIndex]
	byKey map[string]*keyIndex // keys alias keyIndex.key, which never changes
}

func newIndex() *index {
	return &index{tree: btree.NewG(32, lessKeyIndex), byKey: map[string]*keyIndex{}}
}

func (x *index) get(key []byte) *keyIndex {
	return x.byKey[string(key)] // no allocation for a lookup
}

func (x *index) getOrCreate(key []byte) *keyIndex {
	if ki := x.get(key); ki != nil {
		return ki
	}
	ki := &keyIndex{key: append([]byte(nil), key...)}
	x.tree.ReplaceOrInsert(ki)
	x.byKey[aliasString(ki.key)] = ki
	return ki
}

func (x *index) delete(ki *keyIndex) {
	x.tree.Delete(ki)
	delete(x.byKey, string(ki.key))
}

// aliasString views b as a string without copying; b must never change.
func aliasString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// ascend calls fn for every key in [key, end) in order; an empty end means
// the single key, and end "\x00" means every key at or above key.
func (x *index) ascend(key, end []byte, fn func(*keyIndex) bool) {
	if len(end) == 0 {
		if ki := x.get(key); ki != nil {
			fn(ki)
		}
		return
	}
	pivot := &keyIndex{key: key}
	if isOpenEnd(end) {
		x.tree.AscendGreaterOrEqual(pivot, fn)
		return
	}
	x.tree.AscendRange(pivot, &keyIndex{key: end}, fn)
}

func isOpenEnd(end []byte) bool { return len(end) == 1 && end[0] == 0 }

// inRange reports whether k lies in the range [key, end) as etcd defines it.
func inRange(k, key, end []byte) bool {
	if len(end) == 0 {
		return bytes.Equal(k, key)
	}
	if bytes.Compare(k, key) < 0 {
		return false
	}
	return isOpenEnd(end) || bytes.Compare(k, end) < 0
}
