package statefulset

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/listers"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
	"github.com/gantry-dev/gantry/services/controllers/internal/history"
)

// staleClaimRecheck is how soon a pod waiting for a stale claim to be
// garbage-collected is looked at again.
const staleClaimRecheck = time.Second

// sync brings the StatefulSet key names to its desired state.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name := controller.SplitKey(key)
	cached, err := listers.NewNamespaced(c.setsLs, ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil // its pods and claims go with the garbage collector
	}
	if err != nil {
		return fmt.Errorf("get statefulset %s: %w", key, err)
	}
	set := cached.DeepCopy()
	log := c.log.With("statefulset", key)

	selector, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil || selector.Empty() {
		// The API server refuses such sets; nothing sensible to do.
		log.Warn("invalid selector", "err", err)
		return nil
	}
	canAdopt := controller.RecheckOwner(set, func(ctx context.Context) (*appsv1.StatefulSet, error) {
		return c.sets.Get(ctx, set.Namespace, set.Name, metav1.GetOptions{})
	})
	revs, err := c.history.Claim(ctx, set, setKind, selector, canAdopt)
	if err != nil {
		return err
	}
	history.Sort(revs)
	pods, err := c.claimPods(ctx, set, selector, canAdopt)
	if err != nil {
		return err
	}
	r, err := c.syncRevisions(ctx, set, revs)
	if err != nil {
		return err
	}
	tmpls := map[string]*corev1.PodTemplateSpec{r.update.Name: &set.Spec.Template, r.current.Name: r.currentTemplate}

	v, err := viewOf(set, r.current.Name, r.update.Name)
	if err != nil {
		return err
	}
	now := c.clock.Now()
	p := plan(v, pods, now)
	updated, execErr := c.execute(ctx, set, v, p, tmpls)
	if p.Waiting != "" {
		log.Debug("waiting", "for", p.Waiting)
	}

	status := computeStatus(set, pods, r.current.Name, r.update.Name, r.collisions, v.MinReady, now)
	status.CurrentReplicas -= int32(updated)
	completeRollingUpdate(set, &status)
	statusErr := c.writeStatus(ctx, set, status)
	var pruneErr error
	if !v.Deleting {
		pruneErr = c.pruneHistory(ctx, set, revs, r, pods)
	}

	if errors.Is(execErr, errStaleClaim) {
		log.Debug("waiting for a stale claim to go", "err", execErr)
		c.loop.EnqueueAfter(key, staleClaimRecheck)
		execErr = nil
	}
	if p.RecheckAfter > 0 {
		c.loop.EnqueueAfter(key, p.RecheckAfter)
	}
	return errors.Join(execErr, statusErr, pruneErr)
}

// claimPods returns the pods set controls, adopting orphans its selector
// matches (and whose names make them its members) and releasing those it
// no longer selects.
func (c *Controller) claimPods(ctx context.Context, set *appsv1.StatefulSet, selector labels.Selector,
	canAdopt func(context.Context) error) ([]*corev1.Pod, error) {
	all, err := listers.NewNamespaced(c.podsLs, set.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	var members []*corev1.Pod
	for _, pod := range all {
		if isMember(set, pod) {
			members = append(members, pod)
		}
	}
	m := &controller.RefManager{
		Owner: set, OwnerGVK: setKind, Selector: selector,
		Patch: func(ctx context.Context, namespace, name string, pt types.PatchType, data []byte) error {
			_, err := c.pods.Patch(ctx, namespace, name, pt, data, metav1.PatchOptions{})
			return err
		},
		CanAdopt: canAdopt,
	}
	return controller.Claim(ctx, m, members)
}

// viewOf is what plan needs of set.
func viewOf(set *appsv1.StatefulSet, currentRev, updateRev string) (view, error) {
	n := replicas(set)
	v := view{
		Name: set.Name, Start: startOrdinal(set), Replicas: n,
		Parallel:        set.Spec.PodManagementPolicy == appsv1.ParallelPodManagement,
		OnDelete:        set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType,
		MaxUnavailable:  1,
		MinReady:        time.Duration(set.Spec.MinReadySeconds) * time.Second,
		Deleting:        set.DeletionTimestamp != nil,
		HasClaims:       len(set.Spec.VolumeClaimTemplates) > 0,
		CurrentRevision: currentRev, UpdateRevision: updateRev,
	}
	if ru := set.Spec.UpdateStrategy.RollingUpdate; !v.OnDelete && ru != nil {
		if ru.Partition != nil {
			v.Partition = int(*ru.Partition)
		}
		v.CurrentBelow = v.Partition
		if ru.MaxUnavailable != nil {
			mu, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, n, false)
			if err != nil {
				return v, fmt.Errorf("statefulset %s/%s maxUnavailable: %w", set.Namespace, set.Name, err)
			}
			v.MaxUnavailable = max(mu, 1)
		}
	} else if !v.OnDelete {
		// A rolling update without parameters re-creates the pods the
		// current revision still has at that revision.
		v.CurrentBelow = int(set.Status.CurrentReplicas)
	}
	return v, nil
}

// execute carries out p; it returns how many pods were deleted for the
// update (they no longer count as current).
func (c *Controller) execute(ctx context.Context, set *appsv1.StatefulSet, v view, p Plan, tmpls map[string]*corev1.PodTemplateSpec) (int, error) {
	var mu sync.Mutex
	updated := 0
	run := func(s step) error {
		switch s.Kind {
		case createPod:
			tmpl, rev := tmpls[s.Revision], s.Revision
			if tmpl == nil {
				tmpl, rev = tmpls[v.UpdateRevision], v.UpdateRevision
			}
			return c.control.create(ctx, set, newPod(set, tmpl, s.Ordinal, rev))
		case deletePod:
			c.log.Info("deleting pod", "statefulset", set.Namespace+"/"+set.Name, "pod", s.Pod.Name, "reason", s.Reason)
			if err := c.control.delete(ctx, set, s.Pod); err != nil {
				return err
			}
			if s.Reason == reasonUpdate && revisionOf(s.Pod) == v.CurrentRevision {
				mu.Lock()
				updated++
				mu.Unlock()
			}
			return nil
		case relabel:
			return c.control.relabel(ctx, set, s.Pod)
		case ensureClaims:
			return c.control.ensureClaims(ctx, set, s.Pod)
		case syncClaimOwners:
			return c.control.syncClaimOwners(ctx, set, s.Pod)
		}
		return fmt.Errorf("unknown step %v", s)
	}
	for _, ph := range p.Phases {
		if err := runPhase(ph.Steps, v.Parallel, run); err != nil {
			return updated, fmt.Errorf("statefulset %s/%s %s: %w", set.Namespace, set.Name, ph.Name, err)
		}
	}
	return updated, nil
}

// runPhase runs steps in order, stopping at the first error, or, when
// parallel, in growing batches run at once (stopping after a batch with
// an error).
func runPhase(steps []step, parallel bool, run func(step) error) error {
	if !parallel {
		for _, s := range steps {
			if err := run(s); err != nil {
				return err
			}
		}
		return nil
	}
	var mu sync.Mutex
	var errs []error
	_, _ = controller.SlowStartBatch(len(steps), 1, func(i int) error {
		err := run(steps[i])
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		return err
	})
	return errors.Join(errs...)
}
