package storageutil

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Annotations Kubernetes' PersistentVolume controller, scheduler and
// admission put on storage objects.
const (
	// AnnBindCompleted ("yes") on a claim: its binding is complete.
	AnnBindCompleted = "pv.kubernetes.io/bind-completed"
	// AnnBoundByController ("yes") on a volume or claim: the controller,
	// not the user, bound it.
	AnnBoundByController = "pv.kubernetes.io/bound-by-controller"
	// AnnSelectedNode on a claim: the node the scheduler chose for the
	// first pod using it (WaitForFirstConsumer classes).
	AnnSelectedNode = "volume.kubernetes.io/selected-node"
	// AnnStorageProvisioner (and its beta twin) on a claim: the
	// provisioner expected to provision a volume for it.
	AnnStorageProvisioner     = "volume.kubernetes.io/storage-provisioner"
	AnnBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	// AnnDynamicallyProvisioned on a volume: the provisioner that made it.
	AnnDynamicallyProvisioned = "pv.kubernetes.io/provisioned-by"
	// AnnBetaStorageClass is the class of a volume or claim before
	// spec.storageClassName existed.
	AnnBetaStorageClass = "volume.beta.kubernetes.io/storage-class"
	// AnnIsDefaultClass ("true") on a StorageClass: claims without a class
	// get this one. AnnBetaIsDefaultClass is the beta spelling.
	AnnIsDefaultClass     = "storageclass.kubernetes.io/is-default-class"
	AnnBetaIsDefaultClass = "storageclass.beta.kubernetes.io/is-default-class"
)

// The built-in local-path provisioner (see the package documentation).
const (
	// LocalPathProvisioner is the provisioner name of the class.
	LocalPathProvisioner = "gantry.dev/local-path"
	// LocalPathClass is the StorageClass the API server creates.
	LocalPathClass = "local-path"
	// LocalPathCleanupFinalizer holds a provisioned volume until the node
	// agent has removed its directory.
	LocalPathCleanupFinalizer = "gantry.dev/local-path-cleanup"
	// DefaultLocalPathDir is where volumes live on nodes by default.
	DefaultLocalPathDir = "/var/lib/gantry/storage"
)

// LabelHostname is the node label the local-path volumes' node affinity
// matches.
const LabelHostname = "kubernetes.io/hostname"

// IsDefaultClass reports whether a StorageClass is marked as the default
// one (either annotation set to "true").
func IsDefaultClass(m metav1.ObjectMeta) bool {
	return m.Annotations[AnnIsDefaultClass] == "true" || m.Annotations[AnnBetaIsDefaultClass] == "true"
}

// ClaimClass is the class a claim asks for: spec.storageClassName, else
// the beta annotation, else "" (no class).
func ClaimClass(pvc *corev1.PersistentVolumeClaim) string {
	if pvc.Spec.StorageClassName != nil {
		return *pvc.Spec.StorageClassName
	}
	return pvc.Annotations[AnnBetaStorageClass]
}

// VolumeClass is the class of a volume: the beta annotation, else
// spec.storageClassName (Kubernetes reads them in this order).
func VolumeClass(pv *corev1.PersistentVolume) string {
	if c, ok := pv.Annotations[AnnBetaStorageClass]; ok {
		return c
	}
	return pv.Spec.StorageClassName
}

// AccessModesString prints access modes as kubectl does: "RWO,ROX,RWX,RWOP",
// in that order whatever the order given, each once.
func AccessModesString(modes []corev1.PersistentVolumeAccessMode) string {
	var out []string
	for _, m := range []struct {
		mode  corev1.PersistentVolumeAccessMode
		short string
	}{
		{corev1.ReadWriteOnce, "RWO"}, {corev1.ReadOnlyMany, "ROX"},
		{corev1.ReadWriteMany, "RWX"}, {corev1.ReadWriteOncePod, "RWOP"},
	} {
		for _, have := range modes {
			if have == m.mode {
				out = append(out, m.short)
				break
			}
		}
	}
	return strings.Join(out, ",")
}

// BindingMode is a class's volumeBindingMode, Immediate when unset.
func BindingMode(sc *storagev1.StorageClass) storagev1.VolumeBindingMode {
	if sc.VolumeBindingMode == nil {
		return storagev1.VolumeBindingImmediate
	}
	return *sc.VolumeBindingMode
}

// LocalPathStorageClass returns the built-in local-path class, as a new
// object the caller owns: the default class, provisioned on the node of
// the first pod using a claim, deleted with its claim.
func LocalPathStorageClass() *storagev1.StorageClass {
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	policy := corev1.PersistentVolumeReclaimDelete
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: LocalPathClass, Annotations: map[string]string{AnnIsDefaultClass: "true"}},
		Provisioner:       LocalPathProvisioner,
		ReclaimPolicy:     &policy,
		VolumeBindingMode: &mode,
	}
}

// ProvisionedVolumeName is the name Kubernetes' provisioners give the
// volume of a claim: "pvc-<claim uid>".
func ProvisionedVolumeName(pvc *corev1.PersistentVolumeClaim) string {
	return "pvc-" + string(pvc.UID)
}

// LocalPathDir is the directory of a claim's local-path volume below
// base: <base>/pvc-<uid>_<namespace>_<name>.
func LocalPathDir(base string, pvc *corev1.PersistentVolumeClaim) string {
	return strings.TrimRight(base, "/") + "/" + ProvisionedVolumeName(pvc) + "_" + pvc.Namespace + "_" + pvc.Name
}

// IsLocalPathVolume reports whether the local-path provisioner made pv.
func IsLocalPathVolume(pv *corev1.PersistentVolume) bool {
	return pv.Annotations[AnnDynamicallyProvisioned] == LocalPathProvisioner
}
