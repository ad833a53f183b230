package daemonset

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

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

// sync brings the DaemonSet key names to its desired state: pods on the
// nodes that should run it, none elsewhere, the update strategy's next
// step, and its status.
func (dsc *Controller) sync(ctx context.Context, key string) error {
	ns, n := controller.SplitKey(key)
	ds, err := listers.NewNamespaced(dsc.dsLister, ns).Get(n)
	if apierrors.IsNotFound(err) {
		dsc.creations.Delete(key)
		dsc.deletions.Delete(key)
		return nil
	}
	if err != nil {
		return err
	}
	if ds.DeletionTimestamp != nil {
		return nil // its pods go with it (garbage collector)
	}
	nodes, err := dsc.nodeLister.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	pods, err := dsc.podsByNode(ctx, ds)
	if err != nil {
		return err
	}
	cur, old, err := dsc.constructHistory(ctx, ds, pods)
	if err != nil {
		return err
	}
	hash := revisionHash(cur)
	if hash == "" {
		// A revision someone else made: hash the template ourselves.
		if hash, err = templateHash(&ds.Spec.Template, ds.Status.CollisionCount); err != nil {
			return err
		}
	}
	if !dsc.satisfied(key) {
		// Pods asked for are not in the cache yet: counts would be
		// stale. Status only, without claiming this generation.
		return dsc.updateStatus(ctx, ds, nodes, pods, hash, false)
	}
	err = dsc.manage(ctx, ds, nodes, pods, hash)
	if err == nil && dsc.satisfied(key) && ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		err = dsc.rollingUpdate(ctx, ds, nodes, pods, hash)
	}
	if err == nil {
		err = dsc.cleanupHistory(ctx, ds, old, pods)
	}
	return errors.Join(err, dsc.updateStatus(ctx, ds, nodes, pods, hash, true))
}

// canAdopt rechecks, before the first adoption of a sync, that ds is
// still there and not being deleted.
func (dsc *Controller) canAdopt(ds *appsv1.DaemonSet) func(context.Context) error {
	return controller.RecheckOwner(ds, func(ctx context.Context) (*appsv1.DaemonSet, error) {
		return dsc.daemonSets.Get(ctx, ds.Namespace, ds.Name, metav1.GetOptions{})
	})
}

func (dsc *Controller) satisfied(key string) bool {
	return dsc.creations.Satisfied(key) && dsc.deletions.Satisfied(key)
}

