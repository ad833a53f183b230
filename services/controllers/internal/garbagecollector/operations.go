package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// deleteObject deletes item with policy, on condition that it is still
// the object whose owner references were classified (its UID and
// resourceVersion). When the object changed meanwhile but its owner
// references did not, it is deleted anyway, so that often-updated objects
// are not starved (as Kubernetes does).
func (gc *GarbageCollector) deleteObject(ctx context.Context, res controller.Dynamic, item objectRef, latest client.Object,
	policy metav1.DeletionPropagation) error {
	uid, rv := item.UID, latest.GetResourceVersion()
	opts := metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
		PropagationPolicy: &policy,
	}
	ns := namespaceOf(res.Namespaced(), item.Namespace)
	err := res.Delete(ctx, ns, item.Name, opts)
	if !apierrors.IsConflict(err) {
		return err
	}
	live, getErr := res.Get(ctx, ns, item.Name)
	switch {
	case apierrors.IsNotFound(getErr):
		return nil
	case getErr != nil || live.GetUID() != uid ||
		!equality.Semantic.DeepEqual(live.GetOwnerReferences(), latest.GetOwnerReferences()):
		return fmt.Errorf("delete %s: %w", item, err)
	}
	opts.Preconditions.ResourceVersion = nil
	return res.Delete(ctx, ns, item.Name, opts)
}

// removeOwnerRefs drops the references to owners from item, with a
// strategic merge patch conditional on the item's UID.
func (gc *GarbageCollector) removeOwnerRefs(ctx context.Context, item objectRef, owners []types.UID) error {
	refs := make([]map[string]any, 0, len(owners))
	for _, uid := range owners {
		refs = append(refs, map[string]any{"$patch": "delete", "uid": uid})
	}
	return gc.patchOwnerRefs(ctx, item, refs)
}

// unblockOwnerRefs sets blockOwnerDeletion=false in every reference of
// item that blocks.
func (gc *GarbageCollector) unblockOwnerRefs(ctx context.Context, item objectRef, current []metav1.OwnerReference) error {
	var refs []map[string]any
	for _, ref := range current {
		if blocking(ref) {
			refs = append(refs, map[string]any{"uid": ref.UID, "blockOwnerDeletion": false})
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return gc.patchOwnerRefs(ctx, item, refs)
}

func (gc *GarbageCollector) patchOwnerRefs(ctx context.Context, item objectRef, refs []map[string]any) error {
	res, err := gc.resourceFor(item.APIVersion, item.Kind)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"ownerReferences": refs, "uid": item.UID},
	})
	if err != nil {
		return fmt.Errorf("owner references patch of %s: %w", item, err)
	}
	_, err = res.Patch(ctx, namespaceOf(res.Namespaced(), item.Namespace), item.Name, types.StrategicMergePatchType, body)
	if err != nil {
		return fmt.Errorf("patch owner references of %s: %w", item, err)
	}
	return nil
}

// removeFinalizer removes finalizer from item, retrying on conflicts; an
// item gone (or replaced) needs nothing.
func (gc *GarbageCollector) removeFinalizer(ctx context.Context, item objectRef, finalizer string) error {
	res, err := gc.resourceFor(item.APIVersion, item.Kind)
	if err != nil {
		return err
	}
	ns := namespaceOf(res.Namespaced(), item.Namespace)
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		obj, err := res.Get(ctx, ns, item.Name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if obj.GetUID() != item.UID {
			return nil
		}
		finalizers := slices.DeleteFunc(slices.Clone(obj.GetFinalizers()), func(f string) bool { return f == finalizer })
		if len(finalizers) == len(obj.GetFinalizers()) {
			return nil
		}
		obj.SetFinalizers(finalizers)
		_, err = res.Update(ctx, obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("remove finalizer %s from %s: %w", finalizer, item, err)
	}
	return nil
}
