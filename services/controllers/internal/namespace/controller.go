package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// Name is the controller's name (--controllers, work queue, logs).
const Name = "namespace"

// Controller is the namespace controller.
type Controller struct {
	namespaces *client.Resource[*corev1.Namespace, *corev1.NamespaceList]
	nsLister   listers.ResourceIndexer[*corev1.Namespace]
	resources  []controller.Dynamic
	loop       *controller.Loop
	clock      clock.PassiveClock
	log        *slog.Logger
}

// New builds the namespace controller on the shared informers.
func New(c *controller.Context) (controller.Runnable, error) {
	nsInformer := client.InformerFor(c.Informers, client.Namespaces)
	podInformer := client.InformerFor(c.Informers, client.Pods)
	nc := &Controller{
		namespaces: client.Namespaces(c.Client),
		nsLister:   client.Lister(client.Namespaces(c.Client), nsInformer),
		resources:  controller.AllResources(c.Client),
		clock:      c.Clock,
	}
	nc.loop = controller.NewLoop(c, Name, nc.sync, nsInformer.HasSynced, podInformer.HasSynced)
	// A namespace is retried until it is gone, as Kubernetes does.
	nc.loop.MaxRetries = -1
	nc.log = nc.loop.Log()
	if _, err := nsInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    nc.enqueueNamespace,
		UpdateFunc: func(_, cur any) { nc.enqueueNamespace(cur) },
	}); err != nil {
		return nil, fmt.Errorf("namespace handler: %w", err)
	}
	// Pods are the content that takes time to go (graceful termination):
	// look again at a terminating namespace as soon as one is gone.
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: nc.deletePod}); err != nil {
		return nil, fmt.Errorf("pod handler: %w", err)
	}
	return nc, nil
}

// Run syncs namespaces until ctx ends.
func (nc *Controller) Run(ctx context.Context) error { return nc.loop.Run(ctx) }

func (nc *Controller) enqueueNamespace(obj any) {
	if ns, ok := obj.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
		nc.loop.Enqueue(ns)
	}
}

func (nc *Controller) deletePod(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if ns, err := nc.nsLister.Get(pod.Namespace); err == nil && ns.DeletionTimestamp != nil {
		nc.loop.EnqueueKey(ns.Name)
	}
}

// sync empties a namespace being deleted, then removes the "kubernetes"
// finalizer through namespaces/finalize so that the API server deletes it.
func (nc *Controller) sync(ctx context.Context, key string) error {
	cached, err := nc.nsLister.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if cached.DeletionTimestamp == nil {
		return nil
	}
	// Several controllers write a namespace being deleted: start from
	// the API server's copy.
	ns, err := nc.namespaces.Get(ctx, "", key, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", key, err)
	}
	if ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		return nil
	}
	if ns.Status.Phase != corev1.NamespaceTerminating {
		ns.Status.Phase = corev1.NamespaceTerminating
		if ns, err = nc.namespaces.UpdateStatus(ctx, ns, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("mark namespace %s terminating: %w", key, err)
		}
	}
	c := nc.deleteAllContent(ctx, ns)
	// Conditions are written on every pass: a condition that was failing
	// and is fine now must say so.
	if updateConditions(&ns.Status, failedConditions(c, metav1.NewTime(nc.clock.Now())), metav1.NewTime(nc.clock.Now())) {
		updated, err := nc.namespaces.UpdateStatus(ctx, ns, metav1.UpdateOptions{})
		switch {
		case err == nil:
			ns = updated
		case !apierrors.IsNotFound(err):
			nc.log.Warn("cannot write namespace conditions", "namespace", key, "err", err)
		}
	}
	if len(c.errs) > 0 {
		return fmt.Errorf("delete content of namespace %s: %w", key, errors.Join(c.errs...))
	}
	if c.estimate > 0 {
		wait := time.Duration(c.estimate/2+1) * time.Second
		nc.log.Debug("content remains; looking again later", "namespace", key, "after", wait, "remaining", c.remaining)
		nc.loop.EnqueueAfter(key, wait)
		return nil
	}
	if err := nc.finalize(ctx, ns); err != nil {
		return err
	}
	nc.log.Info("namespace emptied and finalized", "namespace", key)
	return nil
}

// finalize removes "kubernetes" from the namespace's spec.finalizers,
// retrying on conflicts with a fresh copy.
func (nc *Controller) finalize(ctx context.Context, ns *corev1.Namespace) error {
	cur := ns
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if cur == nil {
			fresh, err := nc.namespaces.Get(ctx, "", ns.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if fresh.UID != ns.UID {
				return nil // another namespace of the same name
			}
			cur = fresh
		}
		next := withoutFinalizer(cur, corev1.FinalizerKubernetes)
		if next == nil {
			return nil
		}
		cur = nil
		_, err := nc.namespaces.UpdateSubresource(ctx, next, "finalize", metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finalize namespace %s: %w", ns.Name, err)
	}
	return nil
}

// withoutFinalizer is a copy of ns without finalizer f in spec.finalizers,
// or nil when it has none.
func withoutFinalizer(ns *corev1.Namespace, f corev1.FinalizerName) *corev1.Namespace {
	if !slices.Contains(ns.Spec.Finalizers, f) {
		return nil
	}
	next := ns.DeepCopy()
	next.Spec.Finalizers = slices.DeleteFunc(next.Spec.Finalizers, func(x corev1.FinalizerName) bool { return x == f })
	return next
}
