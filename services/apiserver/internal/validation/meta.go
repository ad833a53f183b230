package validation

import (
	"strings"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var metaPath = field.NewPath("metadata")

// nameFunc checks a name; it returns one message per problem.
type nameFunc = apimachineryvalidation.ValidateNameFunc

// The name rules Kubernetes applies per kind.
var (
	nameIsDNSSubdomain  nameFunc = apimachineryvalidation.NameIsDNSSubdomain
	nameIsDNSLabel      nameFunc = apimachineryvalidation.NameIsDNSLabel
	nameIsDNS1035Label  nameFunc = apimachineryvalidation.NameIsDNS1035Label
	nameIsPathSegment   nameFunc = path.ValidatePathSegmentName
	namespaceNameFunc            = nameIsDNSLabel
	serviceNameFunc              = nameIsDNS1035Label
	statefulSetNameFunc          = nameIsDNSLabel
)

// standardFinalizers are the finalizer names that need no domain prefix.
var standardFinalizers = map[string]bool{
	"kubernetes":                     true,
	metav1.FinalizerOrphanDependents: true,
	metav1.FinalizerDeleteDependents: true,
}

// validateMeta checks the metadata of an object being created, with the
// finalizer rules of the core API on top of apimachinery's.
func validateMeta(m *metav1.ObjectMeta, namespaced bool, nameFn nameFunc) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(m, namespaced, nameFn, metaPath)
	return append(errs, validateKubeFinalizers(m.Finalizers, metaPath.Child("finalizers"))...)
}

// validateMetaUpdate checks the metadata of an update: resourceVersion set,
// name, namespace, uid, creationTimestamp and deletion fields unchanged,
// generation not decremented, and, as kube-apiserver's generic update path
// does for every kind, the rules of create with names only required to be
// path segments (the name cannot change anyway).
func validateMetaUpdate(m, old *metav1.ObjectMeta) field.ErrorList {
	errs := validateGenericMetaUpdate(m, old)
	return append(errs, validateKubeFinalizers(m.Finalizers, metaPath.Child("finalizers"))...)
}

// validateGenericMetaUpdate is the part common to all kinds. Whether the
// kind is namespaced is read from the stored object.
func validateGenericMetaUpdate(m, old *metav1.ObjectMeta) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(m, old, metaPath)
	return append(errs, apimachineryvalidation.ValidateObjectMeta(m, old.Namespace != "", nameIsPathSegment, metaPath)...)
}

// validateKubeFinalizers rejects unqualified finalizer names other than the
// standard ones.
func validateKubeFinalizers(finalizers []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, f := range finalizers {
		errs = append(errs, validateKubeFinalizerName(f, fldPath.Index(i))...)
	}
	return errs
}

func validateKubeFinalizerName(name string, fldPath *field.Path) field.ErrorList {
	if strings.Contains(name, "/") || standardFinalizers[name] {
		return nil
	}
	return field.ErrorList{field.Invalid(fldPath, name,
		"name is neither a standard finalizer name nor is it fully qualified")}
}
