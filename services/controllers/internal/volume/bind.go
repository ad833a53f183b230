package volume

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/libs/storageutil"
)

var getOptions = metav1.GetOptions{}

// The writes of the binder. Each starts from the object as cached (a
// copy), skips what is already so, and sends the cached resourceVersion,
// so that a write based on stale state fails with a conflict and the key
// is retried.

// bind binds pv and claim to each other, in Kubernetes' order: the
// volume's claimRef, the volume's phase, the claim's volumeName and
// annotations, the claim's status.
func (b *Binder) bind(ctx context.Context, pv *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) error {
	pv, err := b.bindVolume(ctx, pv, claim)
	if err != nil {
		return err
	}
	if pv, err = b.setVolumePhase(ctx, pv, corev1.VolumeBound, ""); err != nil {
		return err
	}
	if claim, err = b.bindClaim(ctx, claim, pv); err != nil {
		return err
	}
	next := claim.DeepCopy()
	next.Status.Phase = corev1.ClaimBound
	next.Status.AccessModes = pv.Spec.AccessModes
	next.Status.Capacity = pv.Spec.Capacity.DeepCopy()
	if equality.Semantic.DeepEqual(next.Status, claim.Status) {
		return nil
	}
	if _, err := b.claimsAPI.UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("status of claim %s/%s: %w", claim.Namespace, claim.Name, err)
	}
	b.log.Info("bound", "claim", claim.Namespace+"/"+claim.Name, "volume", pv.Name)
	return nil
}

// bindVolume points pv's claimRef at claim; a volume the controller
// chose (not pre-bound to the claim) is marked bound-by-controller.
func (b *Binder) bindVolume(ctx context.Context, pv *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) (*corev1.PersistentVolume, error) {
	ref := pv.Spec.ClaimRef
	if ref != nil && ref.Namespace == claim.Namespace && ref.Name == claim.Name && ref.UID == claim.UID {
		return pv, nil
	}
	next := pv.DeepCopy()
	if !boundToClaim(pv, claim) {
		setAnnotation(&next.ObjectMeta, storageutil.AnnBoundByController, "yes")
	}
	next.Spec.ClaimRef = &corev1.ObjectReference{
		Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: claim.Namespace, Name: claim.Name,
		UID: claim.UID, ResourceVersion: claim.ResourceVersion,
	}
	out, err := b.volumesAPI.Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("bind volume %s to claim %s/%s: %w", pv.Name, claim.Namespace, claim.Name, err)
	}
	return out, nil
}

// bindClaim sets claim's volumeName (marking it bound-by-controller when
// the claim did not name the volume) and bind-completed.
func (b *Binder) bindClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	next := claim.DeepCopy()
	if next.Spec.VolumeName != pv.Name {
		next.Spec.VolumeName = pv.Name
		setAnnotation(&next.ObjectMeta, storageutil.AnnBoundByController, "yes")
	}
	setAnnotation(&next.ObjectMeta, storageutil.AnnBindCompleted, "yes")
	if equality.Semantic.DeepEqual(next, claim) {
		return claim, nil
	}
	out, err := b.claimsAPI.Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("bind claim %s/%s to volume %s: %w", claim.Namespace, claim.Name, pv.Name, err)
	}
	return out, nil
}

// setVolumePhase writes a volume's phase and message (reason cleared).
func (b *Binder) setVolumePhase(ctx context.Context, pv *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, message string) (*corev1.PersistentVolume, error) {
	if pv.Status.Phase == phase && pv.Status.Message == message && pv.Status.Reason == "" {
		return pv, nil
	}
	next := pv.DeepCopy()
	next.Status.Phase, next.Status.Message, next.Status.Reason = phase, message, ""
	out, err := b.volumesAPI.UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("phase %s of volume %s: %w", phase, pv.Name, err)
	}
	b.log.Debug("volume phase", "volume", pv.Name, "phase", phase)
	return out, nil
}

// setClaimPhase writes a claim's phase.
func (b *Binder) setClaimPhase(ctx context.Context, claim *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase) error {
	if claim.Status.Phase == phase {
		return nil
	}
	next := claim.DeepCopy()
	next.Status.Phase = phase
	if _, err := b.claimsAPI.UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("phase %s of claim %s/%s: %w", phase, claim.Namespace, claim.Name, err)
	}
	return nil
}

// setProvisioner hands claim to provisioner through the
// volume.kubernetes.io/storage-provisioner annotations.
func (b *Binder) setProvisioner(ctx context.Context, claim *corev1.PersistentVolumeClaim, provisioner string) error {
	if claim.Annotations[storageutil.AnnStorageProvisioner] == provisioner &&
		claim.Annotations[storageutil.AnnBetaStorageProvisioner] == provisioner {
		return nil
	}
	next := claim.DeepCopy()
	setAnnotation(&next.ObjectMeta, storageutil.AnnStorageProvisioner, provisioner)
	setAnnotation(&next.ObjectMeta, storageutil.AnnBetaStorageProvisioner, provisioner)
	if _, err := b.claimsAPI.Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("provisioner of claim %s/%s: %w", claim.Namespace, claim.Name, err)
	}
	return nil
}

// unbind frees a volume whose claim is bound elsewhere: a claimRef the
// controller set goes, a user's pre-binding keeps its name but loses the
// uid; then the volume is Available.
func (b *Binder) unbind(ctx context.Context, pv *corev1.PersistentVolume) error {
	next := pv.DeepCopy()
	if pv.Annotations[storageutil.AnnBoundByController] != "" {
		next.Spec.ClaimRef = nil
		delete(next.Annotations, storageutil.AnnBoundByController)
	} else {
		next.Spec.ClaimRef.UID = ""
	}
	out, err := b.volumesAPI.Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("unbind volume %s: %w", pv.Name, err)
	}
	_, err = b.setVolumePhase(ctx, out, corev1.VolumeAvailable, "")
	return err
}

func setAnnotation(m *metav1.ObjectMeta, key, value string) {
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[key] = value
}
