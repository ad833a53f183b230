package validation

import (
	"path"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"

// volumeKind is one member of the VolumeSource union, in the order
// Kubernetes looks at them: the first one set counts, any later one is
// reported as a second volume type.
type volumeKind struct {
	name     string // the field name in error paths
	isSet    func(*corev1.VolumeSource) bool
	validate func(*corev1.VolumeSource, *field.Path, volumeContext) field.ErrorList
}

// volumeContext carries what a source check needs beyond the source.
type volumeContext struct {
	volName       string
	podMeta       *metav1.ObjectMeta
	resourceIsPod bool
}

var volumeKinds = []volumeKind{
	{"emptyDir", func(s *corev1.VolumeSource) bool { return s.EmptyDir != nil }, validateEmptyDir},
	{"hostPath", func(s *corev1.VolumeSource) bool { return s.HostPath != nil }, validateHostPathSource},
	{"gitRepo", func(s *corev1.VolumeSource) bool { return s.GitRepo != nil }, validateGitRepoSource},
	{"gcePersistentDisk", func(s *corev1.VolumeSource) bool { return s.GCEPersistentDisk != nil }, nil},
	{"awsElasticBlockStore", func(s *corev1.VolumeSource) bool { return s.AWSElasticBlockStore != nil }, nil},
	{"secret", func(s *corev1.VolumeSource) bool { return s.Secret != nil }, validateSecretSource},
	{"nfs", func(s *corev1.VolumeSource) bool { return s.NFS != nil }, validateNFSSource},
	{"iscsi", func(s *corev1.VolumeSource) bool { return s.ISCSI != nil }, nil},
	{"glusterfs", func(s *corev1.VolumeSource) bool { return s.Glusterfs != nil }, nil},
	{"flocker", func(s *corev1.VolumeSource) bool { return s.Flocker != nil }, nil},
	{"persistentVolumeClaim", func(s *corev1.VolumeSource) bool { return s.PersistentVolumeClaim != nil }, validatePVCSource},
	{"rbd", func(s *corev1.VolumeSource) bool { return s.RBD != nil }, nil},
	{"cinder", func(s *corev1.VolumeSource) bool { return s.Cinder != nil }, nil},
	{"cephFS", func(s *corev1.VolumeSource) bool { return s.CephFS != nil }, nil},
	{"quobyte", func(s *corev1.VolumeSource) bool { return s.Quobyte != nil }, nil},
	// Kubernetes spells this one "downwarAPI" when reporting a second type.
	{"downwarAPI", func(s *corev1.VolumeSource) bool { return s.DownwardAPI != nil }, validateDownwardAPISource},
	{"fc", func(s *corev1.VolumeSource) bool { return s.FC != nil }, nil},
	{"flexVolume", func(s *corev1.VolumeSource) bool { return s.FlexVolume != nil }, nil},
	{"configMap", func(s *corev1.VolumeSource) bool { return s.ConfigMap != nil }, validateConfigMapSource},
	{"azureFile", func(s *corev1.VolumeSource) bool { return s.AzureFile != nil }, nil},
	{"vsphereVolume", func(s *corev1.VolumeSource) bool { return s.VsphereVolume != nil }, nil},
	{"photonPersistentDisk", func(s *corev1.VolumeSource) bool { return s.PhotonPersistentDisk != nil }, nil},
	{"portworxVolume", func(s *corev1.VolumeSource) bool { return s.PortworxVolume != nil }, nil},
	{"azureDisk", func(s *corev1.VolumeSource) bool { return s.AzureDisk != nil }, nil},
	{"storageos", func(s *corev1.VolumeSource) bool { return s.StorageOS != nil }, nil},
	{"projected", func(s *corev1.VolumeSource) bool { return s.Projected != nil }, validateProjectedSource},
	{"scaleIO", func(s *corev1.VolumeSource) bool { return s.ScaleIO != nil }, nil},
	{"csi", func(s *corev1.VolumeSource) bool { return s.CSI != nil }, validateCSISource},
	{"ephemeral", func(s *corev1.VolumeSource) bool { return s.Ephemeral != nil }, validateEphemeralSource},
	{"image", func(s *corev1.VolumeSource) bool { return s.Image != nil }, validateImageSource},
}

// validateVolumes checks the pod's volumes and returns the valid ones by
// name, for the volume mounts to refer to.
func validateVolumes(volumes []corev1.Volume, podMeta *metav1.ObjectMeta, fldPath *field.Path, resourceIsPod bool) (map[string]corev1.VolumeSource, field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	valid := make(map[string]corev1.VolumeSource)
	for i := range volumes {
		vol := &volumes[i]
		idxPath := fldPath.Index(i)
		namePath := idxPath.Child("name")
		ctx := volumeContext{volName: vol.Name, podMeta: podMeta, resourceIsPod: resourceIsPod}
		el := validateVolumeSource(&vol.VolumeSource, idxPath, ctx)
		if vol.Name == "" {
			el = append(el, field.Required(namePath, ""))
		} else {
			el = append(el, validateDNS1123Label(vol.Name, namePath)...)
		}
		if names.Has(vol.Name) {
			el = append(el, field.Duplicate(namePath, vol.Name))
		}
		if len(el) > 0 {
			errs = append(errs, el...)
			continue
		}
		names.Insert(vol.Name)
		valid[vol.Name] = vol.VolumeSource
	}
	return valid, errs
}

// validateVolumeSource checks that exactly one source is set and checks it.
func validateVolumeSource(src *corev1.VolumeSource, fldPath *field.Path, ctx volumeContext) field.ErrorList {
	var errs field.ErrorList
	found := false
	for _, k := range volumeKinds {
		if !k.isSet(src) {
			continue
		}
		if found {
			errs = append(errs, field.Forbidden(fldPath.Child(k.name), "may not specify more than 1 volume type"))
			continue
		}
		found = true
		if k.validate != nil {
			errs = append(errs, k.validate(src, fldPath, ctx)...)
		}
	}
	if !found {
		errs = append(errs, field.Required(fldPath, "must specify a volume type"))
	}
	return errs
}

func validateEmptyDir(src *corev1.VolumeSource, fldPath *field.Path, _ volumeContext) field.ErrorList {
	if l := src.EmptyDir.SizeLimit; l != nil && l.Cmp(resource.Quantity{}) < 0 {
		return field.ErrorList{field.Forbidden(fldPath.Child("emptyDir").Child("sizeLimit"), "SizeLimit field must be a valid resource quantity")}
	}
	return nil
}

var supportedHostPathTypes = sets.New(
	corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory,
	corev1.HostPathFileOrCreate, corev1.HostPathFile, corev1.HostPathSocket,
	corev1.HostPathCharDev, corev1.HostPathBlockDev)

func validateHostPathSource(src *corev1.VolumeSource, fldPath *field.Path, _ volumeContext) field.ErrorList {
	hp := src.HostPath
	fldPath = fldPath.Child("hostPath")
	if hp.Path == "" {
		return field.ErrorList{field.Required(fldPath.Child("path"), "")}
	}
	errs := validatePathNoBacksteps(hp.Path, fldPath.Child("path"))
	if hp.Type != nil && !supportedHostPathTypes.Has(*hp.Type) {
		errs = append(errs, field.NotSupported(fldPath.Child("type"), hp.Type, sets.List(supportedHostPathTypes)))
	}
	return errs
}

func validateGitRepoSource(src *corev1.VolumeSource, fldPath *field.Path, _ volumeContext) field.ErrorList {
	fldPath = fldPath.Child("gitRepo")
	var errs field.ErrorList
	if src.GitRepo.Repository == "" {
		errs = append(errs, field.Required(fldPath.Child("repository"), ""))
	}
	return append(errs, validateLocalDescendingPath(src.GitRepo.Directory, fldPath.Child("directory"))...)
}

func validateSecretSource(src *corev1.VolumeSource, fldPath *field.Path, _ volumeContext) field.ErrorList {
	s := src.Secret
	fldPath = fldPath.Child("secret")
	var errs field.ErrorList
	if s.SecretName == "" {
		errs = append(errs, field.Required(fldPath.Child("secretName"), ""))
	}
	errs = append(errs, validateFileMode(s.DefaultMode, fldPath.Child("defaultMode"))...)
	for i := range s.Items {
		errs = append(errs, validateKeyToPath(&s.Items[i], fldPath.Child("items").Index(i))...)
	}
	return errs
}

func validateConfigMapSource(src *corev1.VolumeSource, fldPath *field.Path, _ volumeContext) field.ErrorList {
	cm := src.ConfigMap
	fldPath = fldPath.Child("configMap")
	var errs field.ErrorList
	if cm.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	}
	errs = append(errs, validateFileMode(cm.DefaultMode, fldPath.Child("defaultMode"))...)
	for i := range cm.Items {
		errs = append(errs, validateKeyToPath(&cm.Items[i], fldPath.Child("items").Index(i))...)
	}
	return errs
}

