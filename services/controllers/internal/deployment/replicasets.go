package deployment

import (
	"context"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// replicaSets returns d's new ReplicaSet (created when create and
// missing; nil otherwise) and its old ones, bringing the new one's
// annotations (revision, copied annotations) and minReadySeconds, and
// d's revision annotation, up to date.
func (r *rollout) replicaSets(ctx context.Context, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	existing := findNewReplicaSet(r.d, r.rsList)
	oldRSs := oldReplicaSets(r.rsList, existing)
	newRS, err := r.newReplicaSet(ctx, existing, oldRSs, create)
	if err != nil {
		return nil, nil, err
	}
	return newRS, oldRSs, nil
}

func (r *rollout) newReplicaSet(ctx context.Context, existing *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, error) {
	d := r.d
	newRevision := maxRevision(oldRSs) + 1
	now := r.dc.clock.Now()
	if existing != nil {
		rs := existing.DeepCopy()
		annotated := setNewReplicaSetAnnotations(d, rs, newRevision, true)
		if annotated || rs.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			rs.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			out, err := r.dc.replicaSets.Update(ctx, rs, metav1.UpdateOptions{})
			if err != nil {
				return nil, fmt.Errorf("update replica set %s/%s: %w", rs.Namespace, rs.Name, err)
			}
			// d's revision follows at the next sync (this update queues it).
			r.replace(out)
			return out, nil
		}
		if err := r.setRevision(ctx, rs.Annotations[RevisionAnnotation]); err != nil {
			return nil, err
		}
		if hasProgressDeadline(d) && getCondition(r.d.Status, appsv1.DeploymentProgressing) == nil {
			setCondition(&r.d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonFoundNewRS,
				fmt.Sprintf("Found new replica set %q", rs.Name), now))
			if err := r.writeStatus(ctx); err != nil {
				return nil, err
			}
		}
		return rs, nil
	}
	if !create {
		return nil, nil
	}

	want := newReplicaSetFor(d, oldRSs, newRevision)
	created, err := r.dc.replicaSets.Create(ctx, want, metav1.CreateOptions{})
	alreadyExists := false
	switch {
	case apierrors.IsAlreadyExists(err):
		// Our own, created by an earlier sync the cache has not shown
		// yet, or a namesake: a hash collision.
		alreadyExists = true
		rs, getErr := r.dc.replicaSets.Get(ctx, want.Namespace, want.Name, metav1.GetOptions{})
		if getErr != nil {
			return nil, fmt.Errorf("get replica set %s/%s: %w", want.Namespace, want.Name, getErr)
		}
		if ref := metav1.GetControllerOfNoCopy(rs); ref != nil && ref.UID == d.UID && equalIgnoreHash(&d.Spec.Template, &rs.Spec.Template) {
			created, err = rs, nil
			break
		}
		var count int32
		if r.d.Status.CollisionCount != nil {
			count = *r.d.Status.CollisionCount
		}
		count++
		r.d.Status.CollisionCount = &count
		r.dc.log.Info("pod template hash collision; bumping collisionCount", "deployment", r.key, "collisionCount", count)
		if werr := r.writeStatus(ctx); werr != nil {
			return nil, werr
		}
		return nil, fmt.Errorf("replica set %s/%s exists with another template: %w", want.Namespace, want.Name, err)
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil, err
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", want.Name, err)
		if hasProgressDeadline(d) {
			setCondition(&r.d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonFailedRSCreate, msg, now))
			// The creation error is the one worth returning.
			_ = r.writeStatus(ctx)
		}
		r.dc.event(r.d, corev1.EventTypeWarning, ReasonFailedRSCreate, msg)
		return nil, fmt.Errorf("create replica set %s/%s: %w", want.Namespace, want.Name, err)
	}
	if !alreadyExists && rsReplicas(created) > 0 {
		r.dc.event(r.d, corev1.EventTypeNormal, "ScalingReplicaSet",
			fmt.Sprintf("Scaled up replica set %s from 0 to %d", created.Name, rsReplicas(created)))
	}
	r.rsList = append(r.rsList, created)
	if err := r.setRevision(ctx, strconv.FormatInt(newRevision, 10)); err != nil {
		return nil, err
	}
	if !alreadyExists && hasProgressDeadline(r.d) {
		setCondition(&r.d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated,
			fmt.Sprintf("Created new replica set %q", created.Name), now))
		if err := r.writeStatus(ctx); err != nil {
			return nil, err
		}
	}
	return created, nil
}

