package endpoints

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
	"github.com/gantry-dev/gantry/services/controllers/internal/endpointutil"
)

// Name is the controller's name (--controllers) and its work queue's.
const Name = "endpoint"

// component reports the controller's events, as Kubernetes names it.
const component = "endpoint-controller"

// leaderAnnotation marks Endpoints used as leader election locks by old
// clients: they have no service and must stay.
const leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"

var endpointsGVK = corev1.SchemeGroupVersion.WithKind("Endpoints")

// Controller keeps the Endpoints of services with a selector.
type Controller struct {
	endpoints *client.Resource[*corev1.Endpoints, *corev1.EndpointsList]
	services  listers.ResourceIndexer[*corev1.Service]
	pods      listers.ResourceIndexer[*corev1.Pod]
	cached    listers.ResourceIndexer[*corev1.Endpoints]
	synced    []cache.InformerSynced

	loop     *controller.Loop
	triggers *endpointutil.TriggerTimeTracker
	stale    *staleVersions
	recorder *client.EventRecorder
	log      *slog.Logger
}

// New builds the Endpoints controller on c's shared informers.
func New(c *controller.Context) (controller.Runnable, error) {
	svcInf := client.InformerFor(c.Informers, client.Services)
	podInf := client.InformerFor(c.Informers, client.Pods)
	epInf := client.InformerFor(c.Informers, client.Endpoints)
	ctl := &Controller{
		endpoints: client.Endpoints(c.Client),
		services:  client.Lister(client.Services(c.Client), svcInf),
		pods:      client.Lister(client.Pods(c.Client), podInf),
		cached:    client.Lister(client.Endpoints(c.Client), epInf),
		synced:    []cache.InformerSynced{svcInf.HasSynced, podInf.HasSynced, epInf.HasSynced},
		triggers:  endpointutil.NewTriggerTimeTracker(),
		stale:     &staleVersions{m: map[string]string{}},
		recorder:  c.Recorder(component),
	}
	ctl.loop = controller.NewLoop(c, Name, ctl.sync, ctl.synced...)
	ctl.log = ctl.loop.Log()
	if _, err := svcInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    ctl.loop.Enqueue,
		UpdateFunc: func(_, cur any) { ctl.loop.Enqueue(cur) },
		DeleteFunc: ctl.loop.Enqueue,
	}); err != nil {
		return nil, err
	}
	if _, err := podInf.AddEventHandler(endpointutil.PodHandler(ctl.services, ctl.loop.EnqueueKey, ctl.log)); err != nil {
		return nil, err
	}
	// An Endpoints deleted under a service is written again.
	if _, err := epInf.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: ctl.loop.Enqueue}); err != nil {
		return nil, err
	}
	return ctl, nil
}

// Run syncs services until ctx ends; once the caches have synced it
// queues every Endpoints, so that those whose service went while the
// controller was not running are deleted.
func (c *Controller) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() {
		if cache.WaitForCacheSync(ctx.Done(), c.synced...) {
			c.queueLeftovers()
		}
	})
	defer wg.Wait()
	return c.loop.Run(ctx)
}

func (c *Controller) queueLeftovers() {
	all, err := c.cached.List(labels.Everything())
	if err != nil {
		c.log.Error("list endpoints from the cache; orphaned endpoints stay", "err", err)
		return
	}
	for _, ep := range all {
		if _, ok := ep.Annotations[leaderAnnotation]; ok {
			continue
		}
		c.loop.Enqueue(ep)
	}
}

