package replicaset

import (
	"context"
	"errors"
	"fmt"
	"sync"

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

// slowStartInitialBatch is the first batch of pod creations (Kubernetes'
// SlowStartInitialBatchSize).
const slowStartInitialBatch = 1

// sync brings the ReplicaSet key names to its desired pods, then writes
// its status.
func (rc *Controller) sync(ctx context.Context, key string) error {
	ns, name := controller.SplitKey(key)
	rs, err := listers.NewNamespaced(rc.rsLister, ns).Get(name)
	if apierrors.IsNotFound(err) {
		rc.expectations.Delete(key)
		return nil
	}
	if err != nil {
		return err
	}
	// Read before listing pods: expectations met now are met by the
	// cache listed next.
	needsSync := rc.expectations.Satisfied(key)
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		rc.log.Warn("invalid selector; ignoring the replica set", "replicaset", key, "err", err)
		return nil
	}
	all, err := listers.NewNamespaced(rc.podLister, ns).List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list pods of %s: %w", key, err)
	}
	var active, terminating []*corev1.Pod
	for _, p := range all {
		switch {
		case isPodActive(p):
			active = append(active, p)
		case isPodTerminating(p) && ownedBy(p, rs.UID) && selector.Matches(labels.Set(p.Labels)):
			terminating = append(terminating, p)
		}
	}
	active, err = rc.claimPods(ctx, rs, selector, active)
	if err != nil {
		return err
	}

	var manageErr error
	var failedOp string
	if needsSync && rs.DeletionTimestamp == nil {
		var deleted []*corev1.Pod
		deleted, failedOp, manageErr = rc.manageReplicas(ctx, rs, active)
		active = without(active, deleted)
	}
	status, recheck := calculateStatus(statusInput{
		rs: rs, active: active, terminating: terminating,
		manageErr: manageErr, failedOp: failedOp, now: rc.clock.Now(),
	})
	if err := rc.writeStatus(ctx, rs, status); err != nil {
		return errors.Join(manageErr, err)
	}
	if manageErr == nil && recheck > 0 {
		rc.loop.EnqueueAfter(key, recheck)
	}
	return manageErr
}

// claimPods adopts matching orphans among pods and releases children
// that no longer match; it returns the pods rs controls.
func (rc *Controller) claimPods(ctx context.Context, rs *appsv1.ReplicaSet, selector labels.Selector, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	m := &controller.RefManager{
		Owner: rs, OwnerGVK: kind, Selector: selector,
		Patch: func(ctx context.Context, ns, name string, pt types.PatchType, data []byte) error {
			_, err := rc.pods.Patch(ctx, ns, name, pt, data, metav1.PatchOptions{})
			return err
		},
		CanAdopt: controller.RecheckOwner(rs, func(ctx context.Context) (*appsv1.ReplicaSet, error) {
			return rc.replicaSets.Get(ctx, rs.Namespace, rs.Name, metav1.GetOptions{})
		}),
	}
	return controller.Claim(ctx, m, pods)
}

