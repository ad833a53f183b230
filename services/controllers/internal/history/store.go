package history

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// maxCollisions bounds the names tried for one new revision.
const maxCollisions = 64

// ErrCollisions is returned when every name tried for a revision was
// taken by a revision of other data.
var ErrCollisions = errors.New("too many hash collisions")

// API is what a Store writes through: the typed client of
// ControllerRevisions (libs/client), or a Fake.
type API interface {
	Get(ctx context.Context, namespace, name string, opts metav1.GetOptions) (*appsv1.ControllerRevision, error)
	Create(ctx context.Context, obj *appsv1.ControllerRevision, opts metav1.CreateOptions) (*appsv1.ControllerRevision, error)
	Update(ctx context.Context, obj *appsv1.ControllerRevision, opts metav1.UpdateOptions) (*appsv1.ControllerRevision, error)
	Patch(ctx context.Context, namespace, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions,
		subresources ...string) (*appsv1.ControllerRevision, error)
	Delete(ctx context.Context, namespace, name string, opts metav1.DeleteOptions) error
}

// Store reads ControllerRevisions from a cache (the shared informer's)
// and writes them through the API server.
type Store struct {
	revs   API
	lister listers.ResourceIndexer[*appsv1.ControllerRevision]
	synced cache.InformerSynced
}

// NewStore returns the Store of c's shared ControllerRevision informer.
func NewStore(c *controller.Context) *Store {
	inf := client.InformerFor(c.Informers, client.ControllerRevisions)
	return &Store{
		revs:   client.ControllerRevisions(c.Client),
		lister: client.Lister(client.ControllerRevisions(c.Client), inf),
		synced: inf.HasSynced,
	}
}

// HasSynced reports whether the cache has been filled.
func (s *Store) HasSynced() bool { return s.synced() }

// Claim returns the revisions owner controls in its namespace, adopting
// orphans its selector matches and releasing its revisions the selector
// no longer matches. canAdopt is asked before the first adoption (see
// controller.RecheckOwner).
func (s *Store) Claim(ctx context.Context, owner metav1.Object, gvk schema.GroupVersionKind, selector labels.Selector,
	canAdopt func(context.Context) error) ([]*appsv1.ControllerRevision, error) {
	all, err := listers.NewNamespaced(s.lister, owner.GetNamespace()).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list controller revisions: %w", err)
	}
	m := &controller.RefManager{
		Owner: owner, OwnerGVK: gvk, Selector: selector, CanAdopt: canAdopt,
		Patch: func(ctx context.Context, namespace, name string, pt types.PatchType, data []byte) error {
			_, err := s.revs.Patch(ctx, namespace, name, pt, data, metav1.PatchOptions{})
			return err
		},
	}
	return controller.Claim(ctx, m, all)
}

// Create creates rev. When its name is taken, by a revision of the same
// data it returns that one; else it reports the AlreadyExists error.
func (s *Store) Create(ctx context.Context, rev *appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	created, err := s.revs.Create(ctx, rev, metav1.CreateOptions{})
	if err == nil {
		return created, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create controller revision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	existing, gerr := s.revs.Get(ctx, rev.Namespace, rev.Name, metav1.GetOptions{})
	if gerr != nil {
		return nil, fmt.Errorf("get controller revision %s/%s: %w", rev.Namespace, rev.Name, gerr)
	}
	if EqualData(existing.Data.Raw, rev.Data.Raw) {
		return existing, nil
	}
	return nil, err
}

// CreateUnique creates the revision build returns for *collisions; while
// its name is taken by a revision of other data it counts a collision and
// tries the next name, as Kubernetes' StatefulSet controller does.
func (s *Store) CreateUnique(ctx context.Context, collisions *int32,
	build func(collisions int32) (*appsv1.ControllerRevision, error)) (*appsv1.ControllerRevision, error) {
	for range maxCollisions {
		rev, err := build(*collisions)
		if err != nil {
			return nil, err
		}
		created, err := s.Create(ctx, rev)
		if !apierrors.IsAlreadyExists(err) {
			return created, err
		}
		*collisions++
	}
	return nil, fmt.Errorf("create controller revision: %w", ErrCollisions)
}

// Renumber gives rev the number revision, re-reading it after a conflict.
func (s *Store) Renumber(ctx context.Context, rev *appsv1.ControllerRevision, revision int64) (*appsv1.ControllerRevision, error) {
	next := rev.DeepCopy()
	for attempt := 0; ; attempt++ {
		if next.Revision == revision {
			return next, nil
		}
		next.Revision = revision
		updated, err := s.revs.Update(ctx, next, metav1.UpdateOptions{})
		if err == nil {
			return updated, nil
		}
		if !apierrors.IsConflict(err) || attempt >= 4 {
			return nil, fmt.Errorf("renumber controller revision %s/%s: %w", rev.Namespace, rev.Name, err)
		}
		fresh, gerr := s.revs.Get(ctx, rev.Namespace, rev.Name, metav1.GetOptions{})
		if gerr != nil {
			return nil, fmt.Errorf("renumber controller revision %s/%s: %w", rev.Namespace, rev.Name, gerr)
		}
		next = fresh
	}
}

// Delete deletes rev (if it is still the object of rev's UID).
func (s *Store) Delete(ctx context.Context, rev *appsv1.ControllerRevision) error {
	err := s.revs.Delete(ctx, rev.Namespace, rev.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &rev.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete controller revision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	return nil
}

// New returns a revision of owner (kind gvk) named name, with data and
// number revision, labelled with labels and annotated with annotations
// (both copied).
func New(owner metav1.Object, gvk schema.GroupVersionKind, name string, lbls, annotations map[string]string,
	data []byte, revision int64) *appsv1.ControllerRevision {
	rev := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: owner.GetNamespace(),
			Labels:          map[string]string{},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(owner, gvk)},
		},
		Revision: revision,
	}
	rev.Data.Raw = data
	for k, v := range lbls {
		rev.Labels[k] = v
	}
	if len(annotations) > 0 {
		rev.Annotations = make(map[string]string, len(annotations))
		for k, v := range annotations {
			rev.Annotations[k] = v
		}
	}
	return rev
}

// Name is the name of a revision of owner: "<owner>-<hash>", the owner's
// name cut to 223 characters so that the name stays within 253.
func Name(owner, hash string) string {
	if len(owner) > 223 {
		owner = owner[:223]
	}
	return owner + "-" + hash
}
