package endpointslice

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/listers"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
	"github.com/gantry-dev/gantry/services/controllers/internal/endpointutil"
)

// errStaleCache: the cache lags behind this controller's own writes; the
// sync is retried (with back-off) once it has caught up.
var errStaleCache = errors.New("EndpointSlice informer cache is out of date")

// sync brings the slices of the service key names up to date.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name := controller.SplitKey(key)
	svc, err := listers.NewNamespaced(c.services, ns).Get(name)
	if apierrors.IsNotFound(err) {
		// Its slices go by garbage collection (the service owns them).
		c.triggers.Forget(ns, name)
		c.tracker.forget(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("service %s from the cache: %w", key, err)
	}
	if !endpointutil.HasSelector(svc) {
		// Slices of services without a selector are their users' (and an
		// ExternalName service has no endpoints).
		return nil
	}

	pods, err := listers.NewNamespaced(c.pods, ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return fmt.Errorf("pods of service %s from the cache: %w", key, err)
	}
	existing, err := c.managedSlices(svc)
	if err != nil {
		return err
	}
	if c.tracker.stale(key, existing) {
		return fmt.Errorf("service %s: %w", key, errStaleCache)
	}
	// Computed on every sync, so that the tracker's state follows the
	// pods even when nothing is written.
	triggerTime := c.triggers.Compute(svc, pods)

	want, nodeErr := desired(svc, pods, func(n string) (*corev1.Node, error) { return c.nodes.Get(n) })
	if want == nil {
		return nodeErr
	}
	p := reconcile(svc, existing, want, c.maxPerSlice, triggerTime)
	added, removed := endpointChanges(existing, want)
	c.metrics.added.Observe(float64(added))
	c.metrics.removed.Observe(float64(removed))
	if p.empty() {
		return nodeErr
	}
	c.log.Debug("writing endpoint slices", "service", key, "create", len(p.Create), "update", len(p.Update),
		"delete", len(p.Delete), "added", added, "removed", removed)
	if err := c.apply(ctx, p); err != nil {
		if !errors.Is(err, errStaleCache) {
			c.recorder.Event(controller.Ref(svc, serviceGVK), corev1.EventTypeWarning, "FailedToUpdateEndpointSlices",
				fmt.Sprintf("Error updating Endpoint Slices for Service %s/%s: %v", svc.Namespace, svc.Name, err))
		}
		return errors.Join(err, nodeErr)
	}
	return nodeErr
}

// managedSlices are svc's slices managed by this controller, not being
// deleted, from the cache.
func (c *Controller) managedSlices(svc *corev1.Service) ([]*discoveryv1.EndpointSlice, error) {
	sel := labels.SelectorFromValidatedSet(labels.Set{
		discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: ManagedBy,
	})
	all, err := listers.NewNamespaced(c.cached, svc.Namespace).List(sel)
	if err != nil {
		return nil, fmt.Errorf("endpoint slices of service %s/%s from the cache: %w", svc.Namespace, svc.Name, err)
	}
	out := all[:0:0]
	for _, s := range all {
		if s.DeletionTimestamp == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// apply writes p: creates first, then updates, then deletes, so that an
// endpoint moving between slices is never missing from all of them.
func (c *Controller) apply(ctx context.Context, p plan) error {
	var errs []error
	for _, s := range p.Create {
		created, err := c.slices.Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			if endpointutil.NamespaceTerminating(err) {
				return nil // creates will keep failing; the namespace is going
			}
			errs = append(errs, fmt.Errorf("create endpoint slice %s*: %w", s.GenerateName, err))
			continue
		}
		c.tracker.written(created)
		c.metrics.changes.WithLabelValues("create").Inc()
	}
	for _, s := range p.Update {
		updated, err := c.slices.Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("update endpoint slice %s: %w", s.Name, err))
			continue
		}
		c.tracker.written(updated)
		c.metrics.changes.WithLabelValues("update").Inc()
	}
	for _, s := range p.Delete {
		// Expected before it is asked for: the event may come before the
		// answer.
		c.tracker.deleting(s)
		err := c.slices.Delete(ctx, s.Namespace, s.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &s.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) {
			c.tracker.written(s) // still there, as cached
			errs = append(errs, fmt.Errorf("delete endpoint slice %s: %w", s.Name, err))
			continue
		}
		c.metrics.changes.WithLabelValues("delete").Inc()
	}
	return errors.Join(errs...)
}

// endpointChanges counts the endpoints want adds to and removes from the
// existing slices.
func endpointChanges(existing []*discoveryv1.EndpointSlice, want desiredState) (added, removed int) {
	have := sets.New[string]()
	for _, s := range existing {
		for i := range s.Endpoints {
			have.Insert(string(s.AddressType) + "|" + endpointKey(&s.Endpoints[i]))
		}
	}
	wanted := sets.New[string]()
	for t, groups := range want {
		for _, g := range groups {
			for i := range g.endpoints {
				wanted.Insert(string(t) + "|" + endpointKey(&g.endpoints[i]))
			}
		}
	}
	return wanted.Difference(have).Len(), have.Difference(wanted).Len()
}