// podsByNode claims the DaemonSet's pods (adopting matching orphans,
// releasing pods it no longer selects) and groups them by the node they
// are for. Finished pods being deleted no longer count.
func (dsc *Controller) podsByNode(ctx context.Context, ds *appsv1.DaemonSet) (nodePods, error) {
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector of daemonset %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	all, err := listers.NewNamespaced(dsc.podLister, ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	m := &controller.RefManager{
		Owner: ds, OwnerGVK: gvk, Selector: sel,
		Patch: func(ctx context.Context, namespace, name string, pt types.PatchType, data []byte) error {
			_, err := dsc.pods.Patch(ctx, namespace, name, pt, data, metav1.PatchOptions{})
			return err
		},
		CanAdopt: dsc.canAdopt(ds),
	}
	claimed, claimErr := controller.Claim(ctx, m, all)
	out := nodePods{}
	for _, pod := range claimed {
		if pod.DeletionTimestamp != nil && terminal(pod) {
			continue
		}
		node, err := targetNode(pod)
		if err != nil {
			dsc.log.Warn("daemon pod for no node", "daemonset", dsKey(ds), "pod", pod.Name, "err", err)
			continue
		}
		out[node] = append(out[node], pod)
	}
	return out, claimErr
}

func terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// manage creates the missing daemon pods and deletes the ones that must
// go, and reports failed pods.
func (dsc *Controller) manage(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, pods nodePods, hash string) error {
	plan := planManage(ds, nodes, pods, hash, dsc.clock.Now(), func(node string) bool {
		return dsc.failed.wait(backoffKey(ds, node)) > 0
	})
	key := dsKey(ds)
	for _, node := range plan.backingOff {
		dsc.loop.EnqueueAfter(key, dsc.failed.wait(backoffKey(ds, node)))
	}
	for node, failed := range plan.failed {
		dsc.failed.next(backoffKey(ds, node))
		for _, pod := range failed {
			dsc.recorder.Event(controller.Ref(ds, gvk), corev1.EventTypeWarning, "FailedDaemonPod",
				fmt.Sprintf("Found failed daemon pod %s/%s on node %s, will try to kill it", pod.Namespace, pod.Name, node))
		}
	}
	return dsc.syncNodes(ctx, ds, plan.deletes, plan.createOn, hash)
}

// backoffKey names the failed-pod back-off of ds on node.
func backoffKey(ds *appsv1.DaemonSet, node string) string {
	return string(ds.UID) + "/" + node
}

// rollingUpdate takes the next step of a RollingUpdate.
func (dsc *Controller) rollingUpdate(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, pods nodePods, hash string) error {
	plan, err := planRollingUpdate(ds, nodes, pods, hash, dsc.clock.Now())
	if err != nil {
		return err
	}
	return dsc.syncNodes(ctx, ds, plan.deletes, plan.createOn, hash)
}

// syncNodes deletes pods and creates one daemon pod on each node of
// createOn (at most burstReplicas of each), with expectations set first
// so that the next syncs wait for the cache to show them.
func (dsc *Controller) syncNodes(ctx context.Context, ds *appsv1.DaemonSet, deletes []*corev1.Pod, createOn []string, hash string) error {
	key := dsKey(ds)
	createOn = createOn[:min(len(createOn), burstReplicas)]
	deletes = deletes[:min(len(deletes), burstReplicas)]
	if len(createOn) == 0 && len(deletes) == 0 {
		return nil
	}
	deleteKeys := make([]string, len(deletes))
	for i, pod := range deletes {
		deleteKeys[i] = podKey(pod)
	}
	dsc.creations.ExpectCreations(key, len(createOn))
	dsc.deletions.ExpectDeletions(key, deleteKeys)

	generation := templateGeneration(ds)
	var calls atomic.Int32
	_, createErr := controller.SlowStartBatch(len(createOn), 1, func(i int) error {
		calls.Add(1)
		pod := newPod(ds, createOn[i], hash, generation)
		if _, err := dsc.podControl.Create(ctx, pod, ds, gvk); err != nil {
			dsc.creations.CreationObserved(key) // never coming
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			return fmt.Errorf("create daemon pod on node %s: %w", createOn[i], err)
		}
		return nil
	})
	for range len(createOn) - int(calls.Load()) {
		dsc.creations.CreationObserved(key) // skipped after a failure
	}

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, pod := range deletes {
		wg.Go(func() {
			if err := dsc.podControl.Delete(ctx, pod, ds, gvk); err != nil {
				dsc.deletions.DeletionObserved(key, podKey(pod))
				mu.Lock()
				errs = append(errs, fmt.Errorf("delete daemon pod %s: %w", pod.Name, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(append(errs, createErr)...)
}

// newPod is the daemon pod of ds for node: the template with the
// revision labels, the daemon tolerations and the affinity that pins it
// to node.
func newPod(ds *appsv1.DaemonSet, node, hash, generation string) *corev1.Pod {
	tmpl := ds.Spec.Template.DeepCopy()
	if tmpl.Labels == nil {
		tmpl.Labels = map[string]string{}
	}
	tmpl.Labels[templateGenerationLabel] = generation
	tmpl.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	addDaemonTolerations(&tmpl.Spec)
	pinToNode(&tmpl.Spec, node)
	return controller.PodFromTemplate(tmpl, ds, gvk)
}

// updateStatus writes the DaemonSet's status counts when they changed;
// observed says whether this sync acted on the DaemonSet's current
// generation.
func (dsc *Controller) updateStatus(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, pods nodePods, hash string, observed bool) error {
	st := computeStatus(ds, nodes, pods, hash, dsc.clock.Now())
	if observed {
		st.ObservedGeneration = ds.Generation
	}
	if ds.Spec.MinReadySeconds > 0 && st.NumberReady != st.NumberAvailable {
		// Ready pods turn available later: count them again then.
		dsc.loop.EnqueueAfter(dsKey(ds), time.Duration(ds.Spec.MinReadySeconds)*time.Second)
	}
	if equality.Semantic.DeepEqual(ds.Status, st) {
		return nil
	}
	next := ds.DeepCopy()
	next.Status = st
	if _, err := dsc.daemonSets.UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("update status of daemonset %s: %w", dsKey(ds), err)
	}
	return nil
}
