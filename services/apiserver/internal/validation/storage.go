package validation

import (
	"path"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/gantry-dev/gantry/libs/storageutil"
)

// PersistentVolumes, PersistentVolumeClaims and StorageClasses, as
// Kubernetes validates them (pkg/apis/core/validation and
// pkg/apis/storage/validation).

var supportedReclaimPolicies = sets.New(corev1.PersistentVolumeReclaimDelete,
	corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain)

// pvSourceKind is one member of the PersistentVolumeSource union, in the
// order Kubernetes checks them.
type pvSourceKind struct {
	name     string
	isSet    func(*corev1.PersistentVolumeSource) bool
	validate func(*corev1.PersistentVolumeSpec, *field.Path) field.ErrorList
}

var pvSourceKinds = []pvSourceKind{
	{"hostPath", func(s *corev1.PersistentVolumeSource) bool { return s.HostPath != nil }, validatePVHostPath},
	{"gcePersistentDisk", func(s *corev1.PersistentVolumeSource) bool { return s.GCEPersistentDisk != nil }, nil},
	{"awsElasticBlockStore", func(s *corev1.PersistentVolumeSource) bool { return s.AWSElasticBlockStore != nil }, nil},
	{"glusterfs", func(s *corev1.PersistentVolumeSource) bool { return s.Glusterfs != nil }, nil},
	{"flocker", func(s *corev1.PersistentVolumeSource) bool { return s.Flocker != nil }, nil},
	{"nfs", func(s *corev1.PersistentVolumeSource) bool { return s.NFS != nil }, validatePVNFS},
	{"rbd", func(s *corev1.PersistentVolumeSource) bool { return s.RBD != nil }, nil},
	{"quobyte", func(s *corev1.PersistentVolumeSource) bool { return s.Quobyte != nil }, nil},
	{"cephFS", func(s *corev1.PersistentVolumeSource) bool { return s.CephFS != nil }, nil},
	{"iscsi", func(s *corev1.PersistentVolumeSource) bool { return s.ISCSI != nil }, nil},
	{"cinder", func(s *corev1.PersistentVolumeSource) bool { return s.Cinder != nil }, nil},
	{"fc", func(s *corev1.PersistentVolumeSource) bool { return s.FC != nil }, nil},
	{"flexVolume", func(s *corev1.PersistentVolumeSource) bool { return s.FlexVolume != nil }, nil},
	{"azureFile", func(s *corev1.PersistentVolumeSource) bool { return s.AzureFile != nil }, nil},
	{"vsphereVolume", func(s *corev1.PersistentVolumeSource) bool { return s.VsphereVolume != nil }, nil},
	{"photonPersistentDisk", func(s *corev1.PersistentVolumeSource) bool { return s.PhotonPersistentDisk != nil }, nil},
	{"portworxVolume", func(s *corev1.PersistentVolumeSource) bool { return s.PortworxVolume != nil }, nil},
	{"azureDisk", func(s *corev1.PersistentVolumeSource) bool { return s.AzureDisk != nil }, nil},
	{"scaleIO", func(s *corev1.PersistentVolumeSource) bool { return s.ScaleIO != nil }, nil},
	{"local", func(s *corev1.PersistentVolumeSource) bool { return s.Local != nil }, validatePVLocal},
	{"storageos", func(s *corev1.PersistentVolumeSource) bool { return s.StorageOS != nil }, nil},
	{"csi", func(s *corev1.PersistentVolumeSource) bool { return s.CSI != nil }, validatePVCSI},
}

func validatePersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	errs := validateMeta(&pv.ObjectMeta, false, nameIsDNSSubdomain)
	return append(errs, validatePersistentVolumeSpec(&pv.Spec, specPath)...)
}

