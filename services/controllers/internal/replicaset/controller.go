package replicaset

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// Name is the controller's name (--controllers, work queue, logs) and
// component is the source of its events.
const (
	Name      = "replicaset"
	component = "replicaset-controller"
)

// kind is the kind of the objects this controller owns pods for.
var kind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")

// Controller is the ReplicaSet controller.
type Controller struct {
	replicaSets *client.Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList]
	pods        *client.Resource[*corev1.Pod, *corev1.PodList]
	rsLister    listers.ResourceIndexer[*appsv1.ReplicaSet]
	podLister   listers.ResourceIndexer[*corev1.Pod]

	podControl   *controller.PodControl
	expectations *controller.Expectations
	loop         *controller.Loop
	clock        clock.PassiveClock
	log          *slog.Logger
	burst        int
}

// New builds the ReplicaSet controller on the shared informers.
func New(c *controller.Context) (controller.Runnable, error) {
	rsInformer := client.InformerFor(c.Informers, client.ReplicaSets)
	podInformer := client.InformerFor(c.Informers, client.Pods)
	rc := &Controller{
		replicaSets:  client.ReplicaSets(c.Client),
		pods:         client.Pods(c.Client),
		rsLister:     client.Lister(client.ReplicaSets(c.Client), rsInformer),
		podLister:    client.Lister(client.Pods(c.Client), podInformer),
		podControl:   controller.NewPodControl(c, component),
		expectations: controller.NewExpectations(c.Clock),
		clock:        c.Clock,
		burst:        BurstReplicas,
	}
	rc.loop = controller.NewLoop(c, Name, rc.sync, rsInformer.HasSynced, podInformer.HasSynced)
	rc.log = rc.loop.Log()
	if _, err := rsInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    rc.loop.Enqueue,
		UpdateFunc: rc.updateReplicaSet,
		DeleteFunc: rc.deleteReplicaSet,
	}); err != nil {
		return nil, fmt.Errorf("replicaset handler: %w", err)
	}
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    rc.addPod,
		UpdateFunc: rc.updatePod,
		DeleteFunc: rc.deletePod,
	}); err != nil {
		return nil, fmt.Errorf("pod handler: %w", err)
	}
	return rc, nil
}

// Run syncs ReplicaSets until ctx ends.
func (rc *Controller) Run(ctx context.Context) error { return rc.loop.Run(ctx) }

func (rc *Controller) updateReplicaSet(old, cur any) {
	o, ok1 := old.(*appsv1.ReplicaSet)
	n, ok2 := cur.(*appsv1.ReplicaSet)
	if ok1 && ok2 && o.UID != n.UID {
		// Deleted and re-created under the same name: forget what the
		// old one expected.
		rc.deleteReplicaSet(cache.DeletedFinalStateUnknown{Key: key(o), Obj: o})
	}
	rc.loop.Enqueue(cur)
}

func (rc *Controller) deleteReplicaSet(obj any) {
	rs, ok := controller.Deleted[*appsv1.ReplicaSet](obj)
	if !ok {
		return
	}
	rc.expectations.Delete(key(rs))
	rc.loop.Enqueue(rs)
}

// addPod counts a pod its owner created as seen, or wakes the
// ReplicaSets that might adopt an orphan.
func (rc *Controller) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.DeletionTimestamp != nil {
		// Seen for the first time already being deleted (after a
		// relist): a deletion, not a creation.
		rc.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		rs := rc.resolveControllerRef(pod.Namespace, ref)
		if rs == nil {
			return
		}
		rc.expectations.CreationObserved(key(rs))
		rc.loop.Enqueue(rs)
		return
	}
	for _, rs := range rc.replicaSetsSelecting(pod) {
		rc.loop.Enqueue(rs)
	}
}

// updatePod wakes the owners (old and new) of a changed pod, and the
// ReplicaSets that might adopt it when it became an orphan or its labels
// changed.
func (rc *Controller) updatePod(old, cur any) {
	o, ok1 := old.(*corev1.Pod)
	n, ok2 := cur.(*corev1.Pod)
	if !ok1 || !ok2 || o.ResourceVersion == n.ResourceVersion {
		return // a resync: nothing changed
	}
	labelsChanged := !labels.Equals(o.Labels, n.Labels)
	if n.DeletionTimestamp != nil {
		// Being deleted: count the deletion now rather than when the
		// kubelet confirms it, so the ReplicaSet replaces it at once.
		rc.deletePod(n)
		if labelsChanged {
			rc.deletePod(o)
		}
		return
	}
	oldRef, curRef := metav1.GetControllerOfNoCopy(o), metav1.GetControllerOfNoCopy(n)
	refChanged := !sameRef(oldRef, curRef)
	if refChanged && oldRef != nil {
		if rs := rc.resolveControllerRef(o.Namespace, oldRef); rs != nil {
			rc.loop.Enqueue(rs)
		}
	}
	if curRef != nil {
		rs := rc.resolveControllerRef(n.Namespace, curRef)
		if rs == nil {
			return
		}
		rc.loop.Enqueue(rs)
		if !isPodReady(o) && isPodReady(n) && rs.Spec.MinReadySeconds > 0 {
			// It becomes available minReadySeconds from now (the sync
			// also schedules this; a second margin for clock skew).
			rc.loop.EnqueueAfter(key(rs), time.Duration(rs.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if labelsChanged || refChanged {
		for _, rs := range rc.replicaSetsSelecting(n) {
			rc.loop.Enqueue(rs)
		}
	}
}

// deletePod counts the deletion of a pod as seen by its owner.
func (rc *Controller) deletePod(obj any) {
	pod, ok := controller.Deleted[*corev1.Pod](obj)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil {
		return
	}
	rs := rc.resolveControllerRef(pod.Namespace, ref)
	if rs == nil {
		return
	}
	rc.expectations.DeletionObserved(key(rs), key(pod))
	rc.loop.Enqueue(rs)
}

// resolveControllerRef returns the ReplicaSet ref names, if it is one in
// the cache with that UID.
func (rc *Controller) resolveControllerRef(namespace string, ref *metav1.OwnerReference) *appsv1.ReplicaSet {
	rs, _ := controller.ResolveControllerRef(rc.rsLister, kind, namespace, ref)
	return rs
}

// replicaSetsSelecting returns the ReplicaSets whose selector matches
// pod's labels (candidates to adopt it).
func (rc *Controller) replicaSetsSelecting(pod *corev1.Pod) []*appsv1.ReplicaSet {
	return controller.Selecting(rc.rsLister, pod.Namespace, pod.Labels, func(rs *appsv1.ReplicaSet) *metav1.LabelSelector { return rs.Spec.Selector })
}

func sameRef(a, b *metav1.OwnerReference) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.UID == b.UID
}

// key is the work-queue and expectations key of obj.
func key(obj metav1.Object) string {
	return obj.GetNamespace() + "/" + obj.GetName()
}
