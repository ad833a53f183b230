package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const testUID = "5d1d1c2c-95a2-4c49-9ad8-3a9b4d0b5e01"

func validPV() *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv1", UID: testUID},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			VolumeMode:                    ptr(corev1.PersistentVolumeFilesystem),
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: "/data/pv1", Type: ptr(corev1.HostPathDirectoryOrCreate)},
			},
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumePending},
	}
}

func nodeAffinity(node string) *corev1.VolumeNodeAffinity {
	return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
	}}}}
}

func TestValidatePersistentVolume(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.PersistentVolume)
		want   []want
		msg    string
	}{
		{name: "valid hostPath volume passes", mutate: func(*corev1.PersistentVolume) {}},
		{name: "local volume with node affinity passes", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath, pv.Spec.Local, pv.Spec.NodeAffinity = nil, &corev1.LocalVolumeSource{Path: "/mnt/disk"}, nodeAffinity("n1")
		}},
		{name: "no access modes", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.AccessModes = nil },
			want: []want{required("spec.accessModes", "")}},
		{name: "unknown access mode", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadSometimes"}
		}, want: []want{notSupported("spec.accessModes", `"ReadWriteOnce"`)}},
		{name: "ReadWriteOncePod with another mode", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadOnlyMany}
		}, want: []want{forbidden("spec.accessModes", "may not use ReadWriteOncePod with other access modes")}},
		{name: "no capacity", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.Capacity = nil },
			want: []want{required("spec.capacity", ""), notSupported("spec.capacity", `"storage"`)}},
		{name: "zero capacity", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.Capacity[corev1.ResourceStorage] = resource.MustParse("0")
		}, want: []want{invalid("spec.capacity[storage]", "must be greater than zero")}},
		{name: "capacity of another resource", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.Capacity[corev1.ResourceCPU] = resource.MustParse("1")
		}, want: []want{notSupported("spec.capacity", "")}},
		{name: "unknown reclaim policy", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeReclaimPolicy = "Shred" },
			want: []want{notSupported("spec.persistentVolumeReclaimPolicy", `"Delete", "Recycle", "Retain"`)}},
		{name: "no source", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.HostPath = nil },
			want: []want{required("spec", "must specify a volume type")}, msg: "spec: Required value: must specify a volume type"},
		{name: "two sources", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.NFS = &corev1.NFSVolumeSource{Server: "nfs", Path: "/export"}
		}, want: []want{forbidden("spec.nfs", "may not specify more than 1 volume type")}},
		{name: "hostPath without path", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.HostPath.Path = "" },
			want: []want{required("spec.hostPath.path", "")}},
		{name: "local volume without node affinity", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath, pv.Spec.Local = nil, &corev1.LocalVolumeSource{Path: "/mnt/disk"}
		}, want: []want{required("spec.nodeAffinity", "Local volume requires node affinity")}},
		{name: "node affinity without required", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{}
		}, want: []want{required("spec.nodeAffinity.required", "must specify required node constraints")}},
		{name: "node affinity without terms", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{}}
		}, want: []want{required("spec.nodeAffinity.required.nodeSelectorTerms", "")}},
		{name: "recycling a hostPath of /", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath.Path, pv.Spec.PersistentVolumeReclaimPolicy = "/", corev1.PersistentVolumeReclaimRecycle
		}, want: []want{forbidden("spec.persistentVolumeReclaimPolicy", "may not be 'recycle' for a hostPath mount of '/'")}},
		{name: "bad class name", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.StorageClassName = "Fast_Disks" },
			want: []want{invalid("spec.storageClassName", "")}},
		{name: "namespace on a cluster-scoped volume", mutate: func(pv *corev1.PersistentVolume) { pv.Namespace = "default" },
			want: []want{forbidden("metadata.namespace", "not allowed on this type")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pv := validPV()
			tc.mutate(pv)
			errs := ValidateCreate(pv)
			expectErrors(t, errs, tc.want...)
			if tc.msg != "" {
				expectMessage(t, errs, tc.msg)
			}
		})
	}
}