// validatePersistentVolumeSpec: access modes, a positive storage capacity
// (and nothing else), a known reclaim policy, a valid node affinity, and
// exactly one volume source.
func validatePersistentVolumeSpec(spec *corev1.PersistentVolumeSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(fldPath.Child("accessModes"), ""))
	}
	errs = append(errs, validateAccessModes(spec.AccessModes, fldPath.Child("accessModes"))...)
	capPath := fldPath.Child("capacity")
	if len(spec.Capacity) == 0 {
		errs = append(errs, field.Required(capPath, ""))
	}
	if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		errs = append(errs, field.NotSupported(capPath, spec.Capacity, []corev1.ResourceName{corev1.ResourceStorage}))
	}
	for name, q := range spec.Capacity {
		if q.Cmp(resource.Quantity{}) <= 0 {
			errs = append(errs, field.Invalid(capPath.Key(string(name)), q.String(), isNotPositiveErrorMsg))
		}
	}
	if p := spec.PersistentVolumeReclaimPolicy; p != "" && !supportedReclaimPolicies.Has(p) {
		errs = append(errs, field.NotSupported(fldPath.Child("persistentVolumeReclaimPolicy"), p, sets.List(supportedReclaimPolicies)))
	}
	if na := spec.NodeAffinity; na != nil {
		if na.Required == nil {
			errs = append(errs, field.Required(fldPath.Child("nodeAffinity").Child("required"), "must specify required node constraints"))
		} else {
			errs = append(errs, validateNodeSelector(na.Required, false, fldPath.Child("nodeAffinity").Child("required"))...)
		}
	}
	found := false
	for _, k := range pvSourceKinds {
		if !k.isSet(&spec.PersistentVolumeSource) {
			continue
		}
		if found {
			errs = append(errs, field.Forbidden(fldPath.Child(k.name), "may not specify more than 1 volume type"))
			continue
		}
		found = true
		if k.validate != nil {
			errs = append(errs, k.validate(spec, fldPath)...)
		}
	}
	if !found {
		errs = append(errs, field.Required(fldPath, "must specify a volume type"))
	}
	if spec.HostPath != nil && path.Clean(spec.HostPath.Path) == "/" && spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		errs = append(errs, field.Forbidden(fldPath.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if spec.StorageClassName != "" {
		errs = append(errs, validateName(nameIsDNSSubdomain, spec.StorageClassName, fldPath.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil && !supportedVolumeModes.Has(*spec.VolumeMode) {
		errs = append(errs, field.NotSupported(fldPath.Child("volumeMode"), *spec.VolumeMode, sets.List(supportedVolumeModes)))
	}
	return errs
}

func validatePVHostPath(spec *corev1.PersistentVolumeSpec, fldPath *field.Path) field.ErrorList {
	return validateHostPathSource(&corev1.VolumeSource{HostPath: spec.HostPath}, fldPath, volumeContext{})
}

func validatePVNFS(spec *corev1.PersistentVolumeSpec, fldPath *field.Path) field.ErrorList {
	return validateNFSSource(&corev1.VolumeSource{NFS: spec.NFS}, fldPath, volumeContext{})
}

// validatePVLocal: a local volume needs a path and a node affinity.
func validatePVLocal(spec *corev1.PersistentVolumeSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	p := fldPath.Child("local")
	if spec.Local.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	} else {
		errs = append(errs, validatePathNoBacksteps(spec.Local.Path, p.Child("path"))...)
	}
	if spec.NodeAffinity == nil {
		errs = append(errs, field.Required(fldPath.Child("nodeAffinity"), "Local volume requires node affinity"))
	}
	return errs
}

func validatePVCSI(spec *corev1.PersistentVolumeSpec, fldPath *field.Path) field.ErrorList {
	p := fldPath.Child("csi")
	errs := validateCSIDriverName(spec.CSI.Driver, p.Child("driver"))
	if spec.CSI.VolumeHandle == "" {
		errs = append(errs, field.Required(p.Child("volumeHandle"), ""))
	}
	return errs
}

// validatePersistentVolumeUpdate: the volume source, volume mode and
// node affinity (once set) cannot change.
func validatePersistentVolumeUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	errs := validateMetaUpdate(&pv.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePersistentVolumeSpec(&pv.Spec, specPath)...)
	if !equality.Semantic.DeepEqual(pv.Spec.PersistentVolumeSource, old.Spec.PersistentVolumeSource) {
		errs = append(errs, field.Forbidden(specPath.Child("persistentvolumesource"),
			"spec.persistentvolumesource is immutable after creation\n"+objectDiff(old.Spec.PersistentVolumeSource, pv.Spec.PersistentVolumeSource)))
	}
	errs = append(errs, validateImmutable(pv.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if old.Spec.NodeAffinity != nil {
		errs = append(errs, validateImmutable(pv.Spec.NodeAffinity, old.Spec.NodeAffinity, field.NewPath("nodeAffinity"))...)
	}
	return errs
}

func validatePersistentVolumeStatusUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	return validateMetaUpdate(&pv.ObjectMeta, &old.ObjectMeta)
}

func validatePersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := validateMeta(&pvc.ObjectMeta, true, nameIsDNSSubdomain)
	return append(errs, validateClaimSpec(&pvc.Spec, specPath)...)
}

// validatePersistentVolumeClaimUpdate: a claim's spec is immutable, except
// that spec.volumeName may be set once (binding), a class may be set on a
// claim that had none, and a bound claim's storage request may change
// (not below its current capacity).
func validatePersistentVolumeClaimUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := validateMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePersistentVolumeClaim(pvc)...)
	next, prev := pvc.Spec.DeepCopy(), old.Spec.DeepCopy()
	if prev.VolumeName == "" {
		prev.VolumeName = next.VolumeName
	}
	const betaClass = storageutil.AnnBetaStorageClass
	oldAnn, oldHasAnn := old.Annotations[betaClass]
	if newAnn, ok := pvc.Annotations[betaClass]; ok != oldHasAnn || newAnn != oldAnn {
		errs = append(errs, field.Forbidden(metaPath.Child("annotations").Key(betaClass), fieldImmutableErrorMsg))
	}
	if prev.StorageClassName == nil && next.StorageClassName != nil && (!oldHasAnn || *next.StorageClassName == oldAnn) {
		prev.StorageClassName = next.StorageClassName
	}
	if pvc.Status.Phase == corev1.ClaimBound && next.Resources.Requests != nil {
		next.Resources.Requests[corev1.ResourceStorage] = old.Spec.Resources.Requests[corev1.ResourceStorage]
	}
	next.VolumeAttributesClassName = prev.VolumeAttributesClassName
	if !equality.Semantic.DeepEqual(next, prev) {
		errs = append(errs, field.Forbidden(specPath, "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"+
			objectDiff(prev, next)))
	}
	newSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	oldSize := old.Spec.Resources.Requests[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 {
		if capacity := old.Status.Capacity[corev1.ResourceStorage]; newSize.Cmp(capacity) <= 0 {
			errs = append(errs, field.Forbidden(specPath.Child("resources", "requests", "storage"), "field can not be less than status.capacity"))
		}
	}
	return append(errs, validateImmutable(pvc.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
}

// validatePersistentVolumeClaimStatusUpdate: capacities are valid
// quantities.
func validatePersistentVolumeClaimStatusUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := validateMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta)
	capPath := field.NewPath("status", "capacity")
	for name, q := range pvc.Status.Capacity {
		if q.Cmp(resource.Quantity{}) < 0 {
			errs = append(errs, field.Invalid(capPath.Key(string(name)), q.String(), isNegativeErrorMsg))
		}
	}
	return errs
}

const (
	maxProvisionerParameterSize = 256 * (1 << 10)
	maxProvisionerParameterLen  = 512
)

var (
	supportedClassReclaimPolicies = sets.New(corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRetain)
	supportedVolumeBindingModes   = sets.New(storagev1.VolumeBindingImmediate, storagev1.VolumeBindingWaitForFirstConsumer)
)

// validateStorageClass: a provisioner that is a qualified name,
// parameters of bounded size, a reclaim policy of Delete or Retain, a
// binding mode, and well-formed allowed topologies.
func validateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	errs := validateMeta(&sc.ObjectMeta, false, nameIsDNSSubdomain)
	provPath := field.NewPath("provisioner")
	if sc.Provisioner == "" {
		errs = append(errs, field.Required(provPath, ""))
	} else {
		errs = append(errs, invalidEach(provPath, sc.Provisioner, utilvalidation.IsQualifiedName(strings.ToLower(sc.Provisioner)))...)
	}
	errs = append(errs, validateClassParameters(sc.Parameters, field.NewPath("parameters"))...)
	if p := sc.ReclaimPolicy; p != nil && *p != "" && !supportedClassReclaimPolicies.Has(*p) {
		errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), *p, sets.List(supportedClassReclaimPolicies)))
	}
	modePath := field.NewPath("volumeBindingMode")
	switch m := sc.VolumeBindingMode; {
	case m == nil:
		errs = append(errs, field.Required(modePath, ""))
	case !supportedVolumeBindingModes.Has(*m):
		errs = append(errs, field.NotSupported(modePath, *m, sets.List(supportedVolumeBindingModes)))
	}
	return append(errs, validateAllowedTopologies(sc.AllowedTopologies, field.NewPath("allowedTopologies"))...)
}

