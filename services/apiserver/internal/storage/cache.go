package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/btree"
	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// Event is one change seen by the cache.
type Event struct {
	Type watch.EventType // Added, Modified, Deleted or Bookmark
	Key  string
	// Obj is the object after the change; for Deleted the last state, with
	// the revision of the delete. Old is the state before, nil for Added.
	Obj, Old runtime.Object
	Rev      int64
	// InitialEventsEnd marks the bookmark that ends a watch's initial
	// events (sendInitialEvents).
	InitialEventsEnd bool
}

type entry struct {
	key string
	obj runtime.Object
}

func lessEntry(a, b entry) bool { return a.key < b.key }

// Cache mirrors one resource in memory: it lists the resource once, then
// follows one store watch, and serves consistent lists and any number of
// watches from memory, as kube-apiserver's watch cache does.
type Cache struct {
	store *Store
	log   *slog.Logger
	// HistorySize is how many events are kept for watches that resume at
	// an older resourceVersion.
	historySize int

	mu      sync.RWMutex
	ready   bool
	objs    *btree.BTreeG[entry]
	rev     int64
	history []Event // ring buffer, oldest first at histStart
	histLen int
	histPos int
	// oldest is the revision from which history is complete: a watch may
	// resume at any resourceVersion >= oldest.
	oldest   int64
	watchers map[*Watcher]struct{}
	advanced chan struct{} // closed and replaced whenever rev moves

	progress func(context.Context) error
}

// NewCache returns the cache of the store's resource; Run fills it.
func NewCache(store *Store, log *slog.Logger) *Cache {
	return &Cache{
		store:       store,
		log:         log.With("resource", store.res.String()),
		historySize: 10000,
		objs:        btree.NewG(32, lessEntry),
		history:     make([]Event, 10000),
		watchers:    map[*Watcher]struct{}{},
		advanced:    make(chan struct{}),
	}
}

