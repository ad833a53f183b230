package deployment

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/listers"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// rollout is one sync of one Deployment: d is a private copy, refreshed
// by every write so the next one does not conflict, and rsList its
// ReplicaSets.
type rollout struct {
	dc     *Controller
	key    string
	d      *appsv1.Deployment
	rsList []*appsv1.ReplicaSet
}

// sync brings the Deployment key names one step closer to its desired
// state, then writes its status.
func (dc *Controller) sync(ctx context.Context, key string) error {
	ns, name := controller.SplitKey(key)
	cached, err := listers.NewNamespaced(dc.dLister, ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	r := &rollout{dc: dc, key: key, d: cached.DeepCopy()}
	d := r.d
	if d.Spec.Selector == nil || equality.Semantic.DeepEqual(d.Spec.Selector, &metav1.LabelSelector{}) {
		dc.event(d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			return r.writeStatus(ctx)
		}
		return nil
	}
	if r.rsList, err = dc.claimReplicaSets(ctx, d); err != nil {
		return err
	}
	if d.DeletionTimestamp != nil {
		return r.syncStatusOnly(ctx)
	}
	if err := r.checkPausedConditions(ctx); err != nil {
		return err
	}
	if r.d.Spec.Paused {
		return r.syncScale(ctx)
	}
	scaling, err := r.isScalingEvent(ctx)
	if err != nil {
		return err
	}
	if scaling {
		return r.syncScale(ctx)
	}
	switch r.d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		return r.rolloutRecreate(ctx)
	case appsv1.RollingUpdateDeploymentStrategyType:
		return r.rolloutRolling(ctx)
	}
	return fmt.Errorf("deployment %s: unexpected strategy type %q", key, r.d.Spec.Strategy.Type)
}

// claimReplicaSets returns the ReplicaSets d controls, adopting matching
// orphans and releasing those that no longer match.
func (dc *Controller) claimReplicaSets(ctx context.Context, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s has an invalid selector: %w", d.Namespace, d.Name, err)
	}
	all, err := listers.NewNamespaced(dc.rsLister, d.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	m := &controller.RefManager{
		Owner: d, OwnerGVK: kind, Selector: selector,
		Patch: func(ctx context.Context, ns, name string, pt types.PatchType, data []byte) error {
			_, err := dc.replicaSets.Patch(ctx, ns, name, pt, data, metav1.PatchOptions{})
			return err
		},
		CanAdopt: controller.RecheckOwner(d, func(ctx context.Context) (*appsv1.Deployment, error) {
			return dc.deployments.Get(ctx, d.Namespace, d.Name, metav1.GetOptions{})
		}),
	}
	return controller.Claim(ctx, m, all)
}

// podsByReplicaSet groups the pods d selects by the UID of their
// ReplicaSet among rsList.
func (r *rollout) podsByReplicaSet() (map[types.UID][]*corev1.Pod, error) {
	selector, err := metav1.LabelSelectorAsSelector(r.d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	pods, err := listers.NewNamespaced(r.dc.podLister, r.d.Namespace).List(selector)
	if err != nil {
		return nil, err
	}
	out := make(map[types.UID][]*corev1.Pod, len(r.rsList))
	for _, rs := range r.rsList {
		out[rs.UID] = nil
	}
	for _, p := range pods {
		ref := metav1.GetControllerOfNoCopy(p)
		if ref == nil {
			continue
		}
		if _, ok := out[ref.UID]; ok {
			out[ref.UID] = append(out[ref.UID], p)
		}
	}
	return out, nil
}

// checkPausedConditions records pausing and resuming in the Progressing
// condition, so the time spent paused does not count against the
// progress deadline.
func (r *rollout) checkPausedConditions(ctx context.Context) error {
	d := r.d
	if !hasProgressDeadline(d) {
		return nil
	}
	cond := getCondition(d.Status, appsv1.DeploymentProgressing)
	if cond != nil && cond.Reason == ReasonTimedOut {
		return nil // a lack of progress already reported stays
	}
	pausedCond := cond != nil && cond.Reason == ReasonPaused
	now := r.dc.clock.Now()
	switch {
	case d.Spec.Paused && !pausedCond:
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonPaused, "Deployment is paused", now))
	case !d.Spec.Paused && pausedCond:
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonResumed, "Deployment is resumed", now))
	default:
		return nil
	}
	return r.writeStatus(ctx)
}

// isScalingEvent reports whether d's replicas changed since its active
// ReplicaSets were last sized (their desired-replicas annotation).
func (r *rollout) isScalingEvent(ctx context.Context) (bool, error) {
	newRS, oldRSs, err := r.replicaSets(ctx, false)
	if err != nil {
		return false, err
	}
	for _, rs := range activeReplicaSets(withNew(oldRSs, newRS)) {
		if desired, ok := intAnnotation(rs, DesiredReplicasAnnotation); ok && desired != replicas(r.d) {
			return true, nil
		}
	}
	return false, nil
}

