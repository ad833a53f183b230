package nodelifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

const (
	name = "nodelifecycle"
	// evictionName is the taint eviction loop's name (Kubernetes runs it
	// as its own controller).
	evictionName = "taint-eviction-controller"
	// nodeComponent reports the node lifecycle's events.
	nodeComponent = "node-controller"

	// startupGrace is how long a node that never reported its status may
	// stay silent (Kubernetes' --node-startup-grace-period).
	startupGrace = time.Minute
	// taintPeriod is how often the zones' taint queues are served
	// (Kubernetes' NodeEvictionPeriod).
	taintPeriod = 100 * time.Millisecond
	// statusRetries bounds the tries of a node status update.
	statusRetries = 3
)

// Controller is the node lifecycle controller and the taint eviction
// controller.
type Controller struct {
	nodes       *client.Resource[*corev1.Node, *corev1.NodeList]
	pods        *client.Resource[*corev1.Pod, *corev1.PodList]
	nodeLister  listers.ResourceIndexer[*corev1.Node]
	podLister   listers.ResourceIndexer[*corev1.Pod]
	leaseLister listers.ResourceIndexer[*coordinationv1.Lease]
	podInformer cache.SharedIndexInformer
	synced      []cache.InformerSynced

	nodeEvents  *client.EventRecorder
	evictEvents *client.EventRecorder
	clock       clock.WithTicker
	log         *slog.Logger
	metrics     *metrics

	grace, period time.Duration
	rates         rates
	threshold     float64

	// State of the monitor goroutine (only it touches these).
	health     map[string]*health
	known      map[string]types.UID
	zoneStates map[string]zoneState
	queues     map[string]*taintQueue
	needsRetry map[string]bool

	// noSchedule keeps the NoSchedule taints that mirror conditions.
	noSchedule *controller.Loop
	// eviction deletes pods from NoExecute-tainted nodes.
	eviction *controller.Loop
	evictMu  sync.Mutex
	tainted  map[string]*podTaintState
}

// podTaintState is what the eviction loop remembers of a pod on a
// NoExecute-tainted node.
type podTaintState struct {
	since    time.Time // when it was first seen under the taints
	deadline time.Time // when it is to be evicted; zero: never
}

// New builds the node lifecycle controller.
func New(c *controller.Context) (controller.Runnable, error) {
	nodeInf := client.InformerFor(c.Informers, client.Nodes)
	podInf := client.InformerFor(c.Informers, client.Pods)
	leaseInf := client.InformerFor(c.Informers, client.Leases)
	if err := controller.IndexPodsByNodeName(podInf); err != nil {
		return nil, err
	}
	m, err := newMetrics(c.Registerer)
	if err != nil {
		return nil, err
	}
	o := c.Options
	nc := &Controller{
		nodes:       client.Nodes(c.Client),
		pods:        client.Pods(c.Client),
		nodeLister:  client.Lister(client.Nodes(c.Client), nodeInf),
		podLister:   client.Lister(client.Pods(c.Client), podInf),
		leaseLister: listers.NewNamespaced(client.Lister(client.Leases(c.Client), leaseInf), corev1.NamespaceNodeLease),
		podInformer: podInf,
		synced:      []cache.InformerSynced{nodeInf.HasSynced, podInf.HasSynced, leaseInf.HasSynced},
		nodeEvents:  c.Recorder(nodeComponent),
		evictEvents: c.Recorder(evictionName),
		clock:       c.Clock,
		log:         c.Log.With("controller", name),
		metrics:     m,
		grace:       o.NodeMonitorGracePeriod,
		period:      o.NodeMonitorPeriod,
		rates:       rates{primary: o.NodeEvictionRate, secondary: o.SecondaryNodeEvictionRate, largeCluster: o.LargeClusterSizeThreshold},
		threshold:   o.UnhealthyZoneThreshold,
		health:      map[string]*health{},
		known:       map[string]types.UID{},
		zoneStates:  map[string]zoneState{},
		queues:      map[string]*taintQueue{},
		needsRetry:  map[string]bool{},
		tainted:     map[string]*podTaintState{},
	}
	nc.noSchedule = controller.NewLoop(c, name, nc.syncNoSchedule, nc.synced...)
	nc.eviction = controller.NewLoop(c, evictionName, nc.syncEviction, nc.synced...)
	if _, err := nodeInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			nc.noSchedule.Enqueue(obj)
			if node, ok := obj.(*corev1.Node); ok && len(noExecuteTaints(node)) > 0 {
				nc.enqueuePodsOn(node.Name)
			}
		},
		UpdateFunc: func(old, cur any) {
			nc.noSchedule.Enqueue(cur)
			o, ok1 := old.(*corev1.Node)
			n, ok2 := cur.(*corev1.Node)
			if ok1 && ok2 && !equality.Semantic.DeepEqual(noExecuteTaints(o), noExecuteTaints(n)) {
				nc.enqueuePodsOn(n.Name)
			}
		},
	}); err != nil {
		return nil, err
	}
	if _, err := podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: nc.enqueuePod,
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*corev1.Pod)
			p, ok2 := cur.(*corev1.Pod)
			if ok1 && ok2 && o.Spec.NodeName == p.Spec.NodeName &&
				equality.Semantic.DeepEqual(o.Spec.Tolerations, p.Spec.Tolerations) &&
				(o.DeletionTimestamp == nil) == (p.DeletionTimestamp == nil) {
				return // nothing eviction depends on changed
			}
			nc.enqueuePod(cur)
		},
		DeleteFunc: nc.eviction.Enqueue,
	}); err != nil {
		return nil, err
	}
	return nc, nil
}

