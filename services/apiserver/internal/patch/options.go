package patch

import (
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// SupportedPatchTypes are the Content-Types a PATCH may have, in the order
// kube-apiserver lists them for built-in resources.
var SupportedPatchTypes = []types.PatchType{
	types.JSONPatchType,
	types.MergePatchType,
	types.StrategicMergePatchType,
	types.ApplyYAMLPatchType,
}

// ParsePatchType reads the patch type from a Content-Type header, without
// its parameters ("; charset=utf-8"). A type not served, application/
// apply-patch+cbor among them, is a 415 listing those that are.
func ParsePatchType(contentType string) (types.PatchType, error) {
	return checkPatchType(contentType)
}

func checkPatchType(contentType string) (types.PatchType, error) {
	if mediaType, _, err := mime.ParseMediaType(contentType); err == nil {
		contentType = mediaType
	} else if i := strings.Index(contentType, ";"); i >= 0 {
		contentType = contentType[:i]
	}
	contentType = strings.TrimSpace(contentType)
	for _, t := range SupportedPatchTypes {
		if string(t) == contentType {
			return t, nil
		}
	}
	return "", unsupportedMediaType()
}

func unsupportedMediaType() error {
	accepted := make([]string, len(SupportedPatchTypes))
	for i, t := range SupportedPatchTypes {
		accepted[i] = string(t)
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure,
		Code:   http.StatusUnsupportedMediaType,
		Reason: metav1.StatusReasonUnsupportedMediaType,
		Message: "the body of the request was in an unknown format - accepted media types include: " +
			strings.Join(accepted, ", "),
	}}
}

// validateOptions checks the query parameters as Kubernetes does: a field
// manager for apply, force only with apply, a known fieldValidation. The
// error is a 422 on PatchOptions.
func validateOptions(opts Options, patchType types.PatchType) error {
	po := &metav1.PatchOptions{FieldManager: opts.FieldManager, FieldValidation: opts.FieldValidation}
	if opts.Force {
		po.Force = &opts.Force
	}
	errs := metav1validation.ValidatePatchOptions(po, patchType)
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "PatchOptions"}, "", errs)
}

// fieldValidation is the directive in force: Warn when none is given.
func fieldValidation(directive string) string {
	if directive == "" {
		return metav1.FieldValidationWarn
	}
	return directive
}

// ManagerName is the manager an Update is recorded under: the fieldManager
// query parameter when given, else the User-Agent up to its first "/",
// without unprintable characters and cut to the 128 bytes a manager may
// have ("kubectl/v1.30.0 (linux/amd64)" is "kubectl").
func ManagerName(fieldManager, userAgent string) string {
	if fieldManager != "" {
		return fieldManager
	}
	prefix, _, _ := strings.Cut(userAgent, "/")
	var b strings.Builder
	for _, r := range prefix {
		if !unicode.IsPrint(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > metav1validation.FieldManagerMaxLength {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