func validateNFSSource(src *corev1.VolumeSource, fldPath *field.Path, _ volumeContext) field.ErrorList {
	fldPath = fldPath.Child("nfs")
	var errs field.ErrorList
	if src.NFS.Server == "" {
		errs = append(errs, field.Required(fldPath.Child("server"), ""))
	}
	if src.NFS.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	if !path.IsAbs(src.NFS.Path) {
		errs = append(errs, field.Invalid(fldPath.Child("path"), src.NFS.Path, "must be an absolute path"))
	}
	return errs
}

func validatePVCSource(src *corev1.VolumeSource, fldPath *field.Path, _ volumeContext) field.ErrorList {
	if src.PersistentVolumeClaim.ClaimName == "" {
		return field.ErrorList{field.Required(fldPath.Child("persistentVolumeClaim").Child("claimName"), "")}
	}
	return nil
}

var validVolumeDownwardAPIFieldPaths = sets.New(
	"metadata.name", "metadata.namespace", "metadata.labels", "metadata.annotations", "metadata.uid")

func validateDownwardAPISource(src *corev1.VolumeSource, fldPath *field.Path, _ volumeContext) field.ErrorList {
	fldPath = fldPath.Child("downwardAPI")
	errs := validateFileMode(src.DownwardAPI.DefaultMode, fldPath.Child("defaultMode"))
	for i := range src.DownwardAPI.Items {
		errs = append(errs, validateDownwardAPIVolumeFile(&src.DownwardAPI.Items[i], fldPath)...)
	}
	return errs
}