// newReplicaSetFor is the ReplicaSet to create for d's template at
// revision: named <deployment>-<pod-template-hash>, the hash label added
// to its selector, template and labels, owned by d, sized as far as
// the rollout allows already.
func newReplicaSetFor(d *appsv1.Deployment, oldRSs []*appsv1.ReplicaSet, revision int64) *appsv1.ReplicaSet {
	template := d.Spec.Template.DeepCopy()
	hash := computeHash(template, d.Status.CollisionCount)
	template.Labels = withLabel(d.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	selector := d.Spec.Selector.DeepCopy()
	if selector == nil {
		selector = &metav1.LabelSelector{}
	}
	selector.MatchLabels = withLabel(selector.MatchLabels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	var zero int32
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			Labels:          withLabel(d.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey, hash),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, kind)},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &zero, MinReadySeconds: d.Spec.MinReadySeconds, Selector: selector, Template: *template,
		},
	}
	n := newReplicaSetReplicas(d, withNew(oldRSs, rs), rs)
	rs.Spec.Replicas = &n
	setNewReplicaSetAnnotations(d, rs, revision, false)
	return rs
}

// withLabel returns a copy of m with key=value.
func withLabel(m map[string]string, key, value string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out[key] = value
	return out
}

// setRevision records revision in d's revision annotation (metadata:
// an update of the Deployment itself).
func (r *rollout) setRevision(ctx context.Context, revision string) error {
	if r.d.Annotations[RevisionAnnotation] == revision {
		return nil
	}
	next := r.d.DeepCopy()
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[RevisionAnnotation] = revision
	out, err := r.dc.deployments.Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("set revision of deployment %s: %w", r.key, err)
	}
	// Keep the status edits of this sync not written yet.
	out.Status = r.d.Status
	r.d = out
	return nil
}

// apply makes the resizes of plan in order, stopping at the first
// failure; *newRS and oldRSs are updated with what the API server
// returned.
func (r *rollout) apply(ctx context.Context, plan []scaling, newRS **appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) error {
	for _, s := range plan {
		out, err := r.scaleReplicaSet(ctx, s.rs, s.to)
		if err != nil {
			return err
		}
		if *newRS != nil && (*newRS).UID == out.UID {
			*newRS = out
		}
		for i := range oldRSs {
			if oldRSs[i].UID == out.UID {
				oldRSs[i] = out
			}
		}
		r.replace(out)
	}
	return nil
}

// scaleReplicaSet sets rs's replicas to n, and its replicas annotations
// to d's, recording ScalingReplicaSet when the size changes.
func (r *rollout) scaleReplicaSet(ctx context.Context, rs *appsv1.ReplicaSet, n int32) (*appsv1.ReplicaSet, error) {
	desired, maxReplicas := replicas(r.d), replicas(r.d)+maxSurge(r.d)
	from := rsReplicas(rs)
	if from == n && !replicasAnnotationsNeedUpdate(rs, desired, maxReplicas) {
		return rs, nil
	}
	next := rs.DeepCopy()
	next.Spec.Replicas = &n
	setReplicasAnnotations(next, desired, maxReplicas)
	out, err := r.dc.replicaSets.Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("scale replica set %s/%s to %d: %w", rs.Namespace, rs.Name, n, err)
	}
	if from != n {
		op := "up"
		if n < from {
			op = "down"
		}
		r.dc.event(r.d, corev1.EventTypeNormal, "ScalingReplicaSet",
			fmt.Sprintf("Scaled %s replica set %s from %d to %d", op, rs.Name, from, n))
	}
	return out, nil
}

// replace puts rs in place of the entry of rsList with its UID.
func (r *rollout) replace(rs *appsv1.ReplicaSet) {
	for i := range r.rsList {
		if r.rsList[i].UID == rs.UID {
			r.rsList[i] = rs
			return
		}
	}
}

// cleanup deletes the old ReplicaSets beyond revisionHistoryLimit.
func (r *rollout) cleanup(ctx context.Context, oldRSs []*appsv1.ReplicaSet) error {
	for _, rs := range cleanupPlan(r.d, oldRSs) {
		uid := rs.UID
		err := r.dc.replicaSets.Delete(ctx, rs.Namespace, rs.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete old replica set %s/%s: %w", rs.Namespace, rs.Name, err)
		}
		r.dc.log.Debug("deleted old replica set", "deployment", r.key, "replicaset", rs.Name, "revision", revision(rs))
	}
	return nil
}
