package daemonset

import (
	"context"
	"log/slog"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
	"github.com/gantry-dev/gantry/services/controllers/internal/history"
)

// name is the controller's name (--controllers, metrics, logs); events
// report as component.
const (
	name      = "daemonset"
	component = "daemonset-controller"
	// burstReplicas bounds the pods one sync creates or deletes.
	burstReplicas = 250
)

var gvk = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// Controller is the DaemonSet controller.
type Controller struct {
	daemonSets *client.Resource[*appsv1.DaemonSet, *appsv1.DaemonSetList]
	pods       *client.Resource[*corev1.Pod, *corev1.PodList]
	podControl *controller.PodControl
	recorder   *client.EventRecorder
	history    *history.Store

	dsLister   listers.ResourceIndexer[*appsv1.DaemonSet]
	podLister  listers.ResourceIndexer[*corev1.Pod]
	nodeLister listers.ResourceIndexer[*corev1.Node]

	// creations and deletions are the expectations of each DaemonSet
	// (one Expectations holds either kind at a time).
	creations, deletions *controller.Expectations
	failed               *backoff
	clock                clock.Clock
	loop                 *controller.Loop
	log                  *slog.Logger
}

// New builds the DaemonSet controller.
func New(c *controller.Context) (controller.Runnable, error) {
	dsInf := client.InformerFor(c.Informers, client.DaemonSets)
	podInf := client.InformerFor(c.Informers, client.Pods)
	nodeInf := client.InformerFor(c.Informers, client.Nodes)
	revInf := client.InformerFor(c.Informers, client.ControllerRevisions)
	dsc := &Controller{
		daemonSets: client.DaemonSets(c.Client),
		pods:       client.Pods(c.Client),
		podControl: controller.NewPodControl(c, component),
		recorder:   c.Recorder(component),
		history:    history.NewStore(c),
		dsLister:   client.Lister(client.DaemonSets(c.Client), dsInf),
		podLister:  client.Lister(client.Pods(c.Client), podInf),
		nodeLister: client.Lister(client.Nodes(c.Client), nodeInf),
		creations:  controller.NewExpectations(c.Clock),
		deletions:  controller.NewExpectations(c.Clock),
		failed:     newBackoff(c.Clock),
		clock:      c.Clock,
	}
	dsc.loop = controller.NewLoop(c, name, dsc.sync, dsInf.HasSynced, podInf.HasSynced, nodeInf.HasSynced, revInf.HasSynced)
	dsc.log = dsc.loop.Log()
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{dsInf, cache.ResourceEventHandlerFuncs{
			AddFunc:    dsc.loop.Enqueue,
			UpdateFunc: func(_, cur any) { dsc.loop.Enqueue(cur) },
			DeleteFunc: dsc.loop.Enqueue,
		}},
		{podInf, cache.ResourceEventHandlerFuncs{AddFunc: dsc.addPod, UpdateFunc: dsc.updatePod, DeleteFunc: dsc.deletePod}},
		{nodeInf, cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { dsc.enqueueAll() },
			UpdateFunc: dsc.updateNode,
			DeleteFunc: func(any) { dsc.enqueueAll() },
		}},
		{revInf, cache.ResourceEventHandlerFuncs{
			AddFunc:    dsc.enqueueRevisionOwner,
			UpdateFunc: dsc.updateRevision,
			DeleteFunc: dsc.enqueueRevisionOwner,
		}},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, err
		}
	}
	return dsc, nil
}

// Run syncs DaemonSets until ctx ends.
func (dsc *Controller) Run(ctx context.Context) error { return dsc.loop.Run(ctx) }

func (dsc *Controller) enqueueAll() {
	all, err := dsc.dsLister.List(labels.Everything())
	if err != nil {
		dsc.log.Error("list daemonsets", "err", err)
		return
	}
	for _, ds := range all {
		dsc.loop.Enqueue(ds)
	}
}

// updateNode enqueues every DaemonSet when what decides placement
// changed: labels, taints or the node's name-independent spec.
func (dsc *Controller) updateNode(old, cur any) {
	o, ok1 := old.(*corev1.Node)
	n, ok2 := cur.(*corev1.Node)
	if !ok1 || !ok2 {
		return
	}
	if equality.Semantic.DeepEqual(o.Labels, n.Labels) && equality.Semantic.DeepEqual(o.Spec.Taints, n.Spec.Taints) {
		return
	}
	dsc.enqueueAll()
}

