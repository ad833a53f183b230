package garbagecollector

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// orphanParallelism bounds the dependents patched at once.
const orphanParallelism = 10

// attemptToOrphan releases the dependents of an owner being deleted with
// the orphan finalizer (key is its UID): it removes the owner from their
// ownerReferences, then removes the finalizer, so that the API server
// deletes the owner and leaves them be.
func (gc *GarbageCollector) attemptToOrphan(ctx context.Context, key string) error {
	owner, ok := gc.graph.view(uidKey(key))
	if !ok {
		return nil
	}
	err := gc.orphanDependents(ctx, owner)
	if err == nil {
		err = gc.removeFinalizer(ctx, owner.identity, metav1.FinalizerOrphanDependents)
	}
	gc.metrics.orphanAttempts.WithLabelValues(result(err)).Inc()
	if err == nil {
		gc.log.Info("orphaned the dependents of an object being deleted", "owner", owner.identity.String(),
			"dependents", len(owner.dependents))
	}
	return err
}

func (gc *GarbageCollector) orphanDependents(ctx context.Context, owner view) error {
	var g errgroup.Group
	g.SetLimit(orphanParallelism)
	errs := make([]error, len(owner.dependents))
	for i, d := range owner.dependents {
		g.Go(func() error {
			err := gc.removeOwnerRefs(ctx, d.identity, []types.UID{owner.identity.UID})
			if err != nil && !apierrors.IsNotFound(err) {
				errs[i] = err
			}
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through errs
	return errors.Join(errs...)
}
