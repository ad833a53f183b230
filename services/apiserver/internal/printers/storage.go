package printers

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/gantry-dev/gantry/libs/storageutil"
)

// persistentVolumeCells: CLAIM is namespace/name, STATUS Terminating once
// deleted, VOLUMEMODE a wide column, as in Kubernetes.
func persistentVolumeCells(pv *corev1.PersistentVolume, now time.Time) []interface{} {
	claim := ""
	if ref := pv.Spec.ClaimRef; ref != nil {
		claim = ref.Namespace + "/" + ref.Name
	}
	size := pv.Spec.Capacity[corev1.ResourceStorage]
	phase := string(pv.Status.Phase)
	if pv.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	return []interface{}{
		pv.Name, size.String(), storageutil.AccessModesString(pv.Spec.AccessModes),
		string(pv.Spec.PersistentVolumeReclaimPolicy), phase, claim, storageutil.VolumeClass(pv),
		orUnset(pv.Spec.VolumeAttributesClassName), pv.Status.Reason, age(pv.CreationTimestamp, now),
		orUnset((*string)(pv.Spec.VolumeMode)),
	}
}

// persistentVolumeClaimCells: CAPACITY and ACCESS MODES come from the
// status, and only once the claim names its volume.
func persistentVolumeClaimCells(pvc *corev1.PersistentVolumeClaim, now time.Time) []interface{} {
	phase := string(pvc.Status.Phase)
	if pvc.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	capacity, modes := "", ""
	if pvc.Spec.VolumeName != "" {
		q := pvc.Status.Capacity[corev1.ResourceStorage]
		capacity, modes = q.String(), storageutil.AccessModesString(pvc.Status.AccessModes)
	}
	return []interface{}{
		pvc.Name, phase, pvc.Spec.VolumeName, capacity, modes, storageutil.ClaimClass(pvc),
		orUnset(pvc.Spec.VolumeAttributesClassName), age(pvc.CreationTimestamp, now),
		orUnset((*string)(pvc.Spec.VolumeMode)),
	}
}

// storageClassCells: the default class's name carries " (default)";
// ALLOWVOLUMEEXPANSION is a boolean cell.
func storageClassCells(sc *storagev1.StorageClass, now time.Time) []interface{} {
	name := sc.Name
	if storageutil.IsDefaultClass(sc.ObjectMeta) {
		name += " (default)"
	}
	policy := string(corev1.PersistentVolumeReclaimDelete)
	if sc.ReclaimPolicy != nil {
		policy = string(*sc.ReclaimPolicy)
	}
	expand := sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
	return []interface{}{name, sc.Provisioner, policy, string(storageutil.BindingMode(sc)), expand, age(sc.CreationTimestamp, now)}
}

// orUnset is *s, or "<unset>" when s is nil.
func orUnset(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}
