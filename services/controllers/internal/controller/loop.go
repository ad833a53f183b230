package controller

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// SyncFunc brings the object key names ("namespace/name", or "name" when
// cluster-scoped) to its desired state. An error retries the key with
// back-off.
type SyncFunc func(ctx context.Context, key string) error

// DefaultMaxRetries is how many times a failing key is retried with
// back-off before it is dropped until its next event (Kubernetes' 15).
const DefaultMaxRetries = 15

// Loop is a controller's work queue and its workers.
type Loop struct {
	name    string
	queue   workqueue.TypedRateLimitingInterface[string]
	sync    SyncFunc
	workers int
	synced  []cache.InformerSynced
	metrics *Metrics
	log     *slog.Logger
	// MaxRetries bounds the retries of a failing key (DefaultMaxRetries;
	// negative: forever).
	MaxRetries int
}

// NewLoop returns the loop of controller name: workers call sync once
// every informer in synced has synced.
func NewLoop(c *Context, name string, sync SyncFunc, synced ...cache.InformerSynced) *Loop {
	q := workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: name, MetricsProvider: c.Metrics, Clock: c.Clock},
	)
	return &Loop{
		name: name, queue: q, sync: sync, workers: c.Options.Workers, synced: synced,
		metrics: c.Metrics, log: c.Log.With("controller", name), MaxRetries: DefaultMaxRetries,
	}
}

// SetWorkers sets how many keys are synced at once.
func (l *Loop) SetWorkers(n int) { l.workers = max(n, 1) }

// Name is the controller's name.
func (l *Loop) Name() string { return l.name }

// Log is the controller's logger.
func (l *Loop) Log() *slog.Logger { return l.log }

// Enqueue queues the key of obj (an object, or the
// cache.DeletedFinalStateUnknown of a deleted one).
func (l *Loop) Enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		l.log.Error("no key for object", "err", err)
		return
	}
	l.queue.Add(key)
}

// EnqueueKey queues key.
func (l *Loop) EnqueueKey(key string) { l.queue.Add(key) }

// EnqueueAfter queues key after d (a deadline to check again).
func (l *Loop) EnqueueAfter(key string, d time.Duration) { l.queue.AddAfter(key, d) }

// EnqueueRateLimited queues key after its back-off.
func (l *Loop) EnqueueRateLimited(key string) { l.queue.AddRateLimited(key) }

// Len is how many keys wait.
func (l *Loop) Len() int { return l.queue.Len() }

// Run waits for the caches, then syncs keys until ctx ends.
func (l *Loop) Run(ctx context.Context) error {
	defer l.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), l.synced...) {
		return ctx.Err()
	}
	l.log.Info("started", "workers", l.workers)
	var wg sync.WaitGroup
	for range l.workers {
		wg.Go(func() {
			for l.next(ctx) {
			}
		})
	}
	<-ctx.Done()
	l.queue.ShutDown()
	wg.Wait()
	return nil
}

func (l *Loop) next(ctx context.Context) bool {
	key, quit := l.queue.Get()
	if quit {
		return false
	}
	defer l.queue.Done(key)
	start := time.Now()
	err := l.safeSync(ctx, key)
	l.metrics.SyncDuration.WithLabelValues(l.name).Observe(time.Since(start).Seconds())
	if err == nil {
		l.metrics.Syncs.WithLabelValues(l.name, "success").Inc()
		l.queue.Forget(key)
		return true
	}
	l.metrics.Syncs.WithLabelValues(l.name, "error").Inc()
	if ctx.Err() != nil {
		return true
	}
	if l.MaxRetries < 0 || l.queue.NumRequeues(key) < l.MaxRetries {
		l.log.Debug("sync failed; retrying", "key", key, "err", err)
		l.queue.AddRateLimited(key)
		return true
	}
	l.log.Warn("sync failed; dropping the key until it changes again", "key", key, "err", err)
	l.queue.Forget(key)
	return true
}

// safeSync turns a panic in sync into an error, so one bad object does
// not take the whole process down.
func (l *Loop) safeSync(ctx context.Context, key string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("sync panicked", "key", key, "panic", r)
			err = fmt.Errorf("sync of %s panicked: %v", key, r)
		}
	}()
	return l.sync(ctx, key)
}

// SplitKey splits a queue key into namespace and name.
func SplitKey(key string) (namespace, name string) {
	ns, n, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return "", key
	}
	return ns, n
}
