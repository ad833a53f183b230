package nodelifecycle

import (
	"context"
	"errors"
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/gantry-dev/gantry/libs/client"
)

// lease is the node's Lease from the cache, nil when it has none.
func (nc *Controller) lease(node string) *coordinationv1.Lease {
	l, err := nc.leaseLister.Get(node)
	if err != nil {
		return nil
	}
	return l
}

// swapTaints adds and removes taints (by key and effect) on the node as
// the API server has it, retrying on conflicts. A node that is gone is
// not an error.
func (nc *Controller) swapTaints(ctx context.Context, node string, add, remove []corev1.Taint) error {
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur, err := nc.nodes.Get(ctx, "", node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		taints, changed := applyTaints(cur.Spec.Taints, add, remove, nc.clock.Now())
		if !changed {
			return nil
		}
		next := cur.DeepCopy()
		next.Spec.Taints = taints
		_, err = nc.nodes.Update(ctx, next, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("taints of node %s: %w", node, err)
	}
	return nil
}

// syncNoSchedule keeps the NoSchedule taints of the node named key in
// line with its conditions and spec.unschedulable.
func (nc *Controller) syncNoSchedule(ctx context.Context, key string) error {
	node, err := nc.nodeLister.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	add, remove := noScheduleTaints(node)
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	return nc.swapTaints(ctx, key, add, remove)
}

// markPodsNotReady sets the Ready condition of the node's pods to False
// (endpoints stop sending them traffic), with a NodeNotReady event on
// each pod changed.
func (nc *Controller) markPodsNotReady(ctx context.Context, pods []*corev1.Pod, node string) error {
	var errs []error
	for _, pod := range pods {
		if pod.Spec.NodeName != node {
			continue
		}
		i := readyIndex(pod)
		if i < 0 || pod.Status.Conditions[i].Status != corev1.ConditionTrue {
			continue
		}
		next := pod.DeepCopy()
		c := &next.Status.Conditions[i]
		c.Status = corev1.ConditionFalse
		c.LastTransitionTime = metav1.NewTime(nc.clock.Now())
		if _, err := nc.pods.UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err))
			}
			continue
		}
		nc.nodeEvents.Event(client.PodRef(pod), corev1.EventTypeWarning, "NodeNotReady", "Node is not ready")
	}
	return errors.Join(errs...)
}

func readyIndex(pod *corev1.Pod) int {
	for i, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return i
		}
	}
	return -1
}
