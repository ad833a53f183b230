package volume

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/gantry-dev/gantry/libs/storageutil"
)

// Event reasons and messages, as Kubernetes' PV controller words them.
const (
	reasonWaitForFirstConsumer = "WaitForFirstConsumer"
	reasonWaitForPodScheduled  = "WaitForPodScheduled"
	reasonExternalProvisioning = "ExternalProvisioning"
	reasonProvisioningFailed   = "ProvisioningFailed"
	reasonFailedBinding        = "FailedBinding"
	reasonVolumeMismatch       = "VolumeMismatch"
	reasonClaimLost            = "ClaimLost"
	reasonClaimMisbound        = "ClaimMisbound"
	reasonVolumeFailedDelete   = "VolumeFailedDelete"
	reasonVolumeFailedRecycle  = "VolumeFailedRecycle"

	msgWaitForFirstConsumer = "waiting for first consumer to be created before binding"
	msgNoVolumeNoClass      = "no persistent volumes available for this claim and no storage class is set"
)

// noProvisioner is the provisioner of classes of static volumes only.
const noProvisioner = "kubernetes.io/no-provisioner"

// event is one Event to record about the object a plan is for.
type event struct {
	typ, reason, message string
}

// claimAction is what the binder does for a claim.
type claimAction int

const (
	// claimKeep: nothing to write (the claim waits).
	claimKeep claimAction = iota
	// claimBind: bind the claim and plan.volume to each other.
	claimBind
	// claimProvision: hand the claim to plan.provisioner.
	claimProvision
	// claimLost: the claim's volume is gone or taken; status Lost.
	claimLost
)

// claimPlan is the decision for one claim.
type claimPlan struct {
	action      claimAction
	volume      *corev1.PersistentVolume
	provisioner string
	event       *event
}

// claimState is what decideClaim looks at.
type claimState struct {
	claim   *corev1.PersistentVolumeClaim
	volumes []*corev1.PersistentVolume
	// class is the claim's StorageClass; nil when the claim has none or
	// it does not exist (classKnown tells which).
	class *storagev1.StorageClass
	// node is the selected node (volume.kubernetes.io/selected-node), nil
	// when none is selected or the node is not known.
	node *corev1.Node
	// waitingPods are the unscheduled pods that use the claim.
	waitingPods []string
}

// decideClaim is Kubernetes' syncClaim: unbound claims are bound,
// provisioned or left waiting; bound ones are kept bound or found lost.
func decideClaim(s claimState) claimPlan {
	claim := s.claim
	if claim.Annotations[storageutil.AnnBindCompleted] == "" {
		return decideUnboundClaim(s)
	}
	if claim.Spec.VolumeName == "" {
		return claimPlan{action: claimLost, event: &event{corev1.EventTypeWarning, reasonClaimLost,
			"Bound claim has lost reference to PersistentVolume. Data on the volume is lost!"}}
	}
	pv := volumeNamed(s.volumes, claim.Spec.VolumeName)
	switch {
	case pv == nil:
		return claimPlan{action: claimLost, event: &event{corev1.EventTypeWarning, reasonClaimLost,
			"Bound claim has lost its PersistentVolume. Data on the volume is lost!"}}
	case pv.Spec.ClaimRef == nil, pv.Spec.ClaimRef.UID == claim.UID:
		// Re-bind a volume that lost its claimRef; otherwise make sure
		// both sides say so (writes that change nothing are skipped).
		return claimPlan{action: claimBind, volume: pv}
	}
	return claimPlan{action: claimLost, event: &event{corev1.EventTypeWarning, reasonClaimMisbound,
		"Two claims are bound to the same volume, this one is bound incorrectly"}}
}

func decideUnboundClaim(s claimState) claimPlan {
	claim := s.claim
	if claim.Spec.VolumeName != "" {
		return decidePreboundClaim(s)
	}
	className := storageutil.ClaimClass(claim)
	delay := s.class != nil && storageutil.BindingMode(s.class) == storagev1.VolumeBindingWaitForFirstConsumer
	selected := claim.Annotations[storageutil.AnnSelectedNode] != ""
	if pv := findMatchingVolume(claim, s.volumes, s.node, delay); pv != nil {
		return claimPlan{action: claimBind, volume: pv}
	}
	switch {
	case delay && !selected:
		return claimPlan{event: waitingEvent(s.waitingPods)}
	case className == "":
		return claimPlan{event: &event{corev1.EventTypeNormal, reasonFailedBinding, msgNoVolumeNoClass}}
	case s.class == nil:
		return claimPlan{event: &event{corev1.EventTypeWarning, reasonProvisioningFailed,
			fmt.Sprintf("storageclass.storage.k8s.io %q not found", className)}}
	case s.class.Provisioner == noProvisioner:
		// Static volumes only: wait for one to be created.
		return claimPlan{}
	}
	return claimPlan{action: claimProvision, provisioner: s.class.Provisioner, event: &event{corev1.EventTypeNormal, reasonExternalProvisioning,
		fmt.Sprintf("Waiting for a volume to be created either by the external provisioner '%s' or manually by the system administrator. "+
			"If volume creation is delayed, please verify that the provisioner is running and correctly registered.", s.class.Provisioner)}}
}

