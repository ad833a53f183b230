package garbagecollector

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/libs/client"
)

// errNotObserved requeues a virtual node the API server says exists
// until an informer shows it (else a node added and removed while a
// watch was down could stay in the graph).
var errNotObserved = errors.New("exists, but not yet observed by an informer")

// errNamespacedOwner: a cluster-scoped object names a namespaced owner,
// which cannot be; retrying does not help (Kubernetes drops the item).
var errNamespacedOwner = errors.New("a cluster-scoped object cannot have a namespaced owner")

// attemptToDelete checks the object key (a UID) names: it deletes it when
// its owners are gone, drops references to absent owners, or carries on
// its foreground deletion.
func (gc *GarbageCollector) attemptToDelete(ctx context.Context, key string) error {
	item, ok := gc.graph.view(uidKey(key))
	if !ok {
		return nil
	}
	log := gc.log.With("item", item.identity.String())
	if item.beingDeleted && !item.deletingDependents {
		// A one-way trip: its dependents are looked at once it is gone.
		return nil
	}
	res, err := gc.resourceFor(item.identity.APIVersion, item.identity.Kind)
	if err != nil {
		return err
	}
	latest, err := res.Get(ctx, namespaceOf(res.Namespaced(), item.identity.Namespace), item.identity.Name)
	switch {
	case apierrors.IsNotFound(err):
		log.Debug("item not found: removing it from the graph")
		gc.enqueueVirtualDelete(item.identity)
		return nil
	case err != nil:
		return fmt.Errorf("get %s: %w", item.identity, err)
	case latest.GetUID() != item.identity.UID:
		log.Debug("item replaced (another UID): removing it from the graph")
		gc.enqueueVirtualDelete(item.identity)
		return nil
	}
	// The graph may lag behind: the object read now says best whether it
	// is being deleted, and how.
	if latest.GetDeletionTimestamp() != nil && hasFinalizer(latest, metav1.FinalizerDeleteDependents) {
		item.deletingDependents = true
	}
	if item.deletingDependents {
		return gc.processDeletingDependents(ctx, item)
	}
	if latest.GetDeletionTimestamp() != nil {
		return nil
	}
	owners, err := gc.classify(ctx, item.identity, latest.GetOwnerReferences())
	if errors.Is(err, errNamespacedOwner) {
		log.Warn("not collecting the item", "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	dependentDeleting := false
	for _, d := range item.dependents {
		dependentDeleting = dependentDeleting || d.deletingDependents
	}
	p := decide(owners, len(item.dependents) > 0, dependentDeleting, latest.GetFinalizers())
	switch p.action {
	case removeRefs:
		log.Debug("removing references to absent or waiting owners", "owners", p.refs)
		if err := gc.removeOwnerRefs(ctx, item.identity, p.refs); err != nil {
			return err
		}
	case deleteObject:
		if p.unblock {
			log.Debug("an owner and a dependent of the item both wait: making its references non-blocking")
			if err := gc.unblockOwnerRefs(ctx, item.identity, latest.GetOwnerReferences()); err != nil {
				return err
			}
		}
		log.Info("deleting object whose owners are gone", "propagationPolicy", p.policy)
		err := gc.deleteObject(ctx, res, item.identity, latest, p.policy)
		gc.metrics.deleteAttempts.WithLabelValues(string(p.policy), result(err)).Inc()
		if apierrors.IsNotFound(err) {
			gc.enqueueVirtualDelete(item.identity)
			return nil
		}
		if err != nil {
			return err
		}
	}
	if !item.observed {
		return errNotObserved
	}
	return nil
}

// processDeletingDependents carries on the foreground deletion of an
// owner: its blocking dependents are deleted; once none is left its
// foregroundDeletion finalizer is removed and the API server deletes it.
func (gc *GarbageCollector) processDeletingDependents(ctx context.Context, item view) error {
	finish, toDelete := foregroundStep(item.dependents)
	if finish {
		gc.log.Debug("no blocking dependent left: removing the foregroundDeletion finalizer", "item", item.identity.String())
		return gc.removeFinalizer(ctx, item.identity, metav1.FinalizerDeleteDependents)
	}
	for _, d := range toDelete {
		gc.deleter.EnqueueKey(string(d.UID))
	}
	return nil
}

// classify looks each owner reference of the item up.
func (gc *GarbageCollector) classify(ctx context.Context, item objectRef, refs []metav1.OwnerReference) ([]classified, error) {
	out := make([]classified, 0, len(refs))
	for _, ref := range refs {
		gone, owner, err := gc.isDangling(ctx, ref, item)
		if err != nil {
			return nil, err
		}
		c := classified{ref: ref, state: solid}
		switch {
		case gone:
			c.state = dangling
		case owner.GetDeletionTimestamp() != nil && hasFinalizer(owner, metav1.FinalizerDeleteDependents):
			c.state = waiting
		}
		out = append(out, c)
	}
	return out, nil
}

// isDangling reports whether the owner ref names exists no more: as the
// absent-owner cache remembers, else per a live GET (an object of that
// name with another UID is another object).
func (gc *GarbageCollector) isDangling(ctx context.Context, ref metav1.OwnerReference, item objectRef) (bool, client.Object, error) {
	key := refTo(ref, "")
	if _, ok := gc.absent.Get(key); ok {
		return true, nil, nil
	}
	key.Namespace = item.Namespace
	if _, ok := gc.absent.Get(key); ok {
		return true, nil, nil
	}
	res, err := gc.resourceFor(ref.APIVersion, ref.Kind)
	if err != nil {
		return false, nil, err
	}
	if !res.Namespaced() {
		key.Namespace = ""
	} else if item.Namespace == "" {
		return false, nil, fmt.Errorf("%w: %s names %s %s", errNamespacedOwner, item, ref.Kind, ref.Name)
	}
	owner, err := res.Get(ctx, key.Namespace, ref.Name)
	switch {
	case apierrors.IsNotFound(err):
		gc.absent.Add(key, struct{}{})
		return true, nil, nil
	case err != nil:
		return false, nil, fmt.Errorf("get owner %s of %s: %w", key, item, err)
	case owner.GetUID() != ref.UID:
		gc.absent.Add(key, struct{}{})
		return true, nil, nil
	}
	return false, owner, nil
}

func namespaceOf(namespaced bool, namespace string) string {
	if namespaced {
		return namespace
	}
	return ""
}

func hasFinalizer(obj metav1.Object, finalizer string) bool {
	for _, f := range obj.GetFinalizers() {
		if f == finalizer {
			return true
		}
	}
	return false
}

func result(err error) string {
	if err != nil && !apierrors.IsNotFound(err) {
		return "error"
	}
	return "success"
}
