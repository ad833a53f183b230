package client

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
)

// ListWatch lists and watches r in namespace ("" for all), with tweak
// (when set) adjusting the options of every call: label or field
// selectors.
func ListWatch[T Object, L runtime.Object](r *Resource[T, L], namespace string, tweak func(*metav1.ListOptions)) *cache.ListWatch {
	adjust := func(o metav1.ListOptions) metav1.ListOptions {
		if tweak != nil {
			tweak(&o)
		}
		return o
	}
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return r.List(ctx, namespace, adjust(o))
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return r.Watch(ctx, namespace, adjust(o))
		},
	}
}

// NewInformer returns a shared index informer of r in namespace ("" for
// all): client-go's list + watch + local cache, relisting when a watch
// can no longer resume (410), with a namespace index and the given extra
// indexers. resync > 0 replays the cache to the handlers that often.
func NewInformer[T Object, L runtime.Object](r *Resource[T, L], namespace string, resync time.Duration,
	indexers cache.Indexers, tweak func(*metav1.ListOptions)) cache.SharedIndexInformer {
	all := cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}
	for name, fn := range indexers {
		all[name] = fn
	}
	return cache.NewSharedIndexInformerWithOptions(ListWatch(r, namespace, tweak), r.New(), cache.SharedIndexInformerOptions{
		ResyncPeriod:      resync,
		Indexers:          all,
		ObjectDescription: r.GVR().String(),
	})
}

// Lister reads the cache of an informer of r as typed objects.
func Lister[T Object, L runtime.Object](r *Resource[T, L], informer cache.SharedIndexInformer) listers.ResourceIndexer[T] {
	return listers.New[T](informer.GetIndexer(), r.GVR().GroupResource())
}

// InformerFactory shares one informer per resource among the parts of a
// daemon, all over one client, watching one namespace (or all).
type InformerFactory struct {
	c         *Client
	namespace string
	resync    time.Duration

	mu        sync.Mutex
	informers map[schema.GroupVersionResource]cache.SharedIndexInformer
	started   map[schema.GroupVersionResource]bool
	wg        sync.WaitGroup
}

// NewInformerFactory returns a factory of informers over c, watching
// namespace ("" for all) with the given default resync period.
func NewInformerFactory(c *Client, namespace string, resync time.Duration) *InformerFactory {
	return &InformerFactory{
		c: c, namespace: namespace, resync: resync,
		informers: map[schema.GroupVersionResource]cache.SharedIndexInformer{},
		started:   map[schema.GroupVersionResource]bool{},
	}
}

// InformerFor returns the factory's informer of the resource newResource
// builds (client.Pods, client.Deployments...), creating it on first use.
// Informers created after Start run at the next Start.
func InformerFor[T Object, L runtime.Object](f *InformerFactory, newResource func(*Client) *Resource[T, L]) cache.SharedIndexInformer {
	r := newResource(f.c)
	f.mu.Lock()
	defer f.mu.Unlock()
	if inf, ok := f.informers[r.GVR()]; ok {
		return inf
	}
	inf := NewInformer(r, f.namespace, f.resync, nil, nil)
	f.informers[r.GVR()] = inf
	return inf
}

// Start runs every informer not yet running until ctx ends.
func (f *InformerFactory) Start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for gvr, inf := range f.informers {
		if f.started[gvr] {
			continue
		}
		f.started[gvr] = true
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			inf.RunWithContext(ctx)
		}()
	}
}

// WaitForCacheSync waits until every started informer has synced, or ctx
// ends; it reports whether all synced.
func (f *InformerFactory) WaitForCacheSync(ctx context.Context) bool {
	f.mu.Lock()
	var synced []cache.InformerSynced
	for gvr, inf := range f.informers {
		if f.started[gvr] {
			synced = append(synced, inf.HasSynced)
		}
	}
	f.mu.Unlock()
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}

// Wait returns when every informer started has stopped (after the context
// given to Start ends).
func (f *InformerFactory) Wait() { f.wg.Wait() }