// waitingEvent is the event of a claim waiting for its first consumer,
// naming the pods that wait for scheduling when there are any.
func waitingEvent(pods []string) *event {
	switch len(pods) {
	case 0:
		return &event{corev1.EventTypeNormal, reasonWaitForFirstConsumer, msgWaitForFirstConsumer}
	case 1:
		return &event{corev1.EventTypeNormal, reasonWaitForPodScheduled, fmt.Sprintf("waiting for pod %s to be scheduled", pods[0])}
	}
	return &event{corev1.EventTypeNormal, reasonWaitForPodScheduled,
		fmt.Sprintf("waiting for pods %s to be scheduled", strings.Join(pods, ","))}
}

// decidePreboundClaim: the claim names its volume (spec.volumeName).
func decidePreboundClaim(s claimState) claimPlan {
	claim := s.claim
	pv := volumeNamed(s.volumes, claim.Spec.VolumeName)
	switch {
	case pv == nil:
		return claimPlan{} // it may be created yet
	case pv.Spec.ClaimRef == nil:
		if err := satisfies(pv, claim); err != nil {
			return claimPlan{event: &event{corev1.EventTypeWarning, reasonVolumeMismatch,
				fmt.Sprintf("Cannot bind to requested volume %q: %v", pv.Name, err)}}
		}
		return claimPlan{action: claimBind, volume: pv}
	case boundToClaim(pv, claim):
		return claimPlan{action: claimBind, volume: pv}
	}
	return claimPlan{event: &event{corev1.EventTypeWarning, reasonFailedBinding,
		fmt.Sprintf("volume %q already bound to a different claim.", pv.Name)}}
}

func volumeNamed(volumes []*corev1.PersistentVolume, name string) *corev1.PersistentVolume {
	for _, pv := range volumes {
		if pv.Name == name {
			return pv
		}
	}
	return nil
}

// volumeAction is what the binder does for a volume.
type volumeAction int

const (
	// volumeKeep: the volume is as it should be.
	volumeKeep volumeAction = iota
	// volumePhase: set the phase (and reason/message) of plan.phase.
	volumePhase
	// volumeUnbind: the claim went to another volume; free this one
	// (drop a claimRef the controller set, or only its uid when a user
	// pre-bound it), then phase Available.
	volumeUnbind
)

// volumePlan is the decision for one volume.
type volumePlan struct {
	action  volumeAction
	phase   corev1.PersistentVolumePhase
	message string
	event   *event
	// enqueueClaim: the claim side has work (a bind to complete).
	enqueueClaim bool
}

// decideVolume is Kubernetes' syncVolume. claim is the claim the volume's
// claimRef names, from the cache (nil when missing).
func decideVolume(pv *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) volumePlan {
	if pv.DeletionTimestamp != nil {
		return volumePlan{}
	}
	ref := pv.Spec.ClaimRef
	if ref == nil || ref.UID == "" {
		// Free, or pre-bound by a user to a claim that will bind it.
		return phaseOf(pv, corev1.VolumeAvailable, "", nil, ref != nil)
	}
	if claim != nil && claim.UID != ref.UID {
		claim = nil // deleted and made again: not the volume's claim
	}
	if claim == nil {
		if pv.Status.Phase != corev1.VolumeReleased && pv.Status.Phase != corev1.VolumeFailed {
			return volumePlan{action: volumePhase, phase: corev1.VolumeReleased}
		}
		return reclaim(pv)
	}
	switch claim.Spec.VolumeName {
	case "":
		// Pre-bound (by a provisioner, say): the claim sync binds it.
		return volumePlan{enqueueClaim: true}
	case pv.Name:
		return phaseOf(pv, corev1.VolumeBound, "", nil, false)
	}
	return volumePlan{action: volumeUnbind, phase: corev1.VolumeAvailable}
}

// reclaim applies the reclaim policy of a Released volume.
func reclaim(pv *corev1.PersistentVolume) volumePlan {
	if pv.Status.Phase == corev1.VolumeFailed {
		return volumePlan{}
	}
	switch pv.Spec.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimDelete:
		if pv.Annotations[storageutil.AnnDynamicallyProvisioned] != "" {
			return volumePlan{} // its provisioner deletes it
		}
		msg := fmt.Sprintf("error getting deleter volume plugin for volume %q: no deletable volume plugin matched", pv.Name)
		return volumePlan{action: volumePhase, phase: corev1.VolumeFailed, message: msg,
			event: &event{corev1.EventTypeWarning, reasonVolumeFailedDelete, msg}}
	case corev1.PersistentVolumeReclaimRecycle:
		msg := "No recycler plugin found for the volume!"
		return volumePlan{action: volumePhase, phase: corev1.VolumeFailed, message: msg,
			event: &event{corev1.EventTypeWarning, reasonVolumeFailedRecycle, msg}}
	}
	return volumePlan{} // Retain
}

// phaseOf moves the volume to phase unless it is there already.
func phaseOf(pv *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, message string, ev *event, enqueueClaim bool) volumePlan {
	if pv.Status.Phase == phase && pv.Status.Message == message && pv.Status.Reason == "" {
		return volumePlan{enqueueClaim: enqueueClaim, event: ev}
	}
	return volumePlan{action: volumePhase, phase: phase, message: message, event: ev, enqueueClaim: enqueueClaim}
}
