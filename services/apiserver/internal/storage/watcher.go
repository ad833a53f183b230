package storage

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// WatchOptions selects what a watch sees.
type WatchOptions struct {
	// Prefix is the storage key prefix (a namespace, or everything).
	Prefix string
	// Rev is the revision after which events are wanted. With Initial the
	// watch first gets the current objects as Added events.
	Rev     int64
	Initial bool
	// InitialEventsEnd asks for a bookmark after the initial events.
	InitialEventsEnd bool
	// Bookmarks asks for bookmark events.
	Bookmarks bool
	// Match filters objects (selectors); nil matches everything.
	Match func(runtime.Object) bool
}

// Watcher receives the events of one watch.
type Watcher struct {
	opts   WatchOptions
	ch     chan Event
	cache  *Cache
	once   sync.Once
	done   chan struct{}
	reason string
}

const watcherBuffer = 1024

func metaOf(obj runtime.Object) (metaObject, error) { return meta.Accessor(obj) }

type metaObject = interface {
	GetNamespace() string
	GetName() string
	GetResourceVersion() string
}

// Watch starts a watch. Events older than the cache's history fail with
// 410 Gone.
func (c *Cache) Watch(ctx context.Context, opts WatchOptions) (*Watcher, error) {
	if opts.Rev > 0 {
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := c.WaitFor(wctx, opts.Rev)
		cancel()
		if err != nil {
			return nil, err
		}
	} else if err := c.WaitFor(ctx, 1); err != nil {
		return nil, err
	}
	w := &Watcher{opts: opts, cache: c, done: make(chan struct{})}
	c.mu.Lock()
	defer c.mu.Unlock()
	var backlog []Event
	if opts.Initial || opts.Rev == 0 {
		c.objs.AscendGreaterOrEqual(entry{key: opts.Prefix}, func(e entry) bool {
			if !strings.HasPrefix(e.key, opts.Prefix) {
				return false
			}
			if opts.Match == nil || opts.Match(e.obj) {
				backlog = append(backlog, Event{Type: watch.Added, Key: e.key, Obj: e.obj, Rev: c.rev})
			}
			return true
		})
		if opts.InitialEventsEnd {
			backlog = append(backlog, Event{Type: watch.Bookmark, Rev: c.rev, InitialEventsEnd: true})
		}
	}
	if opts.Rev > 0 && !opts.Initial {
		if opts.Rev < c.oldest {
			return nil, apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", opts.Rev, c.oldest))
		}
		for i := 0; i < c.histLen; i++ {
			e := c.history[(c.histPos-c.histLen+i+c.historySize)%c.historySize]
			if e.Rev > opts.Rev {
				if fe, ok := w.filter(e); ok {
					backlog = append(backlog, fe)
				}
			}
		}
	}
	size := watcherBuffer
	if len(backlog) >= size {
		size = len(backlog) + watcherBuffer
	}
	w.ch = make(chan Event, size)
	for _, e := range backlog {
		w.ch <- e
	}
	c.watchers[w] = struct{}{}
	c.countWatchers()
	return w, nil
}

// Events delivers the watch's events; it is closed when the watch ends.
func (w *Watcher) Events() <-chan Event { return w.ch }

// Done is closed when the watch ends; Reason says why.
func (w *Watcher) Done() <-chan struct{} { return w.done }

// Stop ends the watch.
func (w *Watcher) Stop() {
	w.cache.mu.Lock()
	defer w.cache.mu.Unlock()
	w.stopLocked("stopped")
}

func (w *Watcher) stopLocked(reason string) {
	w.once.Do(func() {
		w.reason = reason
		delete(w.cache.watchers, w)
		w.cache.countWatchers()
		close(w.done)
		close(w.ch)
	})
}

// filter decides what a watcher sees of e: objects entering the selection
// appear as Added, leaving it as Deleted.
func (w *Watcher) filter(e Event) (Event, bool) {
	if e.Type == watch.Bookmark {
		return e, w.opts.Bookmarks
	}
	if !strings.HasPrefix(e.Key, w.opts.Prefix) {
		return e, false
	}
	if w.opts.Match == nil {
		return e, true
	}
	cur := e.Type != watch.Deleted && w.opts.Match(e.Obj)
	old := e.Old != nil && w.opts.Match(e.Old)
	switch {
	case e.Type == watch.Deleted:
		return e, old
	case cur && old:
		return e, true
	case cur:
		e.Type = watch.Added
		return e, true
	case old:
		// Left the selection: the last state the watcher may see is the
		// new one, as Kubernetes reports it.
		e.Type = watch.Deleted
		return e, true
	}
	return e, false
}

func (c *Cache) dispatchLocked(e Event) {
	for w := range c.watchers {
		fe, ok := w.filter(e)
		if !ok {
			continue
		}
		select {
		case w.ch <- fe:
		default:
			// A watcher that does not keep up is ended; its client
			// resumes from the last resourceVersion it saw.
			w.stopLocked("watcher too slow")
		}
	}
}

func (c *Cache) terminateAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ready = false
	for w := range c.watchers {
		w.stopLocked("watch cache restarted")
	}
}

func (c *Cache) countWatchers() {
	gvk := c.store.res.GVK()
	c.store.Metrics.setWatchers(gvk.Group, gvk.Version, gvk.Kind, len(c.watchers))
}
