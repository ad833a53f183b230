package patch

import (
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	kjson "sigs.k8s.io/json"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

// strategicMergePatch applies a strategic merge patch, with the typed Go
// struct of the kind as patch metadata (merge keys, patch strategies).
func (r *request) strategicMergePatch(live runtime.Object) (runtime.Object, error) {
	original, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		return nil, err
	}
	patchMap, strictErrs, err := r.decodePatchMap()
	if err != nil {
		return nil, err
	}
	schemaObj, err := api.Scheme.New(r.gvk)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	patched, err := strategicpatch.StrategicMergeMapPatch(original, patchMap, schemaObj)
	if err != nil {
		return nil, strategicPatchError(err)
	}
	obj, err := api.Scheme.New(r.gvk)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	decodeErr := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(patched, obj, strict(r.directive))
	shown := fmt.Sprintf("%+v", patchMap)
	if err := settleDecoding(r.directive, shown, strictErrs, decodeErr, &r.warnings); err != nil {
		return nil, err
	}
	// Decoding JSON would default the object; so does this path.
	api.Scheme.Default(obj)
	return r.recordUpdate(live, obj), nil
}

// decodePatchMap decodes the patch, keeping integers as int64 and, with a
// strict directive, collecting duplicate fields.
func (r *request) decodePatchMap() (map[string]interface{}, []error, error) {
	patchMap := map[string]interface{}{}
	if strict(r.directive) {
		strictErrs, err := kjson.UnmarshalStrict(r.body, &patchMap)
		if err != nil {
			return nil, nil, apierrors.NewBadRequest(err.Error())
		}
		return patchMap, strictErrs, nil
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(r.body, &patchMap); err != nil {
		return nil, nil, apierrors.NewBadRequest(err.Error())
	}
	return patchMap, nil, nil
}

// strategicPatchError maps the errors of strategicpatch as Kubernetes does;
// others stay internal errors there too.
func strategicPatchError(err error) error {
	switch err {
	case mergepatch.ErrBadJSONDoc, mergepatch.ErrBadPatchFormatForPrimitiveList,
		mergepatch.ErrBadPatchFormatForRetainKeys, mergepatch.ErrBadPatchFormatForSetElementOrderList,
		mergepatch.ErrUnsupportedStrategicMergePatchFormat:
		return apierrors.NewBadRequest(err.Error())
	case mergepatch.ErrNoListOfLists, mergepatch.ErrPatchContentNotMatchRetainKeys:
		return apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
	default:
		return err
	}
}
