package defaults

import (
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// defaultPersistentVolume: a volume is retained when its claim goes (the
// safe choice for volumes made by hand), holds a filesystem, and starts
// Pending.
func defaultPersistentVolume(pv *corev1.PersistentVolume) {
	setIfEmpty(&pv.Spec.PersistentVolumeReclaimPolicy, corev1.PersistentVolumeReclaimRetain)
	setIfNil(&pv.Spec.VolumeMode, corev1.PersistentVolumeFilesystem)
	if pv.Spec.HostPath != nil {
		setIfNil(&pv.Spec.HostPath.Type, corev1.HostPathUnset)
	}
	roundResourceList(pv.Spec.Capacity)
	setIfEmpty(&pv.Status.Phase, corev1.VolumePending)
}

// defaultPersistentVolumeClaim: a claim asks for a filesystem and starts
// Pending.
func defaultPersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) {
	defaultPVCSpec(&pvc.Spec)
	setIfEmpty(&pvc.Status.Phase, corev1.ClaimPending)
}

// defaultStorageClass: volumes of a class are deleted with their claims
// and bound as soon as the claim exists, unless the class says otherwise.
func defaultStorageClass(sc *storagev1.StorageClass) {
	setIfNil(&sc.ReclaimPolicy, corev1.PersistentVolumeReclaimDelete)
	setIfNil(&sc.VolumeBindingMode, storagev1.VolumeBindingImmediate)
}
