package controller

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Patcher patches one object of the children's resource
// (client.Resource.Patch has this shape, after the generic result is
// dropped).
type Patcher func(ctx context.Context, namespace, name string, pt types.PatchType, data []byte) error

// RefManager decides which children (pods of a ReplicaSet, ReplicaSets of
// a Deployment, ...) an owner controls: those whose controller reference
// names it and that its selector matches. It adopts matching orphans and
// releases children that no longer match, by patching their
// ownerReferences, as Kubernetes' ControllerRefManager does. A RefManager
// serves one sync: it remembers the answer of CanAdopt.
type RefManager struct {
	Owner    metav1.Object
	OwnerGVK schema.GroupVersionKind
	Selector labels.Selector
	Patch    Patcher
	// CanAdopt is asked once, before the first adoption: it should read
	// the owner afresh from the API server and fail if it is being
	// deleted or was replaced (another UID).
	CanAdopt func(ctx context.Context) error

	adoptable *error
}

// Claim returns the children of objs that the owner controls after
// adopting and releasing as needed. Errors of individual adoptions and
// releases are joined; NotFound (the child is gone) is not an error.
func Claim[T metav1.Object](ctx context.Context, m *RefManager, objs []T) ([]T, error) {
	var claimed []T
	var errs []error
	for _, obj := range objs {
		ok, err := m.claim(ctx, obj)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			claimed = append(claimed, obj)
		}
	}
	if len(errs) > 0 {
		return claimed, fmt.Errorf("claim children of %s: %v", m.Owner.GetName(), errs)
	}
	return claimed, nil
}

func (m *RefManager) claim(ctx context.Context, obj metav1.Object) (bool, error) {
	ref := metav1.GetControllerOfNoCopy(obj)
	matches := m.Selector.Matches(labels.Set(obj.GetLabels()))
	if ref != nil {
		if ref.UID != m.Owner.GetUID() {
			return false, nil // someone else's
		}
		if matches {
			return true, nil
		}
		// Ours, but no longer selected: let it go (unless either side
		// is on its way out; then it does not matter).
		if m.Owner.GetDeletionTimestamp() != nil || obj.GetDeletionTimestamp() != nil {
			return false, nil
		}
		err := m.release(ctx, obj)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	// An orphan.
	if m.Owner.GetDeletionTimestamp() != nil || !matches || obj.GetDeletionTimestamp() != nil {
		return false, nil
	}
	if obj.GetNamespace() != m.Owner.GetNamespace() {
		return false, nil
	}
	if err := m.canAdopt(ctx); err != nil {
		return false, err
	}
	if err := m.adopt(ctx, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

func (m *RefManager) canAdopt(ctx context.Context) error {
	if m.adoptable == nil {
		var err error
		if m.CanAdopt != nil {
			err = m.CanAdopt(ctx)
		}
		m.adoptable = &err
	}
	return *m.adoptable
}

// adopt adds the owner's controller reference; the patch carries the
// child's UID so it cannot apply to a namesake.
func (m *RefManager) adopt(ctx context.Context, obj metav1.Object) error {
	ref := metav1.NewControllerRef(m.Owner, m.OwnerGVK)
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"ownerReferences": []metav1.OwnerReference{*ref}, "uid": obj.GetUID()},
	})
	if err != nil {
		return err
	}
	return m.Patch(ctx, obj.GetNamespace(), obj.GetName(), types.StrategicMergePatchType, patch)
}

// release removes the owner's reference.
func (m *RefManager) release(ctx context.Context, obj metav1.Object) error {
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{
			"ownerReferences": []map[string]any{{"$patch": "delete", "uid": m.Owner.GetUID()}},
			"uid":             obj.GetUID(),
		},
	})
	if err != nil {
		return err
	}
	err = m.Patch(ctx, obj.GetNamespace(), obj.GetName(), types.StrategicMergePatchType, patch)
	if apierrors.IsInvalid(err) {
		// The child was deleted and re-created meanwhile (UID mismatch).
		return nil
	}
	return err
}

// RecheckOwner returns a CanAdopt that reads the owner afresh with get
// and refuses adoption if it is gone, replaced or being deleted.
func RecheckOwner[T metav1.Object](owner metav1.Object, get func(ctx context.Context) (T, error)) func(context.Context) error {
	return func(ctx context.Context) error {
		fresh, err := get(ctx)
		if err != nil {
			return err
		}
		if fresh.GetUID() != owner.GetUID() {
			return fmt.Errorf("original %s/%s is gone: got uid %s, wanted %s", owner.GetNamespace(), owner.GetName(), fresh.GetUID(), owner.GetUID())
		}
		if fresh.GetDeletionTimestamp() != nil {
			return fmt.Errorf("%s/%s has just been deleted at %v", owner.GetNamespace(), owner.GetName(), fresh.GetDeletionTimestamp())
		}
		return nil
	}
}
