package patch

import (
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

// apply merges an applied configuration (YAML or JSON) into live, or into
// an empty object when live is nil, and gives the request's manager the
// fields it names. A field another manager owns with another value is a
// 409 unless Force is set.
func (r *request) apply(live runtime.Object) (runtime.Object, error) {
	applied := &unstructured.Unstructured{Object: map[string]interface{}{}}
	if err := yaml.Unmarshal(r.body, &applied.Object); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err))
	}
	if live == nil {
		obj, err := api.Scheme.New(r.gvk)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		live = obj
	}
	out, err := r.fm.Apply(live, applied, r.opts.FieldManager, r.opts.Force)
	if err != nil {
		return nil, applyError(err)
	}
	// Unknown fields fail the apply above whatever the directive; what is
	// left to look for is duplicate keys, which the lenient YAML decoder
	// let through.
	if strict(r.directive) {
		if err := yaml.UnmarshalStrict(r.body, &map[string]interface{}{}); err != nil {
			if r.directive == metav1.FieldValidationStrict {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("error strict decoding YAML: %v", err))
			}
			r.warnings.addErrors([]error{err})
		}
	}
	return out, nil
}

// applyError keeps status errors (conflicts, a wrong kind or version,
// managedFields in the configuration) and makes a configuration that does
// not fit the schema of the kind a 400. Kubernetes answers that one with a
// 500 (kubernetes/kubernetes#122480), although the client is at fault.
func applyError(err error) error {
	if _, ok := err.(apierrors.APIStatus); ok {
		return err
	}
	if strings.HasPrefix(err.Error(), "failed to create typed patch object") {
		return apierrors.NewBadRequest(err.Error())
	}
	return err
}