// sync brings the Endpoints of the service key names up to date.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name := controller.SplitKey(key)
	if endpointutil.IsAPIServerService(ns, name) {
		return nil // the API servers' own
	}
	svc, err := listers.NewNamespaced(c.services, ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.triggers.Forget(ns, name)
		c.stale.forget(key)
		return c.deleteOrphan(ctx, ns, name)
	}
	if err != nil {
		return fmt.Errorf("service %s from the cache: %w", key, err)
	}
	if !endpointutil.HasSelector(svc) {
		return nil // its Endpoints are its users'
	}
	pods, err := listers.NewNamespaced(c.pods, ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return fmt.Errorf("pods of service %s from the cache: %w", key, err)
	}
	// Computed on every sync, so that the tracker follows the pods even
	// when nothing is written.
	triggerTime := c.triggers.Compute(svc, pods)

	current, err := listers.NewNamespaced(c.cached, ns).Get(name)
	switch {
	case apierrors.IsNotFound(err):
		current = nil
	case err != nil:
		return fmt.Errorf("endpoints %s from the cache: %w", key, err)
	case c.stale.is(key, current.ResourceVersion):
		return fmt.Errorf("endpoints informer cache is out of date: version %s of %s already replaced", current.ResourceVersion, key)
	}
	next, changed := desired(svc, current, pods, triggerTime)
	if !changed {
		return nil
	}
	return c.write(ctx, svc, current, next)
}

func (c *Controller) write(ctx context.Context, svc *corev1.Service, current, next *corev1.Endpoints) error {
	key := svc.Namespace + "/" + svc.Name
	if current == nil {
		_, err := c.endpoints.Create(ctx, next, metav1.CreateOptions{})
		if err == nil {
			c.log.Debug("created endpoints", "service", key, "subsets", len(next.Subsets))
			return nil
		}
		if endpointutil.NamespaceTerminating(err) {
			return nil // creates will keep failing; the namespace is going
		}
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create endpoints %s: not in the cache yet: %w", key, err)
		}
		c.recorder.Event(controller.Ref(next, endpointsGVK), corev1.EventTypeWarning, "FailedToCreateEndpoint",
			fmt.Sprintf("Failed to create endpoint for service %s: %v", key, err))
		return fmt.Errorf("create endpoints %s: %w", key, err)
	}
	updated, err := c.endpoints.Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		if !apierrors.IsConflict(err) {
			c.recorder.Event(controller.Ref(next, endpointsGVK), corev1.EventTypeWarning, "FailedToUpdateEndpoint",
				fmt.Sprintf("Failed to update endpoint %s: %v", key, err))
		}
		return fmt.Errorf("update endpoints %s: %w", key, err)
	}
	if updated.ResourceVersion != current.ResourceVersion {
		c.stale.mark(key, current.ResourceVersion)
	}
	c.log.Debug("updated endpoints", "service", key, "subsets", len(next.Subsets))
	return nil
}

// deleteOrphan deletes the Endpoints of a service that is gone, if there
// is one (leader election locks excepted).
func (c *Controller) deleteOrphan(ctx context.Context, ns, name string) error {
	cur, err := listers.NewNamespaced(c.cached, ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("endpoints %s/%s from the cache: %w", ns, name, err)
	}
	if _, ok := cur.Annotations[leaderAnnotation]; ok {
		return nil
	}
	err = c.endpoints.Delete(ctx, ns, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cur.UID}})
	switch {
	case err == nil:
		c.log.Debug("deleted endpoints of a deleted service", "service", ns+"/"+name)
		return nil
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		return errors.Join(fmt.Errorf("delete endpoints %s/%s: replaced meanwhile", ns, name), err)
	}
	return fmt.Errorf("delete endpoints %s/%s: %w", ns, name, err)
}

// staleVersions remembers, per service, the resourceVersion of its
// Endpoints this controller last replaced: a cache still holding that
// version has not seen the update yet, and acting on it would undo it or
// conflict.
type staleVersions struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *staleVersions) mark(key, rv string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = rv
}

func (s *staleVersions) is(key, rv string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.m[key]
	if !ok {
		return false
	}
	if old == rv {
		return true
	}
	// Revisions increase: anything at or below the replaced one is stale.
	o, err1 := strconv.ParseUint(old, 10, 64)
	r, err2 := strconv.ParseUint(rv, 10, 64)
	return err1 == nil && err2 == nil && r < o
}

func (s *staleVersions) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}
