package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/lru"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// Name is the controller's name (--controllers, logs).
const Name = "garbagecollector"

// Queue names, as kube-controller-manager's (workqueue_* metrics).
const (
	deleteQueue = "garbage_collector_attempt_to_delete"
	orphanQueue = "garbage_collector_attempt_to_orphan"
	graphQueue  = "garbage_collector_graph_changes"
)

// absentCacheSize bounds how many owners known not to exist are
// remembered (Kubernetes' 500).
const absentCacheSize = 500

// ignored are the resources whose objects neither own nor depend
// (Kubernetes' DefaultIgnoredResources).
var ignored = map[schema.GroupResource]bool{{Resource: "events"}: true}

// GarbageCollector deletes objects whose owners are gone, and carries out
// foreground and orphan deletions.
type GarbageCollector struct {
	graph     *graph
	changes   workqueue.TypedInterface[*event]
	resources map[schema.GroupVersionKind]controller.Dynamic
	absent    *lru.Cache
	deleter   *controller.Loop
	orphaner  *controller.Loop
	synced    []cache.InformerSynced
	metrics   *metrics
	log       *slog.Logger
}

// New builds the garbage collector over every resource the API server
// serves, watched with the shared informers.
func New(c *controller.Context) (controller.Runnable, error) {
	m, err := newMetrics(c.Registerer)
	if err != nil {
		return nil, err
	}
	gc := &GarbageCollector{
		graph: newGraph(),
		changes: workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[*event]{
			Name: graphQueue, MetricsProvider: c.Metrics, Clock: c.Clock,
		}),
		resources: map[schema.GroupVersionKind]controller.Dynamic{},
		absent:    lru.New(absentCacheSize),
		metrics:   m,
	}
	for _, r := range controller.AllResources(c.Client) {
		gc.resources[r.GVK()] = r
		if ignored[r.GVR().GroupResource()] {
			continue
		}
		reg, err := r.Informer(c.Informers).AddEventHandler(gc.handler(r.GVK()))
		if err != nil {
			return nil, fmt.Errorf("%s handler: %w", r.GVR().Resource, err)
		}
		gc.synced = append(gc.synced, reg.HasSynced)
	}
	gc.deleter = controller.NewLoop(c, deleteQueue, gc.attemptToDelete, gc.synced...)
	gc.orphaner = controller.NewLoop(c, orphanQueue, gc.attemptToOrphan, gc.synced...)
	// Kubernetes retries garbage for as long as it takes.
	gc.deleter.MaxRetries, gc.orphaner.MaxRetries = -1, -1
	gc.log = c.Log.With("controller", Name)
	return gc, nil
}

// Run builds the graph from the informers' events and collects garbage
// until ctx ends.
func (gc *GarbageCollector) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		for gc.processGraphChange() {
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		gc.changes.ShutDown()
		return nil
	})
	g.Go(func() error { return gc.deleter.Run(ctx) })
	g.Go(func() error { return gc.orphaner.Run(ctx) })
	return g.Wait()
}

// handler turns informer events of one resource into graph changes.
func (gc *GarbageCollector) handler(gvk schema.GroupVersionKind) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if m, ok := obj.(client.Object); ok {
				gc.changes.Add(&event{typ: addEvent, gvk: gvk, obj: metaOf(m)})
			}
		},
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(client.Object)
			m, ok2 := cur.(client.Object)
			if !ok1 || !ok2 {
				return
			}
			prev := metaOf(o)
			gc.changes.Add(&event{typ: updateEvent, gvk: gvk, obj: metaOf(m), old: &prev})
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if m, ok := obj.(client.Object); ok {
				gc.changes.Add(&event{typ: deleteEvent, gvk: gvk, obj: metaOf(m)})
			}
		},
	}
}

// processGraphChange applies one change to the graph and queues the
// work it calls for; it returns false once the queue is shut down.
func (gc *GarbageCollector) processGraphChange() bool {
	ev, quit := gc.changes.Get()
	if quit {
		return false
	}
	defer gc.changes.Done(ev)
	out := gc.graph.process(ev)
	for _, ref := range out.absent {
		gc.absent.Add(ref, struct{}{})
	}
	for _, uid := range out.attemptToDelete {
		gc.deleter.EnqueueKey(string(uid))
	}
	for _, uid := range out.attemptToOrphan {
		gc.orphaner.EnqueueKey(string(uid))
	}
	gc.metrics.graphNodes.Set(float64(gc.graph.size()))
	return true
}

// enqueueVirtualDelete tells the graph that ref was found not to exist.
func (gc *GarbageCollector) enqueueVirtualDelete(ref objectRef) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		gc.log.Warn("bad apiVersion in a reference", "apiVersion", ref.APIVersion, "err", err)
		return
	}
	gc.changes.Add(&event{typ: deleteEvent, virtual: true, gvk: gv.WithKind(ref.Kind), obj: objectMeta{
		uid: ref.UID, name: ref.Name, namespace: ref.Namespace,
	}})
}

// errUnknownKind: a reference names a kind the API server does not serve
// (yet); it is retried with back-off, as Kubernetes does.
var errUnknownKind = errors.New("no served resource for kind")

// resourceFor is the served resource of apiVersion and kind.
func (gc *GarbageCollector) resourceFor(apiVersion, kind string) (controller.Dynamic, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, fmt.Errorf("%w: apiVersion %q: %v", errUnknownKind, apiVersion, err)
	}
	r, ok := gc.resources[gv.WithKind(kind)]
	if !ok {
		return nil, fmt.Errorf("%w %s, %s", errUnknownKind, apiVersion, kind)
	}
	return r, nil
}

func uidKey(key string) types.UID { return types.UID(key) }
