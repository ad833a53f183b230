package validation

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateScale checks the body of a .../scale request.
func validateScale(s *autoscalingv1.Scale) field.ErrorList {
	errs := validateMeta(&s.ObjectMeta, true, nameIsDNSSubdomain)
	if s.Spec.Replicas < 0 {
		errs = append(errs, field.Invalid(specPath.Child("replicas"), s.Spec.Replicas, "must be greater than or equal to 0"))
	}
	return errs
}

func validateScaleUpdate(s, _ *autoscalingv1.Scale) field.ErrorList {
	return validateScale(s)
}

// validateEviction checks the delete options of an eviction; the pod it
// names is the caller's to match against the request.
func validateEviction(e *policyv1.Eviction) field.ErrorList {
	if e.DeleteOptions == nil {
		return nil
	}
	return metav1validation.ValidateDeleteOptions(e.DeleteOptions)
}
