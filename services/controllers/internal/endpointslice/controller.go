package endpointslice

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
	"github.com/gantry-dev/gantry/services/controllers/internal/endpointutil"
)

// Name is the controller's name (--controllers) and its work queue's.
const Name = "endpointslice"

// component reports the controller's events, as Kubernetes names it.
const component = "endpoint-slice-controller"

// Controller keeps the EndpointSlices of services with a selector.
type Controller struct {
	slices   *client.Resource[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList]
	services listers.ResourceIndexer[*corev1.Service]
	pods     listers.ResourceIndexer[*corev1.Pod]
	nodes    listers.ResourceIndexer[*corev1.Node]
	cached   listers.ResourceIndexer[*discoveryv1.EndpointSlice]

	loop     *controller.Loop
	tracker  *tracker
	triggers *endpointutil.TriggerTimeTracker
	recorder *client.EventRecorder
	metrics  *metrics
	log      *slog.Logger

	maxPerSlice int
}

// New builds the EndpointSlice controller on c's shared informers.
func New(c *controller.Context) (controller.Runnable, error) {
	svcInf := client.InformerFor(c.Informers, client.Services)
	podInf := client.InformerFor(c.Informers, client.Pods)
	nodeInf := client.InformerFor(c.Informers, client.Nodes)
	sliceInf := client.InformerFor(c.Informers, client.EndpointSlices)
	m, err := newMetrics(c.Registerer)
	if err != nil {
		return nil, err
	}
	ctl := &Controller{
		slices:      client.EndpointSlices(c.Client),
		services:    client.Lister(client.Services(c.Client), svcInf),
		pods:        client.Lister(client.Pods(c.Client), podInf),
		nodes:       client.Lister(client.Nodes(c.Client), nodeInf),
		cached:      client.Lister(client.EndpointSlices(c.Client), sliceInf),
		tracker:     newTracker(),
		triggers:    endpointutil.NewTriggerTimeTracker(),
		recorder:    c.Recorder(component),
		metrics:     m,
		maxPerSlice: DefaultMaxEndpointsPerSlice,
	}
	ctl.loop = controller.NewLoop(c, Name, ctl.sync, svcInf.HasSynced, podInf.HasSynced, nodeInf.HasSynced, sliceInf.HasSynced)
	ctl.log = ctl.loop.Log()

	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{svcInf, cache.ResourceEventHandlerFuncs{
			AddFunc:    ctl.loop.Enqueue,
			UpdateFunc: func(_, cur any) { ctl.loop.Enqueue(cur) },
			DeleteFunc: ctl.loop.Enqueue,
		}},
		// No batching: a pod's change is synced as soon as a worker is
		// free (Kubernetes' default --endpointslice-updates-batch-period 0).
		{podInf, endpointutil.PodHandler(ctl.services, ctl.loop.EnqueueKey, ctl.log)},
		{nodeInf, cache.ResourceEventHandlerDetailedFuncs{
			AddFunc: func(obj any, initial bool) {
				if !initial { // the first sync of every service covers those
					ctl.nodeChanged(obj)
				}
			},
			UpdateFunc: ctl.nodeUpdated,
			DeleteFunc: ctl.nodeChanged,
		}},
		{sliceInf, cache.ResourceEventHandlerFuncs{
			AddFunc:    ctl.sliceAdded,
			UpdateFunc: ctl.sliceUpdated,
			DeleteFunc: ctl.sliceDeleted,
		}},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, err
		}
	}
	return ctl, nil
}

// Run syncs services until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

func managed(s *discoveryv1.EndpointSlice) bool {
	return s.Labels[discoveryv1.LabelManagedBy] == ManagedBy && serviceKey(s) != ""
}

func asSlice(obj any) *discoveryv1.EndpointSlice {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, _ := obj.(*discoveryv1.EndpointSlice)
	return s
}

// sliceAdded syncs the service of a managed slice this controller did not
// write as it is (another writer, or an earlier run of the controller).
func (c *Controller) sliceAdded(obj any) {
	if s := asSlice(obj); s != nil && managed(s) && c.tracker.shouldSync(s) {
		c.loop.EnqueueKey(serviceKey(s))
	}
}

func (c *Controller) sliceUpdated(oldObj, curObj any) {
	old, cur := asSlice(oldObj), asSlice(curObj)
	if old == nil || cur == nil || old.ResourceVersion == cur.ResourceVersion {
		return
	}
	// A slice relabelled away from this controller or another service:
	// the service it left needs a sync too.
	if managed(old) && (!managed(cur) || serviceKey(old) != serviceKey(cur)) {
		c.loop.EnqueueKey(serviceKey(old))
	}
	c.sliceAdded(cur)
}

// sliceDeleted syncs the service of a managed slice deleted by someone
// else (it is recreated if still needed).
func (c *Controller) sliceDeleted(obj any) {
	if s := asSlice(obj); s != nil && managed(s) && !c.tracker.deleted(s) {
		c.loop.EnqueueKey(serviceKey(s))
	}
}

func nodeZone(n *corev1.Node) string { return n.Labels[corev1.LabelTopologyZone] }

func (c *Controller) nodeUpdated(oldObj, curObj any) {
	old, ok1 := oldObj.(*corev1.Node)
	cur, ok2 := curObj.(*corev1.Node)
	if ok1 && ok2 && nodeZone(old) != nodeZone(cur) {
		c.nodeChanged(cur)
	}
}

// nodeChanged syncs the services of the pods on a node that appeared,
// went or changed zone: their endpoints' zone (or presence) changes.
func (c *Controller) nodeChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		c.log.Error("list pods from the cache", "err", err)
		return
	}
	keys := sets.New[string]()
	svcsByNS := map[string][]*corev1.Service{}
	for _, pod := range pods {
		if pod.Spec.NodeName != node.Name {
			continue
		}
		svcs, ok := svcsByNS[pod.Namespace]
		if !ok {
			svcs, _ = listers.NewNamespaced(c.services, pod.Namespace).List(labels.Everything())
			svcsByNS[pod.Namespace] = svcs
		}
		keys = keys.Union(endpointutil.ServicesOf(svcs, pod))
	}
	for k := range keys {
		c.loop.EnqueueKey(k)
	}
}
