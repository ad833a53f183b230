package volumebinding

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/gantry-dev/gantry/libs/storageutil"
	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// PreBind records the chosen node on the pod's claims that wait for one
// and waits until all of them are bound.
func (pl *VolumeBinding) PreBind(ctx context.Context, cs *framework.CycleState, pod *corev1.Pod, nodeName string) *framework.Status {
	d, err := cs.Read(stateKey)
	if err != nil {
		return nil
	}
	s := d.(*state)
	if len(s.unbound) == 0 {
		return nil
	}
	vl := pl.volumes()
	for _, u := range s.unbound {
		if u.claim.Annotations[storageutil.AnnSelectedNode] == nodeName {
			continue
		}
		if err := vl.SelectNode(ctx, u.claim, nodeName); err != nil {
			return framework.AsStatus(fmt.Errorf("binding volumes: selecting node %s for claim %q: %w", nodeName, u.claim.Name, err))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, pl.bindTimeout)
	defer cancel()
	wait := pl.pollMin
	for {
		done, err := claimsBound(vl, pod.Namespace, s.unbound)
		if err != nil {
			return framework.AsStatus(fmt.Errorf("binding volumes: %w", err))
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return framework.AsStatus(fmt.Errorf("binding volumes: timed out waiting for the condition"))
		case <-time.After(wait):
		}
		wait = min(2*wait, pl.pollMax)
	}
}

// claimsBound reports whether every claim is bound (its volume names it
// and the binder marked the binding complete). A claim deleted or made
// anew fails the wait.
func claimsBound(vl framework.VolumeLister, ns string, claims []unboundClaim) (bool, error) {
	for _, u := range claims {
		claim, err := vl.Claim(ns, u.claim.Name)
		if apierrors.IsNotFound(err) {
			return false, fmt.Errorf("persistentvolumeclaim %q was deleted", u.claim.Name)
		}
		if err != nil {
			return false, err
		}
		if claim.UID != u.claim.UID {
			return false, fmt.Errorf("persistentvolumeclaim %q was made anew", u.claim.Name)
		}
		if claim.Spec.VolumeName == "" || claim.Annotations[storageutil.AnnBindCompleted] == "" {
			return false, nil
		}
		pv, err := vl.Volume(claim.Spec.VolumeName)
		if apierrors.IsNotFound(err) {
			return false, nil // the cache has not seen it yet
		}
		if err != nil {
			return false, err
		}
		if ref := pv.Spec.ClaimRef; ref == nil || ref.UID != claim.UID {
			return false, nil
		}
	}
	return true, nil
}
