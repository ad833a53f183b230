package namespace

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// finalizerEstimateSeconds is how long objects held by finalizers are
// given before the namespace is looked at again (Kubernetes' 15 s).
const finalizerEstimateSeconds = 15

var podsGR = schema.GroupResource{Resource: "pods"}

// leftover is what remains of one resource in a namespace after a pass.
type leftover struct {
	estimate   int64
	remaining  int
	finalizers map[string]int
}

// deleteAllContent deletes every object of every namespaced resource in
// ns, and reports what remains (Kubernetes' deleteAllContent).
func (nc *Controller) deleteAllContent(ctx context.Context, ns *corev1.Namespace) content {
	c := content{remaining: map[schema.GroupVersionResource]int{}, finalizers: map[string]int{}}
	for _, r := range nc.resources {
		if !r.Namespaced() {
			continue
		}
		left, err := nc.deleteResource(ctx, r, ns)
		if err != nil {
			c.errs = append(c.errs, err)
		}
		c.estimate = max(c.estimate, left.estimate)
		if left.remaining > 0 {
			c.remaining[r.GVR()] = left.remaining
			for f, n := range left.finalizers {
				c.finalizers[f] += n
			}
		}
	}
	return c
}

// deleteResource deletes the objects of one resource in ns (in the
// background, so that the garbage collector adds no orphan finalizer),
// then lists what is left.
func (nc *Controller) deleteResource(ctx context.Context, r controller.Dynamic, ns *corev1.Namespace) (leftover, error) {
	items, err := r.List(ctx, ns.Name, metav1.ListOptions{})
	if err != nil {
		return leftover{}, fmt.Errorf("list %s in %s: %w", r.GVR().Resource, ns.Name, err)
	}
	var estimate int64
	if r.GVR().GroupResource() == podsGR {
		estimate = podsEstimate(items, ns.DeletionTimestamp.Time, nc.clock.Now())
	}
	background := metav1.DeletePropagationBackground
	for _, item := range items {
		err := r.Delete(ctx, ns.Name, item.GetName(), metav1.DeleteOptions{PropagationPolicy: &background})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
			return leftover{estimate: estimate}, fmt.Errorf("delete %s %s/%s: %w", r.GVK().Kind, ns.Name, item.GetName(), err)
		}
	}
	if len(items) == 0 {
		return leftover{}, nil
	}
	items, err = r.List(ctx, ns.Name, metav1.ListOptions{})
	if err != nil {
		return leftover{estimate: estimate}, fmt.Errorf("list %s in %s: %w", r.GVR().Resource, ns.Name, err)
	}
	return remains(items, estimate, ns.Name, r.GVR())
}

// remains judges what a list after the deletions shows: nothing left;
// objects still terminating gracefully (estimate) or held by finalizers
// (wait a while); or objects that should have gone, an error.
func remains(items []client.Object, estimate int64, ns string, gvr schema.GroupVersionResource) (leftover, error) {
	if len(items) == 0 {
		return leftover{}, nil
	}
	finalizers := map[string]int{}
	for _, item := range items {
		for _, f := range item.GetFinalizers() {
			finalizers[f]++
		}
	}
	left := leftover{estimate: estimate, remaining: len(items), finalizers: finalizers}
	switch {
	case estimate > 0:
		return left, nil
	case len(finalizers) > 0:
		left.estimate = finalizerEstimateSeconds
		return left, nil
	}
	return left, fmt.Errorf("unexpected items still remain in namespace: %s for gvr: %v", ns, gvr)
}

// podsEstimate is how long the namespace's pods may still take to
// terminate: the longest grace period of those not finished, unless that
// much time has passed since the namespace's deletion.
func podsEstimate(items []client.Object, deletedAt, now time.Time) int64 {
	var estimate int64
	for _, item := range items {
		pod, ok := item.(*corev1.Pod)
		if !ok || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		if g := pod.Spec.TerminationGracePeriodSeconds; g != nil && *g > estimate {
			estimate = *g
		}
	}
	if now.Sub(deletedAt) >= time.Duration(estimate)*time.Second {
		return 0
	}
	return estimate
}
