package statefulset

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/gantry-dev/gantry/services/controllers/internal/history"
)

// defaultHistoryLimit is spec.revisionHistoryLimit when unset.
const defaultHistoryLimit = 10

// templateHash is the short, DNS-safe hash of a pod template and a
// collision count: the hash in the name of its ControllerRevision
// "<set>-<hash>", which is also the pods' controller-revision-hash label.
func templateHash(tmpl *corev1.PodTemplateSpec, collisions int32) (string, error) {
	// encoding/json writes struct fields in declaration order and map keys
	// sorted, so equal templates encode alike.
	data, err := json.Marshal(tmpl)
	if err != nil {
		return "", err
	}
	h := fnv.New32a()
	h.Write(data)
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(collisions))
	h.Write(b[:])
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10)), nil
}

// newRevision is the ControllerRevision of set's template with data, as
// Kubernetes makes it: named "<set>-<hash>", labelled with the template's
// labels and the hash, annotated with the set's annotations, controlled by
// the set.
func newRevision(set *appsv1.StatefulSet, data []byte, revision int64, collisions int32) (*appsv1.ControllerRevision, error) {
	hash, err := templateHash(&set.Spec.Template, collisions)
	if err != nil {
		return nil, fmt.Errorf("revision of statefulset %s/%s: %w", set.Namespace, set.Name, err)
	}
	rev := history.New(set, setKind, history.Name(set.Name, hash), set.Spec.Template.Labels, set.Annotations, data, revision)
	rev.Labels[history.HashLabel] = hash
	return rev, nil
}

// revisions are a set's current and update revisions.
type revisions struct {
	// current holds the template of the pods not updated yet; update the
	// set's own template.
	current, update *appsv1.ControllerRevision
	// currentTemplate is current's template.
	currentTemplate *corev1.PodTemplateSpec
	// collisions is the set's collision count, counting the name
	// collisions met creating update.
	collisions int32
}

// syncRevisions finds or records the revision of set's template among
// its history (sorted oldest first), as Kubernetes does: the newest
// revision of the same template is the update revision (renumbered as the
// newest when it is an older one, which is how a rollback shows), else a
// new one is created. The current revision is status.currentRevision's,
// or the update revision when there is none such. A set being deleted
// gets no new revision (nor a renumbered one): only names are needed.
func (c *Controller) syncRevisions(ctx context.Context, set *appsv1.StatefulSet, sorted []*appsv1.ControllerRevision) (revisions, error) {
	r := revisions{}
	if set.Status.CollisionCount != nil {
		r.collisions = *set.Status.CollisionCount
	}
	data, err := history.TemplatePatch(&set.Spec.Template)
	if err != nil {
		return r, fmt.Errorf("statefulset %s/%s: %w", set.Namespace, set.Name, err)
	}
	choice := history.Choose(sorted, data)
	deleting := set.DeletionTimestamp != nil
	switch {
	case choice.Existing != nil && (!choice.Renumber() || deleting):
		r.update = choice.Existing
	case choice.Existing != nil:
		r.update, err = c.history.Renumber(ctx, choice.Existing, choice.Revision)
	case deleting:
		r.update, err = newRevision(set, data, choice.Revision, r.collisions)
	default:
		r.update, err = c.history.CreateUnique(ctx, &r.collisions, func(collisions int32) (*appsv1.ControllerRevision, error) {
			return newRevision(set, data, choice.Revision, collisions)
		})
	}
	if err != nil {
		return r, err
	}
	r.current, r.currentTemplate = r.update, &set.Spec.Template
	for _, rev := range sorted {
		if rev.Name != set.Status.CurrentRevision || rev.Name == r.update.Name {
			continue
		}
		tmpl, err := history.Template(rev)
		if err != nil {
			return r, err
		}
		r.current, r.currentTemplate = rev, tmpl
	}
	return r, nil
}

// revisionsToPrune picks, from sorted (oldest first), the revisions to
// delete so that no more than limit remain besides the live ones: the
// current and update revisions and those of existing pods. The oldest go
// first.
func revisionsToPrune(sorted []*appsv1.ControllerRevision, live map[string]bool, limit int) []*appsv1.ControllerRevision {
	var old []*appsv1.ControllerRevision
	for _, rev := range sorted {
		if !live[rev.Name] {
			old = append(old, rev)
		}
	}
	if len(old) <= limit {
		return nil
	}
	return old[:len(old)-limit]
}

// liveRevisions are the names of the revisions r and pods use.
func liveRevisions(r revisions, pods []*corev1.Pod) map[string]bool {
	live := map[string]bool{}
	if r.current != nil {
		live[r.current.Name] = true
	}
	if r.update != nil {
		live[r.update.Name] = true
	}
	for _, pod := range pods {
		live[revisionOf(pod)] = true
	}
	return live
}

// pruneHistory deletes the revisions of set beyond
// spec.revisionHistoryLimit that no pod uses.
func (c *Controller) pruneHistory(ctx context.Context, set *appsv1.StatefulSet, sorted []*appsv1.ControllerRevision, r revisions, pods []*corev1.Pod) error {
	limit := defaultHistoryLimit
	if set.Spec.RevisionHistoryLimit != nil {
		limit = int(max(*set.Spec.RevisionHistoryLimit, 0))
	}
	var errs []error
	for _, rev := range revisionsToPrune(sorted, liveRevisions(r, pods), limit) {
		c.log.Debug("deleting old revision", "statefulset", set.Namespace+"/"+set.Name, "revision", rev.Name, "number", rev.Revision)
		errs = append(errs, c.history.Delete(ctx, rev))
	}
	return errors.Join(errs...)
}
