package validation

import (
	"bytes"
	"encoding/json"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	dataPath     = field.NewPath("data")
	revisionPath = field.NewPath("revision")
)

// validateControllerRevision checks what Kubernetes checks of a
// ControllerRevision: its metadata, that it has data and that its
// revision is not negative.
func validateControllerRevision(cr *appsv1.ControllerRevision) field.ErrorList {
	errs := validateMeta(&cr.ObjectMeta, true, nameIsDNSSubdomain)
	return append(errs, validateControllerRevisionBody(cr)...)
}

func validateControllerRevisionBody(cr *appsv1.ControllerRevision) field.ErrorList {
	var errs field.ErrorList
	if rawEmpty(&cr.Data) {
		errs = append(errs, field.Required(dataPath, "data is mandatory"))
	}
	return append(errs, validateNonnegative(cr.Revision, revisionPath)...)
}

// validateControllerRevisionUpdate: the data of a revision never changes.
// Its revision number does: a controller rolling back to an old revision
// renumbers it as the newest (Kubernetes allows that too, whatever its
// comment says).
func validateControllerRevisionUpdate(cr, old *appsv1.ControllerRevision) field.ErrorList {
	errs := validateMetaUpdate(&cr.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateControllerRevisionBody(cr)...)
	if !sameRaw(&cr.Data, &old.Data) {
		errs = append(errs, field.Invalid(dataPath, cr.Data, apimachineryvalidation.FieldImmutableErrorMsg))
	}
	return errs
}

// rawEmpty reports data that converts to no object: nothing, or JSON null.
func rawEmpty(r *runtime.RawExtension) bool {
	return r.Object == nil && (len(r.Raw) == 0 || bytes.Equal(bytes.TrimSpace(r.Raw), []byte("null")))
}

// sameRaw reports whether two embedded documents are equal: the same
// bytes, or the same JSON written differently (a client that read the
// revision and wrote it back may have re-encoded it).
func sameRaw(a, b *runtime.RawExtension) bool {
	if bytes.Equal(a.Raw, b.Raw) && reflect.DeepEqual(a.Object, b.Object) {
		return true
	}
	if a.Object != nil || b.Object != nil {
		return false
	}
	var va, vb any
	if json.Unmarshal(a.Raw, &va) != nil || json.Unmarshal(b.Raw, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