func validateDownwardAPIVolumeFile(file *corev1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if file.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(file.Path, fldPath.Child("path"))...)
	switch {
	case file.FieldRef != nil:
		errs = append(errs, validateObjectFieldSelector(file.FieldRef, validVolumeDownwardAPIFieldPaths, fldPath.Child("fieldRef"))...)
		if file.ResourceFieldRef != nil {
			errs = append(errs, field.Invalid(fldPath, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case file.ResourceFieldRef != nil:
		errs = append(errs, validateResourceFieldSelector(file.ResourceFieldRef, true, fldPath.Child("resourceFieldRef"))...)
	default:
		errs = append(errs, field.Required(fldPath, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(errs, validateFileMode(file.Mode, fldPath.Child("mode"))...)
}

func validateProjectedSource(src *corev1.VolumeSource, fldPath *field.Path, _ volumeContext) field.ErrorList {
	proj := src.Projected
	fldPath = fldPath.Child("projected")
	errs := validateFileMode(proj.DefaultMode, fldPath.Child("defaultMode"))
	paths := sets.New[string]()
	addPath := func(p string, value any) {
		if p == "" {
			return
		}
		if paths.Has(p) {
			errs = append(errs, field.Invalid(fldPath, value, "conflicting duplicate paths"))
		}
		paths.Insert(p)
	}
	for i, s := range proj.Sources {
		srcPath := fldPath.Child("sources").Index(i)
		n := 0
		if s.Secret != nil {
			n++
			if s.Secret.Name == "" {
				errs = append(errs, field.Required(srcPath.Child("secret").Child("name"), ""))
			}
			for j := range s.Secret.Items {
				errs = append(errs, validateKeyToPath(&s.Secret.Items[j], srcPath.Child("secret").Child("items").Index(j))...)
				addPath(s.Secret.Items[j].Path, s.Secret.Name)
			}
		}
		if s.ConfigMap != nil {
			n++
			if s.ConfigMap.Name == "" {
				errs = append(errs, field.Required(srcPath.Child("configMap").Child("name"), ""))
			}
			for j := range s.ConfigMap.Items {
				errs = append(errs, validateKeyToPath(&s.ConfigMap.Items[j], srcPath.Child("configMap").Child("items").Index(j))...)
				addPath(s.ConfigMap.Items[j].Path, s.ConfigMap.Name)
			}
		}
		if s.DownwardAPI != nil {
			n++
			for j := range s.DownwardAPI.Items {
				errs = append(errs, validateDownwardAPIVolumeFile(&s.DownwardAPI.Items[j], srcPath.Child("downwardAPI"))...)
				addPath(s.DownwardAPI.Items[j].Path, s.DownwardAPI.Items[j].Path)
			}
		}
		if t := s.ServiceAccountToken; t != nil {
			n++
			tokPath := srcPath.Child("serviceAccountToken")
			if t.ExpirationSeconds != nil && *t.ExpirationSeconds < 10*60 {
				errs = append(errs, field.Invalid(tokPath.Child("expirationSeconds"), *t.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
			}
			if t.ExpirationSeconds != nil && *t.ExpirationSeconds > 1<<32 {
				errs = append(errs, field.Invalid(tokPath.Child("expirationSeconds"), *t.ExpirationSeconds, "may not specify a duration larger than 2^32 seconds"))
			}
			if t.Path == "" {
				errs = append(errs, field.Required(fldPath.Child("path"), ""))
			} else {
				errs = append(errs, validateLocalNonReservedPath(t.Path, fldPath.Child("path"))...)
			}
		}
		if s.ClusterTrustBundle != nil {
			n++
		}
		if s.PodCertificate != nil {
			n++
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(srcPath, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

func validateCSISource(src *corev1.VolumeSource, fldPath *field.Path, _ volumeContext) field.ErrorList {
	csi := src.CSI
	fldPath = fldPath.Child("csi")
	errs := validateCSIDriverName(csi.Driver, fldPath.Child("driver"))
	if ref := csi.NodePublishSecretRef; ref != nil {
		if ref.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("nodePublishSecretRef", "name"), ""))
		} else {
			errs = append(errs, validateName(nameIsDNSSubdomain, ref.Name, fldPath.Child("name"))...)
		}
	}
	return errs
}

func validateCSIDriverName(name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fldPath, ""))
	}
	if len(name) > 63 {
		errs = append(errs, field.TooLong(fldPath, "", 63))
	}
	return append(errs, invalidEach(fldPath, name, utilvalidation.IsDNS1123Subdomain(strings.ToLower(name)))...)
}

func validateEphemeralSource(src *corev1.VolumeSource, fldPath *field.Path, ctx volumeContext) field.ErrorList {
	fldPath = fldPath.Child("ephemeral")
	if src.Ephemeral.VolumeClaimTemplate == nil {
		return field.ErrorList{field.Required(fldPath.Child("volumeClaimTemplate"), "")}
	}
	tmplPath := fldPath.Child("volumeClaimTemplate")
	tmpl := src.Ephemeral.VolumeClaimTemplate
	errs := validateTemplateObjectMeta(&tmpl.ObjectMeta, tmplPath.Child("metadata"))
	errs = append(errs, validateClaimSpec(&tmpl.Spec, tmplPath.Child("spec"))...)
	if ctx.podMeta != nil && ctx.podMeta.Name != "" && ctx.volName != "" {
		pvcName := ctx.podMeta.Name + "-" + ctx.volName
		for _, msg := range nameIsDNSSubdomain(pvcName, false) {
			errs = append(errs, field.Invalid(fldPath.Child("name"), ctx.volName, "PVC name \""+pvcName+"\": "+msg))
		}
	}
	return errs
}

var allowedTemplateMetaFields = map[string]bool{"Annotations": true, "Labels": true}

var supportedAccessModes = sets.New(corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod)

// validateClaimSpec checks a persistent volume claim's spec, in a claim
// or in a template: access modes (ReadWriteOncePod alone), a positive
// storage request, and the selector, class, volume mode and data source
// when given.
func validateClaimSpec(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(fldPath.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		errs = append(errs, validateLabelSelector(spec.Selector, fldPath.Child("selector"))...)
	}
	errs = append(errs, validateAccessModes(spec.AccessModes, fldPath.Child("accessModes"))...)
	storagePath := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	storage, ok := spec.Resources.Requests[corev1.ResourceStorage]
	switch {
	case !ok:
		errs = append(errs, field.Required(storagePath, ""))
	case storage.Cmp(resource.Quantity{}) <= 0:
		errs = append(errs, field.Invalid(storagePath, storage.String(), isNotPositiveErrorMsg))
	}
	if spec.StorageClassName != nil && *spec.StorageClassName != "" {
		errs = append(errs, validateName(nameIsDNSSubdomain, *spec.StorageClassName, fldPath.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil && !supportedVolumeModes.Has(*spec.VolumeMode) {
		errs = append(errs, field.NotSupported(fldPath.Child("volumeMode"), *spec.VolumeMode, sets.List(supportedVolumeModes)))
	}
	if ds := spec.DataSource; ds != nil {
		errs = append(errs, validateDataSource(ds.APIGroup, ds.Kind, ds.Name, fldPath.Child("dataSource"))...)
	}
	if ds := spec.DataSourceRef; ds != nil {
		errs = append(errs, validateDataSource(ds.APIGroup, ds.Kind, ds.Name, fldPath.Child("dataSourceRef"))...)
	}
	return errs
}

// validateAccessModes checks each mode is known, and that
// ReadWriteOncePod is not combined with another.
func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	rwop, other := false, false
	for _, m := range modes {
		switch {
		case !supportedAccessModes.Has(m):
			errs = append(errs, field.NotSupported(fldPath, m, sets.List(supportedAccessModes)))
		case m == corev1.ReadWriteOncePod:
			rwop = true
		default:
			other = true
		}
	}
	if rwop && other {
		errs = append(errs, field.Forbidden(fldPath, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

var supportedVolumeModes = sets.New(corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem)

// validateDataSource checks a claim's dataSource or dataSourceRef: a kind
// and a name, and a claim when no API group is given.
func validateDataSource(apiGroup *string, kind, name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	}
	if kind == "" {
		errs = append(errs, field.Required(fldPath.Child("kind"), ""))
	}
	group := ""
	if apiGroup != nil {
		group = *apiGroup
	}
	if group == "" && kind != "PersistentVolumeClaim" {
		errs = append(errs, field.Invalid(fldPath, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if group != "" {
		errs = append(errs, validateDNS1123Subdomain(group, fldPath.Child("apiGroup"))...)
	}
	return errs
}

// validateTemplateObjectMeta checks the metadata embedded in a template:
// only labels and annotations may be set.
func validateTemplateObjectMeta(m *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	errs := validateAnnotations(m.Annotations, fldPath.Child("annotations"))
	errs = append(errs, validateLabels(m.Labels, fldPath.Child("labels"))...)
	errs = append(errs, validateFieldAllowList(*m, allowedTemplateMetaFields, "cannot be set", fldPath)...)
	return errs
}

var supportedPullPolicies = sets.New(corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever)

func validateImageSource(src *corev1.VolumeSource, fldPath *field.Path, ctx volumeContext) field.ErrorList {
	fldPath = fldPath.Child("image")
	var errs field.ErrorList
	if ctx.resourceIsPod && src.Image.Reference == "" {
		errs = append(errs, field.Required(fldPath.Child("reference"), ""))
	}
	return append(errs, validatePullPolicy(src.Image.PullPolicy, fldPath.Child("pullPolicy"))...)
}

func validatePullPolicy(policy corev1.PullPolicy, fldPath *field.Path) field.ErrorList {
	switch {
	case policy == "":
		return field.ErrorList{field.Required(fldPath, "")}
	case !supportedPullPolicies.Has(policy):
		return field.ErrorList{field.NotSupported(fldPath, policy, sets.List(supportedPullPolicies))}
	}
	return nil
}

func validateKeyToPath(kp *corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if kp.Key == "" {
		errs = append(errs, field.Required(fldPath.Child("key"), ""))
	}
	if kp.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(kp.Path, fldPath.Child("path"))...)
	return append(errs, validateFileMode(kp.Mode, fldPath.Child("mode"))...)
}

func validateFileMode(mode *int32, fldPath *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fldPath, *mode, fileModeErrorMsg)}
	}
	return nil
}

// validateLocalDescendingPath requires a relative path without "..".
func validateLocalDescendingPath(target string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(target) {
		errs = append(errs, field.Invalid(fldPath, target, "must be a relative path"))
	}
	return append(errs, validatePathNoBacksteps(target, fldPath)...)
}

func validatePathNoBacksteps(target string, fldPath *field.Path) field.ErrorList {
	for _, item := range strings.Split(filepath.ToSlash(target), "/") {
		if item == ".." {
			return field.ErrorList{field.Invalid(fldPath, target, "must not contain '..'")}
		}
	}
	return nil
}

// validateLocalNonReservedPath also rejects paths starting with "..".
func validateLocalNonReservedPath(target string, fldPath *field.Path) field.ErrorList {
	errs := validateLocalDescendingPath(target, fldPath)
	if strings.HasPrefix(target, "..") && !strings.HasPrefix(target, "../") {
		errs = append(errs, field.Invalid(fldPath, target, "must not start with '..'"))
	}
	return errs
}
