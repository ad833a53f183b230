package patch

import (
	"fmt"
	"net/http"
	"sync"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "sigs.k8s.io/json"
)

const (
	// MaxJSONPatchOperations is the most operations one JSON patch may
	// hold; more is a 413, as in Kubernetes.
	MaxJSONPatchOperations = 10000
	// MaxJSONPatchCopyBytes bounds how much the "copy" operations of one
	// JSON patch may add to the document: Kubernetes' JSONPatchMaxCopyBytes.
	MaxJSONPatchCopyBytes = 3 * 1024 * 1024
)

var copyLimitOnce sync.Once

// limitJSONPatchCopies sets json-patch's limit on copied bytes, a process
// global, as kube-apiserver does at start; a limit set already is kept.
func limitJSONPatchCopies() {
	copyLimitOnce.Do(func() {
		if jsonpatch.AccumulatedCopySizeLimit == 0 {
			jsonpatch.AccumulatedCopySizeLimit = MaxJSONPatchCopyBytes
		}
	})
}

// jsonPatchOp is one RFC 6902 operation, for finding unknown fields.
type jsonPatchOp struct {
	Op    string      `json:"op"`
	Path  string      `json:"path"`
	From  string      `json:"from"`
	Value interface{} `json:"value"`
}

// jsonPatch applies an RFC 6902 patch.
func (r *request) jsonPatch(live runtime.Object) (runtime.Object, error) {
	var strictErrs []error
	if strict(r.directive) {
		var ops []jsonPatchOp
		errs, err := kjson.UnmarshalStrict(r.body, &ops)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding patch: %v", err))
		}
		for _, e := range errs {
			strictErrs = append(strictErrs, fmt.Errorf("json patch %v", e))
		}
	}
	ops, err := jsonpatch.DecodePatch(r.body)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if len(ops) > MaxJSONPatchOperations {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf(
			"The allowed maximum operations in a JSON patch is %d, got %d", MaxJSONPatchOperations, len(ops)))
	}
	return r.patchJSON(live, strictErrs, func(doc []byte) ([]byte, error) {
		out, err := ops.Apply(doc)
		if err != nil {
			// Kubernetes says no more than this about a failed operation.
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "",
				schema.GroupResource{}, "", err.Error(), 0, false)
		}
		return out, nil
	})
}

// mergePatch applies an RFC 7386 merge patch.
func (r *request) mergePatch(live runtime.Object) (runtime.Object, error) {
	var strictErrs []error
	if strict(r.directive) {
		errs, err := kjson.UnmarshalStrict(r.body, &map[string]interface{}{})
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding patch: %v", err))
		}
		strictErrs = errs
	}
	return r.patchJSON(live, strictErrs, func(doc []byte) ([]byte, error) {
		out, err := jsonpatch.MergePatch(doc, r.body)
		if err == jsonpatch.ErrBadJSONPatch {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, err
	})
}

// patchJSON runs apply on the JSON of live, decodes the result and
// records the change in managedFields.
func (r *request) patchJSON(live runtime.Object, strictErrs []error, apply func([]byte) ([]byte, error)) (runtime.Object, error) {
	doc, err := encodeJSON(live, r.gvk.GroupVersion())
	if err != nil {
		return nil, err
	}
	patched, err := apply(doc)
	if err != nil {
		return nil, err
	}
	obj, decodeErr := decodeJSON(patched, r.gvk, r.directive)
	if err := settleDecoding(r.directive, string(patched), strictErrs, decodeErr, &r.warnings); err != nil {
		return nil, err
	}
	return r.recordUpdate(live, obj), nil
}