// Run keeps the cache in step with the store until ctx ends.
func (c *Cache) Run(ctx context.Context) error {
	for {
		err := c.follow(ctx)
		if ctx.Err() != nil {
			c.terminateAll()
			return nil
		}
		c.log.Warn("watch cache restarts", "err", err)
		c.terminateAll()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// follow lists the resource, then applies the watch until it fails.
func (c *Cache) follow(ctx context.Context) error {
	rev, err := c.load(ctx)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	watcher := clientv3.NewWatcher(c.store.cli)
	defer watcher.Close()
	c.mu.Lock()
	c.progress = watcher.RequestProgress
	c.mu.Unlock()
	wch := watcher.Watch(wctx, c.store.res.StoragePrefix, clientv3.WithPrefix(),
		clientv3.WithRev(rev+1), clientv3.WithProgressNotify())
	ticker := time.NewTicker(10 * time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
			// Progress notifications move the revision of a quiet resource
			// forward and trigger bookmarks.
			_ = watcher.RequestProgress(wctx)
		case resp, ok := <-wch:
			if !ok {
				return errors.New("store watch closed")
			}
			if err := resp.Err(); err != nil {
				return fmt.Errorf("store watch: %w", err)
			}
			if resp.IsProgressNotify() {
				c.advance(resp.Header.Revision, true)
				continue
			}
			if err := c.apply(resp.Events); err != nil {
				return err
			}
		}
	}
}

// load replaces the cache's content with a fresh list.
func (c *Cache) load(ctx context.Context) (int64, error) {
	objs := btree.NewG(32, lessEntry)
	var rev int64
	start := ""
	for {
		page, err := c.store.ListPage(ctx, c.store.res.StoragePrefix, start, rev, 1000, nil)
		if err != nil {
			return 0, err
		}
		rev = page.Revision
		for _, obj := range page.Items {
			objs.ReplaceOrInsert(entry{key: keyOf(c.store, obj), obj: obj})
		}
		if page.Next == "" {
			break
		}
		start = page.Next
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.objs = objs
	c.rev = rev
	c.oldest = rev
	c.histLen, c.histPos = 0, 0
	c.ready = true
	c.store.Metrics.setObjects(c.store.gr.String(), objs.Len())
	c.broadcastLocked()
	return rev, nil
}

func keyOf(s *Store, obj runtime.Object) string {
	m, _ := metaOf(obj)
	return s.res.Key(m.GetNamespace(), m.GetName())
}

// apply turns store events into cache events and hands them to watchers.
func (c *Cache) apply(evs []*clientv3.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range evs {
		key := string(ev.Kv.Key)
		rev := ev.Kv.ModRevision
		old, had := c.objs.Get(entry{key: key})
		var e Event
		switch ev.Type {
		case clientv3.EventTypePut:
			obj, err := c.store.decodeKV(ev.Kv)
			if err != nil {
				c.log.Error("undecodable object in the store; skipped", "key", key, "err", err)
				continue
			}
			e = Event{Type: watch.Added, Key: key, Obj: obj, Rev: rev}
			if had {
				e.Type, e.Old = watch.Modified, old.obj
			}
			c.objs.ReplaceOrInsert(entry{key: key, obj: obj})
		case clientv3.EventTypeDelete:
			if !had {
				continue
			}
			rev = ev.Kv.ModRevision
			deleted := old.obj.DeepCopyObject()
			if err := setRV(deleted, rev); err != nil {
				return err
			}
			e = Event{Type: watch.Deleted, Key: key, Obj: deleted, Old: old.obj, Rev: rev}
			c.objs.Delete(entry{key: key})
		}
		c.record(e)
		c.dispatchLocked(e)
		c.rev = rev
	}
	c.store.Metrics.setObjects(c.store.gr.String(), c.objs.Len())
	c.broadcastLocked()
	return nil
}

// record appends e to the history ring.
func (c *Cache) record(e Event) {
	if c.histLen == c.historySize {
		// Overwrite the oldest; history is now complete only after it.
		c.oldest = c.history[c.histPos].Rev
		c.histLen--
	}
	c.history[c.histPos] = e
	c.histPos = (c.histPos + 1) % c.historySize
	c.histLen++
}

// advance moves the revision forward without events (a progress
// notification) and sends bookmarks.
func (c *Cache) advance(rev int64, bookmark bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev > c.rev {
		c.rev = rev
		c.broadcastLocked()
	}
	if bookmark {
		c.dispatchLocked(Event{Type: watch.Bookmark, Rev: c.rev})
	}
}

func (c *Cache) broadcastLocked() {
	close(c.advanced)
	c.advanced = make(chan struct{})
}

// Revision is the revision the cache has reached.
func (c *Cache) Revision() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rev
}

// WaitFor waits until the cache has seen revision rev.
func (c *Cache) WaitFor(ctx context.Context, rev int64) error {
	asked := false
	for {
		c.mu.RLock()
		ready, cur, ch, progress := c.ready, c.rev, c.advanced, c.progress
		c.mu.RUnlock()
		if ready && cur >= rev {
			return nil
		}
		if ready && !asked && progress != nil {
			// The resource may be quiet: ask the store to tell us we are
			// up to date.
			asked = true
			_ = progress(clientv3.WithRequireLeader(ctx))
		}
		select {
		case <-ctx.Done():
			return apierrors.NewTimeoutError(fmt.Sprintf("Too large resource version: %d, current: %d", rev, cur), 1)
		case <-ch:
		case <-time.After(200 * time.Millisecond):
			asked = false
		}
	}
}

// Consistent waits until the cache holds everything the store had when
// Consistent was called.
func (c *Cache) Consistent(ctx context.Context) error {
	rev, err := c.store.Revision(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return c.WaitFor(ctx, rev)
}

// Snapshot is a consistent view of the cache's objects.
type Snapshot struct {
	Items []runtime.Object
	Rev   int64
}

// List returns the objects under prefix (a storage key prefix) that keep
// accepts, in key order, starting after the key "after" when it is set.
// limit > 0 caps the count; more reports whether objects were left out.
func (c *Cache) List(prefix, after string, limit int, keep func(runtime.Object) bool) (items []runtime.Object, rev int64, more bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	start := prefix
	if after != "" && after > prefix {
		start = after + "\x00"
	}
	c.objs.AscendGreaterOrEqual(entry{key: start}, func(e entry) bool {
		if !strings.HasPrefix(e.key, prefix) {
			return false
		}
		if keep != nil && !keep(e.obj) {
			return true
		}
		if limit > 0 && len(items) == limit {
			more = true
			return false
		}
		items = append(items, e.obj)
		return true
	})
	return items, c.rev, more
}

// Get returns one object from the cache.
func (c *Cache) Get(key string) (runtime.Object, int64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.objs.Get(entry{key: key})
	return e.obj, c.rev, ok
}
