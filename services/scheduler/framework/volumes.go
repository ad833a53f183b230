package framework

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// Storage objects whose changes can make a pod schedulable (the
// VolumeBinding plugin registers them).
const (
	ResourcePersistentVolumeClaim ClusterEventResource = "PersistentVolumeClaim"
	ResourcePersistentVolume      ClusterEventResource = "PersistentVolume"
	ResourceStorageClass          ClusterEventResource = "StorageClass"
)

// VolumeLister reads PersistentVolumeClaims, PersistentVolumes and
// StorageClasses (from the scheduler's informer caches: returned objects
// are shared and must not be modified), and records the node chosen for
// a claim. Missing objects are reported with errors for which
// apierrors.IsNotFound is true.
type VolumeLister interface {
	Claim(namespace, name string) (*corev1.PersistentVolumeClaim, error)
	Volume(name string) (*corev1.PersistentVolume, error)
	// Volumes lists every volume.
	Volumes() ([]*corev1.PersistentVolume, error)
	StorageClass(name string) (*storagev1.StorageClass, error)
	// SelectNode sets the volume.kubernetes.io/selected-node annotation
	// of a claim to nodeName (WaitForFirstConsumer binding).
	SelectNode(ctx context.Context, claim *corev1.PersistentVolumeClaim, nodeName string) error
}

// VolumeListerProvider is an optional interface of Handle: a Handle
// implementing it gives plugins the storage objects (the scheduler's
// does).
type VolumeListerProvider interface {
	VolumeLister() VolumeLister
}