func TestValidatePersistentVolumeUpdate(t *testing.T) {
	old := validPV()
	old.ObjectMeta = stored(old.ObjectMeta)
	tests := []struct {
		name   string
		mutate func(*corev1.PersistentVolume)
		want   []want
	}{
		{name: "claimRef, class and policy may change", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
			pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
			pv.Spec.StorageClassName = "manual"
		}},
		{name: "node affinity may be set once", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.NodeAffinity = nodeAffinity("n1") }},
		{name: "source is immutable", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.HostPath.Path = "/elsewhere" },
			want: []want{forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation")}},
		{name: "volume mode is immutable", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.VolumeMode = ptr(corev1.PersistentVolumeBlock) },
			want: []want{invalid("volumeMode", "field is immutable")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pv := old.DeepCopy()
			tc.mutate(pv)
			expectErrors(t, ValidateUpdate(pv, old), tc.want...)
		})
	}
	t.Run("node affinity is immutable once set", func(t *testing.T) {
		withAffinity := old.DeepCopy()
		withAffinity.Spec.NodeAffinity = nodeAffinity("n1")
		pv := withAffinity.DeepCopy()
		pv.Spec.NodeAffinity = nodeAffinity("n2")
		expectErrors(t, ValidateUpdate(pv, withAffinity), invalid("nodeAffinity", "field is immutable"))
	})
}

func validPVC() *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default", UID: testUID},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			},
			StorageClassName: ptr("local-path"),
			VolumeMode:       ptr(corev1.PersistentVolumeFilesystem),
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
}

func TestValidatePersistentVolumeClaim(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.PersistentVolumeClaim)
		want   []want
		msg    string
	}{
		{name: "valid claim passes", mutate: func(*corev1.PersistentVolumeClaim) {}},
		{name: "no class passes", mutate: func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.StorageClassName = ptr("") }},
		{name: "no access modes", mutate: func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.AccessModes = nil },
			want: []want{required("spec.accessModes", "at least 1 access mode is required")}},
		{name: "no storage request", mutate: func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.Resources.Requests = nil },
			want: []want{required("spec.resources[storage]", "")}, msg: "spec.resources[storage]: Required value"},
		{name: "zero storage request", mutate: func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("0")
		}, want: []want{invalid("spec.resources[storage]", "must be greater than zero")}},
		{name: "bad selector", mutate: func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}}
		}, want: []want{invalid("spec.selector.matchExpressions[0].operator", "")}},
		{name: "bad class name", mutate: func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.StorageClassName = ptr("Fast_Disks") },
			want: []want{invalid("spec.storageClassName", "")}},
		{name: "unknown volume mode", mutate: func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.VolumeMode = ptr(corev1.PersistentVolumeMode("Tape"))
		}, want: []want{notSupported("spec.volumeMode", `"Block", "Filesystem"`)}},
		{name: "data source of a core kind other than a claim", mutate: func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "Pod", Name: "p"}
		}, want: []want{invalid("spec.dataSource", "must be 'PersistentVolumeClaim' when referencing the default apiGroup")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pvc := validPVC()
			tc.mutate(pvc)
			errs := ValidateCreate(pvc)
			expectErrors(t, errs, tc.want...)
			if tc.msg != "" {
				expectMessage(t, errs, tc.msg)
			}
		})
	}
}

func TestValidatePersistentVolumeClaimUpdate(t *testing.T) {
	pending := validPVC()
	pending.ObjectMeta = stored(pending.ObjectMeta)
	bound := pending.DeepCopy()
	bound.Spec.VolumeName = "pv1"
	bound.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound,
		Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}
	noClass := pending.DeepCopy()
	noClass.Spec.StorageClassName = nil
	tests := []struct {
		name   string
		old    *corev1.PersistentVolumeClaim
		mutate func(*corev1.PersistentVolumeClaim)
		want   []want
	}{
		{name: "volumeName may be set once", old: pending, mutate: func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.VolumeName = "pv1" }},
		{name: "volumeName may not change once set", old: bound, mutate: func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.VolumeName = "pv2" },
			want: []want{forbidden("spec", "spec is immutable after creation except resources.requests")}},
		{name: "a class may be given to a claim without one", old: noClass,
			mutate: func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.StorageClassName = ptr("fast") }},
		{name: "the class may not change", old: pending, mutate: func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.StorageClassName = ptr("fast") },
			want: []want{forbidden("spec", "spec is immutable after creation")}},
		{name: "access modes are immutable", old: bound, mutate: func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}, want: []want{forbidden("spec", "spec is immutable after creation")}},
		{name: "a bound claim may grow", old: bound, mutate: func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		}},
		{name: "a bound claim may not shrink below its capacity", old: bound, mutate: func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("512Mi")
		}, want: []want{forbidden("spec.resources.requests.storage", "field can not be less than status.capacity")}},
		{name: "a pending claim may not change its request", old: pending, mutate: func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		}, want: []want{forbidden("spec", "spec is immutable after creation")}},
		{name: "labels and annotations may change", old: bound, mutate: func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Labels = map[string]string{"app": "db"}
			pvc.Annotations = map[string]string{"volume.kubernetes.io/selected-node": "n1"}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pvc := tc.old.DeepCopy()
			tc.mutate(pvc)
			expectErrors(t, ValidateUpdate(pvc, tc.old), tc.want...)
		})
	}
	t.Run("status update", func(t *testing.T) {
		pvc := pending.DeepCopy()
		pvc.Status = bound.Status
		expectErrors(t, ValidateStatusUpdate(pvc, pending))
	})
}

