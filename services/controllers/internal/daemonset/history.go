package daemonset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/controllers/internal/history"
)

// defaultHistoryLimit is spec.revisionHistoryLimit when unset.
const defaultHistoryLimit = 10

// constructHistory finds or records the ControllerRevision of ds's
// template, as Kubernetes' daemon controller does, and returns it with
// the DaemonSet's other (old) revisions, oldest first. A template seen
// before re-uses its revision, renumbered as the newest (a rollback);
// duplicates of it are deleted once the pods labelled with their hash are
// relabelled.
func (dsc *Controller) constructHistory(ctx context.Context, ds *appsv1.DaemonSet, pods nodePods) (*appsv1.ControllerRevision, []*appsv1.ControllerRevision, error) {
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil, nil, fmt.Errorf("selector of daemonset %s: %w", dsKey(ds), err)
	}
	revs, err := dsc.history.Claim(ctx, ds, gvk, sel, dsc.canAdopt(ds))
	if err != nil {
		return nil, nil, err
	}
	history.Sort(revs)
	data, err := history.TemplatePatch(&ds.Spec.Template)
	if err != nil {
		return nil, nil, fmt.Errorf("daemonset %s: %w", dsKey(ds), err)
	}
	choice := history.Choose(revs, data)
	old := oldRevisions(revs, choice)
	if choice.Existing == nil {
		cur, err := dsc.snapshot(ctx, ds, data, choice.Revision)
		return cur, old, err
	}
	cur := choice.Existing
	for _, dup := range choice.Duplicates {
		if err := dsc.dropDuplicate(ctx, ds, dup, cur, pods); err != nil {
			return nil, nil, err
		}
	}
	if choice.Renumber() {
		if cur, err = dsc.history.Renumber(ctx, cur, choice.Revision); err != nil {
			return nil, nil, err
		}
	}
	return cur, old, nil
}

// oldRevisions are the revisions of sorted other than the template's own
// and its duplicates.
func oldRevisions(sorted []*appsv1.ControllerRevision, c history.Choice) []*appsv1.ControllerRevision {
	var old []*appsv1.ControllerRevision
	for _, r := range sorted {
		if r != c.Existing && !slices.Contains(c.Duplicates, r) {
			old = append(old, r)
		}
	}
	return old
}

// revisionHash is the controller-revision-hash of the pods of revision
// rev (its label, which the name ends with).
func revisionHash(rev *appsv1.ControllerRevision) string {
	return rev.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
}

// newRevision is the ControllerRevision of ds's template: named
// "<ds>-<hash>", labelled with the template's labels and the hash,
// annotated with the DaemonSet's annotations, controlled by ds.
func newRevision(ds *appsv1.DaemonSet, data []byte, revision int64) (*appsv1.ControllerRevision, error) {
	hash, err := templateHash(&ds.Spec.Template, ds.Status.CollisionCount)
	if err != nil {
		return nil, err
	}
	rev := history.New(ds, gvk, history.Name(ds.Name, hash), ds.Spec.Template.Labels, ds.Annotations, data, revision)
	rev.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	return rev, nil
}

// errHashCollision reports a revision name taken by another template.
var errHashCollision = errors.New("hash collision")

// snapshot creates the revision of ds's template. When its name is taken
// by another template's revision, the DaemonSet's status.collisionCount
// is bumped (unless it changed meanwhile), so that the next sync tries
// another name.
func (dsc *Controller) snapshot(ctx context.Context, ds *appsv1.DaemonSet, data []byte, revision int64) (*appsv1.ControllerRevision, error) {
	rev, err := newRevision(ds, data, revision)
	if err != nil {
		return nil, err
	}
	created, err := dsc.history.Create(ctx, rev)
	if !apierrors.IsAlreadyExists(err) {
		return created, err
	}
	fresh, gerr := dsc.daemonSets.Get(ctx, ds.Namespace, ds.Name, metav1.GetOptions{})
	if gerr != nil {
		return nil, fmt.Errorf("get daemonset %s: %w", dsKey(ds), gerr)
	}
	if !equalCount(fresh.Status.CollisionCount, ds.Status.CollisionCount) {
		return nil, fmt.Errorf("daemonset %s: stale collision count, retrying", dsKey(ds))
	}
	count := int32(1)
	if fresh.Status.CollisionCount != nil {
		count = *fresh.Status.CollisionCount + 1
	}
	fresh.Status.CollisionCount = &count
	if _, err := dsc.daemonSets.UpdateStatus(ctx, fresh, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("bump collision count of daemonset %s: %w", dsKey(ds), err)
	}
	dsc.log.Info("hash collision, collision count bumped", "daemonset", dsKey(ds), "revision", rev.Name, "collisionCount", count)
	return nil, fmt.Errorf("daemonset %s revision %s: %w", dsKey(ds), rev.Name, errHashCollision)
}

func equalCount(a, b *int32) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// dropDuplicate moves the pods of dup, a revision of the same template as
// keep, to keep's hash, then deletes dup.
func (dsc *Controller) dropDuplicate(ctx context.Context, ds *appsv1.DaemonSet, dup, keep *appsv1.ControllerRevision, pods nodePods) error {
	from, to := revisionHash(dup), revisionHash(keep)
	if from != "" && from != to {
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
			"labels": map[string]string{appsv1.DefaultDaemonSetUniqueLabelKey: to},
		}})
		if err != nil {
			return err
		}
		for _, pod := range podsOf(pods) {
			if pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] != from {
				continue
			}
			if _, err := dsc.pods.Patch(ctx, pod.Namespace, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("relabel daemon pod %s: %w", pod.Name, err)
			}
		}
	}
	dsc.log.Info("deleting duplicate revision", "daemonset", dsKey(ds), "revision", dup.Name, "keeping", keep.Name)
	return dsc.history.Delete(ctx, dup)
}

// revisionsToPrune picks, from old (oldest first), the revisions to
// delete so that at most limit old revisions remain, as Kubernetes'
// daemon controller does: the oldest first, skipping those whose hash a
// pod still carries.
func revisionsToPrune(old []*appsv1.ControllerRevision, liveHashes map[string]bool, limit int) []*appsv1.ControllerRevision {
	toKill := len(old) - limit
	var out []*appsv1.ControllerRevision
	for _, rev := range old {
		if toKill <= 0 {
			break
		}
		if liveHashes[revisionHash(rev)] {
			continue
		}
		out = append(out, rev)
		toKill--
	}
	return out
}

// cleanupHistory deletes old revisions beyond spec.revisionHistoryLimit
// that no pod uses.
func (dsc *Controller) cleanupHistory(ctx context.Context, ds *appsv1.DaemonSet, old []*appsv1.ControllerRevision, pods nodePods) error {
	limit := defaultHistoryLimit
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = int(max(*ds.Spec.RevisionHistoryLimit, 0))
	}
	live := map[string]bool{}
	for _, pod := range podsOf(pods) {
		if h := pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]; h != "" {
			live[h] = true
		}
	}
	var errs []error
	for _, rev := range revisionsToPrune(old, live, limit) {
		dsc.log.Debug("deleting old revision", "daemonset", dsKey(ds), "revision", rev.Name, "number", rev.Revision)
		errs = append(errs, dsc.history.Delete(ctx, rev))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean up revisions of daemonset %s: %w", dsKey(ds), err)
	}
	return nil
}

// podsOf lists the pods of nodePods.
func podsOf(pods nodePods) []*corev1.Pod {
	var out []*corev1.Pod
	for _, onNode := range pods {
		out = append(out, onNode...)
	}
	return out
}