// owner returns the DaemonSet the controller reference names, if it
// still exists with that UID.
func (dsc *Controller) owner(namespace string, ref *metav1.OwnerReference) *appsv1.DaemonSet {
	ds, _ := controller.ResolveControllerRef(dsc.dsLister, gvk, namespace, ref)
	return ds
}

// enqueueSelecting enqueues the DaemonSets whose selector matches an
// orphan pod, which may adopt it.
func (dsc *Controller) enqueueSelecting(pod *corev1.Pod) {
	for _, ds := range controller.Selecting(dsc.dsLister, pod.Namespace, pod.Labels,
		func(ds *appsv1.DaemonSet) *metav1.LabelSelector { return ds.Spec.Selector }) {
		dsc.loop.Enqueue(ds)
	}
}

func podKey(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

func dsKey(ds *appsv1.DaemonSet) string { return ds.Namespace + "/" + ds.Name }

func (dsc *Controller) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.DeletionTimestamp != nil {
		// Seen for the first time already on its way out (after a
		// restart): count it as a deletion.
		dsc.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if ds := dsc.owner(pod.Namespace, ref); ds != nil {
			dsc.creations.CreationObserved(dsKey(ds))
			dsc.loop.Enqueue(ds)
		}
		return
	}
	dsc.enqueueSelecting(pod)
}

func (dsc *Controller) updatePod(old, cur any) {
	o, ok1 := old.(*corev1.Pod)
	pod, ok2 := cur.(*corev1.Pod)
	if !ok1 || !ok2 || o.ResourceVersion == pod.ResourceVersion {
		return
	}
	if pod.DeletionTimestamp != nil && o.DeletionTimestamp == nil {
		// A graceful deletion has begun: the deletion was observed.
		dsc.deletePod(pod)
	}
	oldRef, ref := metav1.GetControllerOfNoCopy(o), metav1.GetControllerOfNoCopy(pod)
	if oldRef != nil && (ref == nil || oldRef.UID != ref.UID) {
		if ds := dsc.owner(o.Namespace, oldRef); ds != nil {
			dsc.loop.Enqueue(ds)
		}
	}
	if ref != nil {
		if ds := dsc.owner(pod.Namespace, ref); ds != nil {
			dsc.loop.Enqueue(ds)
		}
		return
	}
	if !equality.Semantic.DeepEqual(o.Labels, pod.Labels) || oldRef != nil {
		dsc.enqueueSelecting(pod)
	}
}

func (dsc *Controller) deletePod(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	ds := dsc.owner(pod.Namespace, metav1.GetControllerOfNoCopy(pod))
	if ds == nil {
		return
	}
	dsc.deletions.DeletionObserved(dsKey(ds), podKey(pod))
	dsc.loop.Enqueue(ds)
}

// enqueueRevisionOwner enqueues the DaemonSet that controls a
// ControllerRevision, or, for an orphan, those that may adopt it.
func (dsc *Controller) enqueueRevisionOwner(obj any) {
	rev, ok := controller.Deleted[*appsv1.ControllerRevision](obj)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(rev); ref != nil {
		if ds := dsc.owner(rev.Namespace, ref); ds != nil {
			dsc.loop.Enqueue(ds)
		}
		return
	}
	for _, ds := range controller.Selecting(dsc.dsLister, rev.Namespace, rev.Labels,
		func(ds *appsv1.DaemonSet) *metav1.LabelSelector { return ds.Spec.Selector }) {
		dsc.loop.Enqueue(ds)
	}
}

// updateRevision enqueues the DaemonSets concerned by a changed revision:
// its owner before and after, or those that may adopt it.
func (dsc *Controller) updateRevision(old, cur any) {
	o, ok1 := old.(*appsv1.ControllerRevision)
	r, ok2 := cur.(*appsv1.ControllerRevision)
	if !ok1 || !ok2 || o.ResourceVersion == r.ResourceVersion {
		return
	}
	if oldRef, ref := metav1.GetControllerOfNoCopy(o), metav1.GetControllerOfNoCopy(r); oldRef != nil && (ref == nil || oldRef.UID != ref.UID) {
		dsc.enqueueRevisionOwner(o)
	}
	dsc.enqueueRevisionOwner(r)
}