func validStorageClass() *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "fast", UID: testUID},
		Provisioner:       "example.com/fast",
		Parameters:        map[string]string{"type": "ssd"},
		ReclaimPolicy:     ptr(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr(storagev1.VolumeBindingWaitForFirstConsumer),
	}
}

func TestValidateStorageClass(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*storagev1.StorageClass)
		want   []want
		msg    string
	}{
		{name: "valid class passes", mutate: func(*storagev1.StorageClass) {}},
		{name: "no provisioner", mutate: func(sc *storagev1.StorageClass) { sc.Provisioner = "" },
			want: []want{required("provisioner", "")}, msg: "provisioner: Required value"},
		{name: "provisioner not a qualified name", mutate: func(sc *storagev1.StorageClass) { sc.Provisioner = "a/b/c" },
			want: []want{invalid("provisioner", "")}},
		{name: "Recycle is not a class policy", mutate: func(sc *storagev1.StorageClass) {
			sc.ReclaimPolicy = ptr(corev1.PersistentVolumeReclaimRecycle)
		}, want: []want{notSupported("reclaimPolicy", `"Delete", "Retain"`)}},
		{name: "unknown binding mode", mutate: func(sc *storagev1.StorageClass) {
			sc.VolumeBindingMode = ptr(storagev1.VolumeBindingMode("Eventually"))
		}, want: []want{notSupported("volumeBindingMode", `"Immediate", "WaitForFirstConsumer"`)}},
		{name: "empty parameter name", mutate: func(sc *storagev1.StorageClass) { sc.Parameters[""] = "x" },
			want: []want{invalid("parameters", "field can not be empty.")}},
		{name: "topology without values", mutate: func(sc *storagev1.StorageClass) {
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: "zone"}}}}
		}, want: []want{required("allowedTopologies[0].matchLabelExpressions[0].values", "")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := validStorageClass()
			tc.mutate(sc)
			errs := ValidateCreate(sc)
			expectErrors(t, errs, tc.want...)
			if tc.msg != "" {
				expectMessage(t, errs, tc.msg)
			}
		})
	}
}

func TestValidateStorageClassUpdate(t *testing.T) {
	old := validStorageClass()
	old.ObjectMeta = stored(old.ObjectMeta)
	tests := []struct {
		name   string
		mutate func(*storagev1.StorageClass)
		want   []want
		msg    string
	}{
		{name: "annotations and expansion may change", mutate: func(sc *storagev1.StorageClass) {
			sc.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
			sc.AllowVolumeExpansion = ptr(true)
		}},
		{name: "parameters are immutable", mutate: func(sc *storagev1.StorageClass) { sc.Parameters["type"] = "hdd" },
			want: []want{forbidden("parameters", "")}, msg: "parameters: Forbidden: updates to parameters are forbidden."},
		{name: "provisioner is immutable", mutate: func(sc *storagev1.StorageClass) { sc.Provisioner = "example.com/slow" },
			want: []want{forbidden("provisioner", "updates to provisioner are forbidden.")}},
		{name: "reclaim policy is immutable", mutate: func(sc *storagev1.StorageClass) {
			sc.ReclaimPolicy = ptr(corev1.PersistentVolumeReclaimRetain)
		}, want: []want{forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden.")}},
		{name: "binding mode is immutable", mutate: func(sc *storagev1.StorageClass) {
			sc.VolumeBindingMode = ptr(storagev1.VolumeBindingImmediate)
		}, want: []want{invalid("volumeBindingMode", "field is immutable")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := old.DeepCopy()
			tc.mutate(sc)
			errs := ValidateUpdate(sc, old)
			expectErrors(t, errs, tc.want...)
			if tc.msg != "" {
				expectMessage(t, errs, tc.msg)
			}
		})
	}
}