func (nc *Controller) enqueuePod(obj any) {
	if pod, ok := obj.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
		nc.eviction.Enqueue(pod)
	}
}

func (nc *Controller) enqueuePodsOn(node string) {
	pods, err := controller.PodsOnNode(nc.podInformer, node)
	if err != nil {
		nc.log.Error("list pods of node", "node", node, "err", err)
		return
	}
	for _, pod := range pods {
		nc.eviction.Enqueue(pod)
	}
}

// Run monitors nodes and runs the taint loops until ctx ends.
func (nc *Controller) Run(ctx context.Context) error {
	if !cache.WaitForNamedCacheSync(name, ctx.Done(), nc.synced...) {
		return ctx.Err()
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return nc.noSchedule.Run(ctx) })
	g.Go(func() error { return nc.eviction.Run(ctx) })
	g.Go(func() error {
		nc.monitorLoop(ctx)
		return nil
	})
	return g.Wait()
}

// monitorLoop checks the nodes' health every period and serves the taint
// queues in between, in one goroutine (which owns their state).
func (nc *Controller) monitorLoop(ctx context.Context) {
	nc.log.Info("monitoring nodes", "period", nc.period, "gracePeriod", nc.grace)
	monitor := nc.clock.NewTicker(nc.period)
	defer monitor.Stop()
	tainting := nc.clock.NewTicker(taintPeriod)
	defer tainting.Stop()
	nc.monitor(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-monitor.C():
			nc.monitor(ctx)
		case <-tainting.C():
			nc.taintPass(ctx)
		}
	}
}

// nodeRef is the reference of events about node.
func nodeRef(node string, uid types.UID) corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: node, UID: uid}
}

// recordNodeEvent records an event as Kubernetes' RecordNodeEvent.
func (nc *Controller) recordNodeEvent(node string, uid types.UID, reason, message string) {
	nc.nodeEvents.Event(nodeRef(node, uid), corev1.EventTypeNormal, reason, fmt.Sprintf("Node %s event: %s", node, message))
}

// recordStatusChange records an event as Kubernetes'
// RecordNodeStatusChange.
func (nc *Controller) recordStatusChange(node *corev1.Node, status string) {
	nc.nodeEvents.Event(nodeRef(node.Name, node.UID), corev1.EventTypeNormal, status,
		fmt.Sprintf("Node %s status is now: %s", node.Name, status))
}
