package volume

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/libs/storageutil"
)

// Event reasons of the provisioner, as Kubernetes' external provisioners
// word them.
const (
	reasonProvisioning          = "Provisioning"
	reasonProvisioningSucceeded = "ProvisioningSucceeded"
)

// provisionState is what decideProvision looks at.
type provisionState struct {
	claim *corev1.PersistentVolumeClaim
	// class is the claim's class (nil when it has none or it is missing).
	class *storagev1.StorageClass
	// node is the selected node, nil when none is selected or it is not
	// known.
	node *corev1.Node
	// existing is the volume named after the claim, nil when none.
	existing *corev1.PersistentVolume
	// dir is where volumes live on nodes (--local-path-dir).
	dir string
}

// provisionPlan is what to do for a claim: create volume, or not; and an
// event about the claim. retry asks for another try later (a cache may
// lag behind).
type provisionPlan struct {
	volume *corev1.PersistentVolume
	event  *event
	retry  bool
}

// decideProvision provisions a claim that the binder handed to the
// local-path provisioner (annotation volume.kubernetes.io/storage-
// provisioner), is still unbound, and has a selected node.
func decideProvision(s provisionState) provisionPlan {
	claim := s.claim
	if claim.Spec.VolumeName != "" || claim.DeletionTimestamp != nil || s.existing != nil {
		return provisionPlan{}
	}
	if claim.Annotations[storageutil.AnnStorageProvisioner] != storageutil.LocalPathProvisioner &&
		claim.Annotations[storageutil.AnnBetaStorageProvisioner] != storageutil.LocalPathProvisioner {
		return provisionPlan{}
	}
	if s.class == nil || s.class.Provisioner != storageutil.LocalPathProvisioner {
		return provisionPlan{}
	}
	failed := func(format string, args ...any) provisionPlan {
		return provisionPlan{event: &event{corev1.EventTypeWarning, reasonProvisioningFailed,
			fmt.Sprintf("failed to provision volume with StorageClass %q: ", s.class.Name) + fmt.Sprintf(format, args...)}}
	}
	selected := claim.Annotations[storageutil.AnnSelectedNode]
	switch {
	case selected == "" && storageutil.BindingMode(s.class) == storagev1.VolumeBindingWaitForFirstConsumer:
		return provisionPlan{} // the scheduler picks the node first
	case selected == "":
		return failed("configuration error, no node was specified (use volumeBindingMode WaitForFirstConsumer)")
	case s.node == nil:
		p := failed("node %q not found", selected)
		p.retry = true
		return p
	case volumeMode(claim.Spec.VolumeMode) != corev1.PersistentVolumeFilesystem:
		return failed("volumeMode %s is not supported", volumeMode(claim.Spec.VolumeMode))
	case claim.Spec.DataSource != nil || claim.Spec.DataSourceRef != nil:
		return failed("data sources are not supported")
	case claim.Spec.Selector != nil:
		return failed("claim Selector is not supported")
	}
	return provisionPlan{volume: localPathVolume(claim, s.class, s.node, s.dir)}
}

// localPathVolume is the volume the provisioner makes for claim on node.
func localPathVolume(claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, node *corev1.Node, dir string) *corev1.PersistentVolume {
	policy := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		policy = *class.ReclaimPolicy
	}
	hostPathType := corev1.HostPathDirectoryOrCreate
	mode := corev1.PersistentVolumeFilesystem
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        storageutil.ProvisionedVolumeName(claim),
			Annotations: map[string]string{storageutil.AnnDynamicallyProvisioned: storageutil.LocalPathProvisioner},
			Finalizers:  []string{storageutil.LocalPathCleanupFinalizer},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: claim.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes:                   claim.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: policy,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			VolumeMode:                    &mode,
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: claim.Namespace, Name: claim.Name,
				UID: claim.UID, ResourceVersion: claim.ResourceVersion,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: storageutil.LocalPathDir(dir, claim), Type: &hostPathType},
			},
			NodeAffinity: storageutil.HostnameAffinity(storageutil.NodeHostname(node)),
		},
	}
}

// reclaimAction is what the provisioner does for one of its volumes.
type reclaimAction int

const (
	reclaimKeep reclaimAction = iota
	// reclaimDelete: delete the Released volume (its finalizer holds it
	// until the node's agent has removed the directory).
	reclaimDelete
	// reclaimForget: the volume's node is gone; drop the finalizer.
	reclaimForget
)

// decideReclaim is the provisioner's side of a volume it made. nodeGone
// says that no node has the volume's hostname any more.
func decideReclaim(pv *corev1.PersistentVolume, nodeGone bool) reclaimAction {
	if !storageutil.IsLocalPathVolume(pv) {
		return reclaimKeep
	}
	if pv.DeletionTimestamp != nil {
		if nodeGone && hasFinalizer(pv, storageutil.LocalPathCleanupFinalizer) {
			return reclaimForget
		}
		return reclaimKeep
	}
	if pv.Status.Phase == corev1.VolumeReleased && pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete {
		return reclaimDelete
	}
	return reclaimKeep
}

func hasFinalizer(pv *corev1.PersistentVolume, name string) bool {
	for _, f := range pv.Finalizers {
		if f == name {
			return true
		}
	}
	return false
}
