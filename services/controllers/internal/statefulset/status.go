package statefulset

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// statusRetries bounds the status writes retried after a conflict.
const statusRetries = 5

// computeStatus counts set's pods: replicas are the pods that exist,
// ready ones are Running and Ready, available ones have been ready for
// minReady; current and updated ones are, among those not terminating,
// at the current and the update revision. collisions is the collision
// count.
func computeStatus(set *appsv1.StatefulSet, pods []*corev1.Pod, currentRev, updateRev string, collisions int32,
	minReady time.Duration, now time.Time) appsv1.StatefulSetStatus {
	s := appsv1.StatefulSetStatus{
		ObservedGeneration: set.Generation,
		CurrentRevision:    currentRev,
		UpdateRevision:     updateRev,
		CollisionCount:     &collisions,
		Conditions:         set.Status.Conditions,
	}
	for _, pod := range pods {
		if ordinalOf(pod) < 0 {
			continue
		}
		if isCreated(pod) {
			s.Replicas++
		}
		if isRunningAndReady(pod) {
			s.ReadyReplicas++
			if isAvailable(pod, minReady, now) {
				s.AvailableReplicas++
			}
		}
		if isCreated(pod) && !isTerminating(pod) {
			if revisionOf(pod) == currentRev {
				s.CurrentReplicas++
			}
			if revisionOf(pod) == updateRev {
				s.UpdatedReplicas++
			}
		}
	}
	return s
}

// completeRollingUpdate makes the update revision current once every
// replica is at it and ready.
func completeRollingUpdate(set *appsv1.StatefulSet, s *appsv1.StatefulSetStatus) {
	want := int32(replicas(set))
	if set.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType &&
		s.UpdatedReplicas == want && s.ReadyReplicas == want && s.Replicas == want {
		s.CurrentReplicas = s.UpdatedReplicas
		s.CurrentRevision = s.UpdateRevision
	}
}

// writeStatus writes status to set unless it has it already, retrying
// with the latest set on conflicts.
func (c *Controller) writeStatus(ctx context.Context, set *appsv1.StatefulSet, status appsv1.StatefulSetStatus) error {
	if equality.Semantic.DeepEqual(set.Status, status) {
		return nil
	}
	obj := set.DeepCopy()
	for i := 0; ; i++ {
		obj.Status = status
		_, err := c.sets.UpdateStatus(ctx, obj, metav1.UpdateOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) || i+1 >= statusRetries {
			return fmt.Errorf("update status of statefulset %s/%s: %w", set.Namespace, set.Name, err)
		}
		fresh, gerr := c.sets.Get(ctx, set.Namespace, set.Name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("update status of statefulset %s/%s: %w", set.Namespace, set.Name, gerr)
		}
		if fresh.UID != set.UID {
			return nil
		}
		obj = fresh
	}
}