// syncScale resizes the ReplicaSets to d's replicas without rolling out
// (a scaling event, or a paused Deployment), then writes status.
func (r *rollout) syncScale(ctx context.Context) error {
	newRS, oldRSs, err := r.replicaSets(ctx, false)
	if err != nil {
		return err
	}
	if err := r.apply(ctx, planScale(r.d, newRS, oldRSs), &newRS, oldRSs); err != nil {
		return err
	}
	if r.d.Spec.Paused {
		if err := r.cleanup(ctx, oldRSs); err != nil {
			return err
		}
	}
	return r.syncStatus(ctx, withNew(oldRSs, newRS), newRS)
}

// syncStatusOnly writes the status of a Deployment being deleted.
func (r *rollout) syncStatusOnly(ctx context.Context) error {
	newRS, oldRSs, err := r.replicaSets(ctx, false)
	if err != nil {
		return err
	}
	return r.syncStatus(ctx, withNew(oldRSs, newRS), newRS)
}

// rolloutRolling takes one step of a RollingUpdate.
func (r *rollout) rolloutRolling(ctx context.Context) error {
	newRS, oldRSs, err := r.replicaSets(ctx, true)
	if err != nil {
		return err
	}
	if step := planRollingUpdate(r.d, newRS, oldRSs); len(step) > 0 {
		if err := r.apply(ctx, step, &newRS, oldRSs); err != nil {
			return err
		}
		return r.syncRolloutStatus(ctx, withNew(oldRSs, newRS), newRS)
	}
	if deploymentComplete(r.d, &r.d.Status) {
		if err := r.cleanup(ctx, oldRSs); err != nil {
			return err
		}
	}
	return r.syncRolloutStatus(ctx, withNew(oldRSs, newRS), newRS)
}

// rolloutRecreate takes one step of a Recreate rollout: old
// ReplicaSets to zero, wait for their pods to be gone, then the new one
// (created only now) to replicas.
func (r *rollout) rolloutRecreate(ctx context.Context) error {
	newRS, oldRSs, err := r.replicaSets(ctx, false)
	if err != nil {
		return err
	}
	if step := planRecreateScaleDown(oldRSs); len(step) > 0 {
		if err := r.apply(ctx, step, &newRS, oldRSs); err != nil {
			return err
		}
		return r.syncRolloutStatus(ctx, withNew(oldRSs, newRS), newRS)
	}
	pods, err := r.podsByReplicaSet()
	if err != nil {
		return err
	}
	if oldPodsRunning(newRS, oldRSs, pods) {
		return r.syncRolloutStatus(ctx, withNew(oldRSs, newRS), newRS)
	}
	if newRS == nil {
		if newRS, oldRSs, err = r.replicaSets(ctx, true); err != nil {
			return err
		}
	}
	if newRS != nil && rsReplicas(newRS) != replicas(r.d) {
		if err := r.apply(ctx, []scaling{{rs: newRS, to: replicas(r.d)}}, &newRS, oldRSs); err != nil {
			return err
		}
	}
	if deploymentComplete(r.d, &r.d.Status) {
		if err := r.cleanup(ctx, oldRSs); err != nil {
			return err
		}
	}
	return r.syncRolloutStatus(ctx, withNew(oldRSs, newRS), newRS)
}

// syncStatus writes d's status computed from its ReplicaSets, when it
// changed (no Progressing bookkeeping: not a rollout).
func (r *rollout) syncStatus(ctx context.Context, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) error {
	st := calculateStatus(r.d, allRSs, newRS, r.dc.clock.Now())
	if equality.Semantic.DeepEqual(r.d.Status, st) {
		return nil
	}
	r.d.Status = st
	return r.writeStatus(ctx)
}

// syncRolloutStatus writes d's status with its Progressing condition;
// when nothing changed, it looks again when the progress deadline falls.
func (r *rollout) syncRolloutStatus(ctx context.Context, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) error {
	now := r.dc.clock.Now()
	st := rolloutStatus(r.d, allRSs, newRS, now)
	if !equality.Semantic.DeepEqual(r.d.Status, st) {
		r.d.Status = st
		return r.writeStatus(ctx)
	}
	switch after := requeueStuck(r.d, st, now); {
	case after == 0:
		r.dc.loop.EnqueueRateLimited(r.key)
	case after > 0:
		r.dc.loop.EnqueueAfter(r.key, after)
	}
	return nil
}

// writeStatus writes r.d's status and keeps what the API server
// returned.
func (r *rollout) writeStatus(ctx context.Context) error {
	out, err := r.dc.deployments.UpdateStatus(ctx, r.d, metav1.UpdateOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("update status of deployment %s: %w", r.key, err)
	}
	r.d = out
	return nil
}
