package garbagecollector

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ownerState is what the API server says of one owner reference.
type ownerState int

const (
	// solid: the owner exists and is not waiting for its dependents.
	solid ownerState = iota
	// dangling: no object with the reference's UID exists.
	dangling
	// waiting: the owner is being deleted in the foreground and waits for
	// its dependents to go.
	waiting
)

func (s ownerState) String() string {
	return [...]string{"solid", "dangling", "waiting"}[s]
}

// classified is an owner reference and the state of its owner.
type classified struct {
	ref   metav1.OwnerReference
	state ownerState
}

// action is what attemptToDelete does with an object.
type action int

const (
	// keep: an owner remains; nothing to do.
	keep action = iota
	// removeRefs: an owner remains, but some references are dangling or
	// name owners waiting for their dependents: drop those references.
	removeRefs
	// deleteObject: no owner remains.
	deleteObject
)

// plan is attemptToDelete's decision for one object.
type plan struct {
	action action
	// refs are the owner UIDs to remove (removeRefs).
	refs []types.UID
	// unblock: before deleting, make the object's own references
	// non-blocking (one of its dependents waits for it too: a possible
	// cycle).
	unblock bool
	// policy is the deletion's propagation (deleteObject).
	policy metav1.DeletionPropagation
}

// decide is what happens to an object given its classified owner
// references, whether it has dependents and whether one of them is
// itself deleting its dependents in the foreground, and its finalizers
// (Kubernetes' attemptToDeleteItem):
//
//   - an object with a solid owner stays; references to absent owners
//     and to owners waiting in the foreground are removed from it;
//   - an object whose owners are all absent or waiting, with at least one
//     waiting and dependents of its own, is deleted in the foreground, so
//     that the waiting owner also waits for the object's dependents;
//   - otherwise it is deleted honouring its own orphan or foreground
//     finalizer, else in the background.
func decide(owners []classified, hasDependents, dependentDeletingDependents bool, finalizers []string) plan {
	var drop []types.UID
	solids, waitings := 0, 0
	for _, o := range owners {
		switch o.state {
		case solid:
			solids++
		case waiting:
			waitings++
			drop = append(drop, o.ref.UID)
		case dangling:
			drop = append(drop, o.ref.UID)
		}
	}
	switch {
	case len(owners) == 0:
		return plan{action: keep}
	case solids > 0:
		if len(drop) == 0 {
			return plan{action: keep}
		}
		return plan{action: removeRefs, refs: drop}
	case waitings > 0 && hasDependents:
		return plan{action: deleteObject, policy: metav1.DeletePropagationForeground, unblock: dependentDeletingDependents}
	case slices.Contains(finalizers, metav1.FinalizerOrphanDependents):
		return plan{action: deleteObject, policy: metav1.DeletePropagationOrphan}
	case slices.Contains(finalizers, metav1.FinalizerDeleteDependents):
		return plan{action: deleteObject, policy: metav1.DeletePropagationForeground}
	}
	return plan{action: deleteObject, policy: metav1.DeletePropagationBackground}
}

// foregroundStep is what an owner being deleted in the foreground needs:
// finish (remove its foregroundDeletion finalizer) once no dependent
// blocks it, else have its blocking dependents deleted (those not
// already deleting theirs in the foreground).
func foregroundStep(dependents []dependentView) (finish bool, toDelete []objectRef) {
	blocked := false
	for _, d := range dependents {
		if !d.blocking {
			continue
		}
		blocked = true
		if !d.deletingDependents {
			toDelete = append(toDelete, d.identity)
		}
	}
	return !blocked, toDelete
}
