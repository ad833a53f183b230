package node

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// syncLease renews the node's Lease, creating it when it is missing. It
// updates the Lease it last wrote; when that fails (someone else wrote
// it, or it is gone) it reads it again first.
func (n *Node) syncLease(ctx context.Context) error {
	now := n.clock.Now()
	if n.lease != nil {
		next := n.lease.DeepCopy()
		n.renew(next, now)
		updated, err := n.api.UpdateLease(ctx, next)
		if err == nil {
			n.lease = updated
			return nil
		}
		n.lease = nil
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return fmt.Errorf("renew lease: %w", err)
		}
	}

	cur, err := n.api.GetLease(ctx, leaseNamespace, n.cfg.Name)
	if apierrors.IsNotFound(err) {
		lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: leaseNamespace, Name: n.cfg.Name}}
		n.renew(lease, now)
		created, err := n.api.CreateLease(ctx, lease)
		if err != nil {
			return fmt.Errorf("create lease: %w", err)
		}
		n.lease = created
		return nil
	}
	if err != nil {
		return fmt.Errorf("get lease: %w", err)
	}
	next := cur.DeepCopy()
	n.renew(next, now)
	updated, err := n.api.UpdateLease(ctx, next)
	if err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	n.lease = updated
	return nil
}

// renew makes lease held by this node, renewed at now and owned by the
// Node as last seen.
func (n *Node) renew(lease *coordinationv1.Lease, now time.Time) {
	holder := n.cfg.Name
	seconds := int32(n.cfg.LeaseDuration / time.Second)
	renewed := metav1.NewMicroTime(now)
	lease.Spec.HolderIdentity = &holder
	lease.Spec.LeaseDurationSeconds = &seconds
	lease.Spec.RenewTime = &renewed

	uid := types.UID(n.nodeUID())
	if uid == "" {
		return
	}
	owner := metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: n.cfg.Name, UID: uid}
	refs := []metav1.OwnerReference{owner}
	for _, r := range lease.OwnerReferences {
		if r.Kind == owner.Kind && r.APIVersion == owner.APIVersion {
			continue // an earlier Node of this name
		}
		refs = append(refs, r)
	}
	lease.OwnerReferences = refs
}
