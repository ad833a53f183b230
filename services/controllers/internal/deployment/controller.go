package deployment

import (
	"context"
	"fmt"
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
)

// Name is the controller's name (--controllers, work queue, logs) and
// component the source of its events.
const (
	Name      = "deployment"
	component = "deployment-controller"
)

var (
	kind   = appsv1.SchemeGroupVersion.WithKind("Deployment")
	rsKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
)

// Controller is the Deployment controller.
type Controller struct {
	deployments *client.Resource[*appsv1.Deployment, *appsv1.DeploymentList]
	replicaSets *client.Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList]
	dLister     listers.ResourceIndexer[*appsv1.Deployment]
	rsLister    listers.ResourceIndexer[*appsv1.ReplicaSet]
	podLister   listers.ResourceIndexer[*corev1.Pod]

	recorder *client.EventRecorder
	loop     *controller.Loop
	clock    clock.PassiveClock
	log      *slog.Logger
}

// New builds the Deployment controller on the shared informers.
func New(c *controller.Context) (controller.Runnable, error) {
	dInformer := client.InformerFor(c.Informers, client.Deployments)
	rsInformer := client.InformerFor(c.Informers, client.ReplicaSets)
	podInformer := client.InformerFor(c.Informers, client.Pods)
	dc := &Controller{
		deployments: client.Deployments(c.Client),
		replicaSets: client.ReplicaSets(c.Client),
		dLister:     client.Lister(client.Deployments(c.Client), dInformer),
		rsLister:    client.Lister(client.ReplicaSets(c.Client), rsInformer),
		podLister:   client.Lister(client.Pods(c.Client), podInformer),
		recorder:    c.Recorder(component),
		clock:       c.Clock,
	}
	dc.loop = controller.NewLoop(c, Name, dc.sync, dInformer.HasSynced, rsInformer.HasSynced, podInformer.HasSynced)
	dc.log = dc.loop.Log()
	if _, err := dInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    dc.loop.Enqueue,
		UpdateFunc: func(_, cur any) { dc.loop.Enqueue(cur) },
		DeleteFunc: dc.loop.Enqueue,
	}); err != nil {
		return nil, fmt.Errorf("deployment handler: %w", err)
	}
	if _, err := rsInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    dc.addReplicaSet,
		UpdateFunc: dc.updateReplicaSet,
		DeleteFunc: dc.deleteReplicaSet,
	}); err != nil {
		return nil, fmt.Errorf("replicaset handler: %w", err)
	}
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: dc.deletePod,
	}); err != nil {
		return nil, fmt.Errorf("pod handler: %w", err)
	}
	return dc, nil
}

// Run syncs Deployments until ctx ends.
func (dc *Controller) Run(ctx context.Context) error { return dc.loop.Run(ctx) }

func (dc *Controller) addReplicaSet(obj any) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return
	}
	if rs.DeletionTimestamp != nil {
		dc.deleteReplicaSet(rs)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if d := dc.resolveControllerRef(rs.Namespace, ref); d != nil {
			dc.loop.Enqueue(d)
		}
		return
	}
	for _, d := range dc.deploymentsSelecting(rs) {
		dc.loop.Enqueue(d)
	}
}

func (dc *Controller) updateReplicaSet(old, cur any) {
	o, ok1 := old.(*appsv1.ReplicaSet)
	n, ok2 := cur.(*appsv1.ReplicaSet)
	if !ok1 || !ok2 || o.ResourceVersion == n.ResourceVersion {
		return
	}
	oldRef, curRef := metav1.GetControllerOfNoCopy(o), metav1.GetControllerOfNoCopy(n)
	refChanged := (oldRef == nil) != (curRef == nil) || (oldRef != nil && oldRef.UID != curRef.UID)
	if refChanged && oldRef != nil {
		if d := dc.resolveControllerRef(o.Namespace, oldRef); d != nil {
			dc.loop.Enqueue(d)
		}
	}
	if curRef != nil {
		if d := dc.resolveControllerRef(n.Namespace, curRef); d != nil {
			dc.loop.Enqueue(d)
		}
		return
	}
	if refChanged || !labels.Equals(o.Labels, n.Labels) {
		for _, d := range dc.deploymentsSelecting(n) {
			dc.loop.Enqueue(d)
		}
	}
}

func (dc *Controller) deleteReplicaSet(obj any) {
	rs, ok := controller.Deleted[*appsv1.ReplicaSet](obj)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if d := dc.resolveControllerRef(rs.Namespace, ref); d != nil {
			dc.loop.Enqueue(d)
		}
	}
}

// deletePod wakes a Recreate Deployment waiting for its old pods to go.
func (dc *Controller) deletePod(obj any) {
	pod, ok := controller.Deleted[*corev1.Pod](obj)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != rsKind.Kind {
		return
	}
	rs, err := listers.NewNamespaced(dc.rsLister, pod.Namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return
	}
	dref := metav1.GetControllerOfNoCopy(rs)
	if dref == nil {
		return
	}
	if d := dc.resolveControllerRef(rs.Namespace, dref); d != nil && d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		dc.loop.Enqueue(d)
	}
}

// resolveControllerRef returns the Deployment ref names, if it is one
// in the cache with that UID.
func (dc *Controller) resolveControllerRef(namespace string, ref *metav1.OwnerReference) *appsv1.Deployment {
	d, _ := controller.ResolveControllerRef(dc.dLister, kind, namespace, ref)
	return d
}

// deploymentsSelecting returns the Deployments whose selector matches
// rs's labels (candidates to adopt it).
func (dc *Controller) deploymentsSelecting(rs *appsv1.ReplicaSet) []*appsv1.Deployment {
	return controller.Selecting(dc.dLister, rs.Namespace, rs.Labels, func(d *appsv1.Deployment) *metav1.LabelSelector { return d.Spec.Selector })
}

// event records an event about d.
func (dc *Controller) event(d *appsv1.Deployment, eventType, reason, message string) {
	dc.recorder.Event(controller.Ref(d, kind), eventType, reason, message)
}