func validateClassParameters(params map[string]string, fldPath *field.Path) field.ErrorList {
	if len(params) > maxProvisionerParameterLen {
		return field.ErrorList{field.TooLong(fldPath, "", maxProvisionerParameterLen)}
	}
	var errs field.ErrorList
	size := 0
	for k, v := range params {
		if k == "" {
			errs = append(errs, field.Invalid(fldPath, k, "field can not be empty."))
		}
		size += len(k) + len(v)
	}
	if size > maxProvisionerParameterSize {
		errs = append(errs, field.TooLong(fldPath, "", maxProvisionerParameterSize))
	}
	return errs
}

// validateAllowedTopologies: each term's expressions name a label key
// once, with at least one valid value each, and no two terms are equal.
func validateAllowedTopologies(terms []corev1.TopologySelectorTerm, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	var seen []map[string]sets.Set[string]
	for i, term := range terms {
		idxPath := fldPath.Index(i)
		exprs := map[string]sets.Set[string]{}
		for j, req := range term.MatchLabelExpressions {
			p := idxPath.Child("matchLabelExpressions").Index(j)
			errs = append(errs, metav1validation.ValidateLabelName(req.Key, p.Child("key"))...)
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(p.Child("values"), ""))
			}
			values := sets.New[string]()
			for k, v := range req.Values {
				errs = append(errs, invalidEach(p.Child("values").Index(k), v, utilvalidation.IsValidLabelValue(v))...)
				if values.Has(v) {
					errs = append(errs, field.Duplicate(p.Child("values").Index(k), v))
				}
				values.Insert(v)
			}
			if _, dup := exprs[req.Key]; dup {
				errs = append(errs, field.Duplicate(p.Child("key"), req.Key))
			}
			exprs[req.Key] = values
		}
		for _, s := range seen {
			if reflect.DeepEqual(s, exprs) {
				errs = append(errs, field.Duplicate(idxPath.Child("matchLabelExpressions"), ""))
			}
		}
		seen = append(seen, exprs)
	}
	return errs
}

// validateStorageClassUpdate: parameters, provisioner, reclaim policy and
// binding mode cannot change.
func validateStorageClassUpdate(sc, old *storagev1.StorageClass) field.ErrorList {
	errs := validateMetaUpdate(&sc.ObjectMeta, &old.ObjectMeta)
	if !reflect.DeepEqual(sc.Parameters, old.Parameters) {
		errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	if sc.Provisioner != old.Provisioner {
		errs = append(errs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
	}
	if deref(sc.ReclaimPolicy, "") != deref(old.ReclaimPolicy, "") {
		errs = append(errs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
	}
	return append(errs, validateImmutable(sc.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
}
