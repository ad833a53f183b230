package registry

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gantry-dev/gantry/services/apiserver/internal/patch"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// Patch applies a JSON, merge, strategic merge or apply patch to an object
// or its status. Apply to a missing object creates it (created is true).
// userAgent names the manager of non-apply patches without fieldManager.
func (r *Resource) Patch(ctx context.Context, ns, name, sub string, pt types.PatchType, body []byte,
	opts metav1.PatchOptions, userAgent string) (obj runtime.Object, created bool, warnings []string, err error) {
	po := patch.Options{
		GVK: r.res.GVK(), Name: name, Namespace: ns, Subresource: sub,
		FieldManager: opts.FieldManager, UserAgent: userAgent,
		Force: opts.Force != nil && *opts.Force, FieldValidation: opts.FieldValidation,
	}
	if !r.res.Namespaced {
		po.Namespace = ""
	}
	dryRun := isDryRun(opts.DryRun)
	for try := 0; ; try++ {
		obj, created, err = r.Mutate(ctx, ns, name, sub, dryRun, false, "", func(cur runtime.Object) (runtime.Object, error) {
			out, w, err := r.reg.patcher.Patch(cur, pt, body, po)
			warnings = w
			return out, err
		})
		if !apierrors.IsNotFound(err) || pt != types.ApplyYAMLPatchType || sub != "" {
			return obj, created, warnings, err
		}
		// Apply creates a missing object, through the create path so that
		// allocations and admission happen as for any create.
		out, w, err := r.reg.patcher.Patch(nil, pt, body, po)
		warnings = w
		if err != nil {
			return nil, false, warnings, err
		}
		obj, err = r.create(ctx, ns, out, metav1.CreateOptions{DryRun: opts.DryRun}, "")
		if apierrors.IsAlreadyExists(err) && try < 3 {
			continue // created meanwhile: patch it instead
		}
		return obj, err == nil, warnings, err
	}
}

// PatchScale applies a patch to a Scale (kubectl scale sends a merge
// patch of spec.replicas).
func PatchScale(cur *autoscalingv1.Scale, pt types.PatchType, body []byte) (*autoscalingv1.Scale, error) {
	orig, err := json.Marshal(cur)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch pt {
	case types.MergePatchType:
		out, err = jsonpatch.MergePatch(orig, body)
	case types.StrategicMergePatchType:
		out, err = strategicpatch.StrategicMergePatch(orig, body, &autoscalingv1.Scale{})
	case types.JSONPatchType:
		var p jsonpatch.Patch
		if p, err = jsonpatch.DecodePatch(body); err == nil {
			out, err = p.Apply(orig)
		}
	default:
		return nil, apierrors.NewGenericServerResponse(415, "PATCH", autoscalingv1.Resource("scale"), "", fmt.Sprintf("unsupported patch type %q", pt), 0, false)
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the patch could not be applied: %v", err))
	}
	next := &autoscalingv1.Scale{}
	if err := json.Unmarshal(out, next); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return next, nil
}
