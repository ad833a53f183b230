package statefulset

import (
	"context"
	"log/slog"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
	"github.com/gantry-dev/gantry/services/controllers/internal/history"
)

// Controller is the StatefulSet controller.
type Controller struct {
	sets    *client.Resource[*appsv1.StatefulSet, *appsv1.StatefulSetList]
	setsLs  listers.ResourceIndexer[*appsv1.StatefulSet]
	pods    *client.Resource[*corev1.Pod, *corev1.PodList]
	podsLs  listers.ResourceIndexer[*corev1.Pod]
	control *podControl
	history *history.Store
	clock   clock.PassiveClock
	log     *slog.Logger
	loop    *controller.Loop
}

// New builds the StatefulSet controller ("statefulset").
func New(c *controller.Context) (controller.Runnable, error) {
	setInf := client.InformerFor(c.Informers, client.StatefulSets)
	podInf := client.InformerFor(c.Informers, client.Pods)
	claimInf := client.InformerFor(c.Informers, client.PersistentVolumeClaims)
	recorder := c.Recorder("statefulset-controller")
	revs := history.NewStore(c)
	ctl := &Controller{
		sets:   client.StatefulSets(c.Client),
		setsLs: client.Lister(client.StatefulSets(c.Client), setInf),
		pods:   client.Pods(c.Client),
		podsLs: client.Lister(client.Pods(c.Client), podInf),
		control: &podControl{
			pods:     client.Pods(c.Client),
			claims:   client.PersistentVolumeClaims(c.Client),
			claimsLs: client.Lister(client.PersistentVolumeClaims(c.Client), claimInf),
			recorder: recorder,
		},
		history: revs,
		clock:   c.Clock,
	}
	ctl.loop = controller.NewLoop(c, "statefulset", ctl.sync, setInf.HasSynced, podInf.HasSynced, claimInf.HasSynced,
		revs.HasSynced)
	ctl.log = ctl.loop.Log()

	if _, err := setInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    ctl.loop.Enqueue,
		UpdateFunc: func(_, cur any) { ctl.loop.Enqueue(cur) },
		DeleteFunc: ctl.loop.Enqueue,
	}); err != nil {
		return nil, err
	}
	if _, err := podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    ctl.addPod,
		UpdateFunc: ctl.updatePod,
		DeleteFunc: ctl.deletePod,
	}); err != nil {
		return nil, err
	}
	return ctl, nil
}

// Run syncs StatefulSets until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

// tombstoned returns the object of a delete event (possibly wrapped in a
// DeletedFinalStateUnknown).
func tombstoned[T any](obj any) (T, bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	v, ok := obj.(T)
	return v, ok
}

// ownerSet returns the set that controls pod, if it is a StatefulSet in
// the cache with the referenced UID.
func (c *Controller) ownerSet(pod *corev1.Pod, ref *metav1.OwnerReference) *appsv1.StatefulSet {
	set, _ := controller.ResolveControllerRef(c.setsLs, setKind, pod.Namespace, ref)
	return set
}

// enqueueAdopters queues the sets whose selector matches an orphan pod,
// so one of them may adopt it.
func (c *Controller) enqueueAdopters(pod *corev1.Pod) {
	for _, set := range controller.Selecting(c.setsLs, pod.Namespace, pod.Labels,
		func(s *appsv1.StatefulSet) *metav1.LabelSelector { return s.Spec.Selector }) {
		c.loop.Enqueue(set)
	}
}

func (c *Controller) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if set := c.ownerSet(pod, metav1.GetControllerOfNoCopy(pod)); set != nil {
		c.loop.Enqueue(set)
		return
	}
	if metav1.GetControllerOfNoCopy(pod) == nil {
		c.enqueueAdopters(pod)
	}
}

func (c *Controller) updatePod(oldObj, newObj any) {
	old, ok1 := oldObj.(*corev1.Pod)
	cur, ok2 := newObj.(*corev1.Pod)
	if !ok1 || !ok2 || old.ResourceVersion == cur.ResourceVersion {
		return
	}
	oldRef, curRef := metav1.GetControllerOfNoCopy(old), metav1.GetControllerOfNoCopy(cur)
	if oldRef != nil && (curRef == nil || oldRef.UID != curRef.UID) {
		if set := c.ownerSet(old, oldRef); set != nil {
			c.loop.Enqueue(set)
		}
	}
	if set := c.ownerSet(cur, curRef); set != nil {
		c.loop.Enqueue(set)
		return
	}
	if curRef == nil && !labels.Equals(old.Labels, cur.Labels) || curRef == nil && oldRef != nil {
		c.enqueueAdopters(cur)
	}
}

func (c *Controller) deletePod(obj any) {
	pod, ok := tombstoned[*corev1.Pod](obj)
	if !ok {
		return
	}
	if set := c.ownerSet(pod, metav1.GetControllerOfNoCopy(pod)); set != nil {
		c.loop.Enqueue(set)
	}
}