// manageReplicas creates or deletes pods as planReplicas decides. It
// returns the pods it deleted and, on failure, which operation failed.
func (rc *Controller) manageReplicas(ctx context.Context, rs *appsv1.ReplicaSet, active []*corev1.Pod) ([]*corev1.Pod, string, error) {
	rsKey := key(rs)
	replicas := 1
	if rs.Spec.Replicas != nil {
		replicas = int(*rs.Spec.Replicas)
	}
	p := planReplicas(replicas, active, rc.relatedPods(rs), rc.burst)
	switch {
	case p.create > 0:
		rc.log.Debug("too few replicas", "replicaset", rsKey, "want", replicas, "creating", p.create)
		// Expect them all before the first is created: its watch event
		// may arrive before Create returns.
		rc.expectations.ExpectCreations(rsKey, p.create)
		done, err := controller.SlowStartBatch(p.create, slowStartInitialBatch, func(int) error {
			pod := controller.PodFromTemplate(&rs.Spec.Template, rs, kind)
			_, err := rc.podControl.Create(ctx, pod, rs, kind)
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil // every creation fails until the namespace is gone
			}
			return err
		})
		// Creations never attempted, or failed, will never be seen.
		for range p.create - done {
			rc.expectations.CreationObserved(rsKey)
		}
		if err != nil {
			return nil, ReasonFailedCreate, fmt.Errorf("create pods of %s: %w", rsKey, err)
		}
	case len(p.delete) > 0:
		rc.log.Debug("too many replicas", "replicaset", rsKey, "want", replicas, "deleting", len(p.delete))
		keys := make([]string, len(p.delete))
		for i, pod := range p.delete {
			keys[i] = key(pod)
		}
		rc.expectations.ExpectDeletions(rsKey, keys)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			errs    []error
			deleted []*corev1.Pod
		)
		for _, pod := range p.delete {
			wg.Go(func() {
				err := rc.podControl.Delete(ctx, pod, rs, kind)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					// Its deletion will never be seen.
					rc.expectations.DeletionObserved(rsKey, key(pod))
					errs = append(errs, err)
					return
				}
				deleted = append(deleted, pod)
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			return deleted, ReasonFailedDelete, fmt.Errorf("delete pods of %s: %w", rsKey, errs[0])
		}
		return deleted, "", nil
	}
	return nil, "", nil
}

// relatedPods returns the active pods of every ReplicaSet with the same
// controller as rs (the ReplicaSets of its Deployment), rs included.
func (rc *Controller) relatedPods(rs *appsv1.ReplicaSet) []*corev1.Pod {
	owners := map[types.UID]bool{rs.UID: true}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		siblings, err := listers.NewNamespaced(rc.rsLister, rs.Namespace).List(labels.Everything())
		if err == nil {
			for _, s := range siblings {
				if r := metav1.GetControllerOfNoCopy(s); r != nil && r.UID == ref.UID {
					owners[s.UID] = true
				}
			}
		}
	}
	pods, err := listers.NewNamespaced(rc.podLister, rs.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*corev1.Pod
	for _, p := range pods {
		if r := metav1.GetControllerOfNoCopy(p); r != nil && owners[r.UID] && isPodActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// writeStatus writes status unless the cached one already says it. A
// conflict caused by a status or metadata change only (often this
// controller's previous write, not yet in the cache) is retried once on
// the fresh object; a spec change is left to the sync its event queues.
func (rc *Controller) writeStatus(ctx context.Context, rs *appsv1.ReplicaSet, status appsv1.ReplicaSetStatus) error {
	if equality.Semantic.DeepEqual(rs.Status, status) {
		return nil
	}
	next := rs.DeepCopy()
	for attempt := 0; ; attempt++ {
		next.Status = status
		_, err := rc.replicaSets.UpdateStatus(ctx, next, metav1.UpdateOptions{})
		switch {
		case err == nil, apierrors.IsNotFound(err):
			return nil
		case !apierrors.IsConflict(err) || attempt > 0:
			return fmt.Errorf("update status of %s: %w", key(rs), err)
		}
		fresh, getErr := rc.replicaSets.Get(ctx, rs.Namespace, rs.Name, metav1.GetOptions{})
		if getErr != nil || fresh.UID != rs.UID || fresh.Generation != rs.Generation {
			return fmt.Errorf("update status of %s: %w", key(rs), err)
		}
		if equality.Semantic.DeepEqual(fresh.Status, status) {
			return nil
		}
		next = fresh
	}
}

func ownedBy(obj metav1.Object, uid types.UID) bool {
	ref := metav1.GetControllerOfNoCopy(obj)
	return ref != nil && ref.UID == uid
}

// without returns pods minus those in gone.
func without(pods, gone []*corev1.Pod) []*corev1.Pod {
	if len(gone) == 0 {
		return pods
	}
	skip := make(map[types.UID]bool, len(gone))
	for _, p := range gone {
		skip[p.UID] = true
	}
	out := make([]*corev1.Pod, 0, len(pods))
	for _, p := range pods {
		if !skip[p.UID] {
			out = append(out, p)
		}
	}
	return out
}
