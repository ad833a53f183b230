package validation

import (
	"fmt"
	"reflect"
	"strconv"
	"unicode"
	"unicode/utf8"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	fieldImmutableErrorMsg = apimachineryvalidation.FieldImmutableErrorMsg
	isNegativeErrorMsg     = apimachineryvalidation.IsNegativeErrorMsg
	isNotPositiveErrorMsg  = "must be greater than zero"
	selectorMismatchMsg    = "`selector` does not match template `labels`"
)

// invalidEach turns the messages of a string check into Invalid errors.
func invalidEach(fldPath *field.Path, value any, msgs []string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

func validateDNS1123Label(value string, fldPath *field.Path) field.ErrorList {
	return invalidEach(fldPath, value, utilvalidation.IsDNS1123Label(value))
}

func validateDNS1123Subdomain(value string, fldPath *field.Path) field.ErrorList {
	return invalidEach(fldPath, value, utilvalidation.IsDNS1123Subdomain(value))
}

func validateQualifiedName(value string, fldPath *field.Path) field.ErrorList {
	return invalidEach(fldPath, value, utilvalidation.IsQualifiedName(value))
}

// validateName checks value with one of the per-kind name rules.
func validateName(fn nameFunc, value string, fldPath *field.Path) field.ErrorList {
	return invalidEach(fldPath, value, fn(value, false))
}

func validateNonnegative(value int64, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(value, fldPath)
}

func validateImmutable(newVal, oldVal any, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateImmutableField(newVal, oldVal, fldPath)
}

func validateLabels(m map[string]string, fldPath *field.Path) field.ErrorList {
	return metav1validation.ValidateLabels(m, fldPath)
}

// validateLabelSelector checks a selector strictly: label values in match
// expressions must be valid too.
func validateLabelSelector(sel *metav1.LabelSelector, fldPath *field.Path) field.ErrorList {
	return metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, fldPath)
}

// validatePortNumOrName checks a port given as a number or as a name.
func validatePortNumOrName(port intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	switch port.Type {
	case intstr.Int:
		return invalidEach(fldPath, port.IntValue(), utilvalidation.IsValidPortNum(port.IntValue()))
	case intstr.String:
		return invalidEach(fldPath, port.StrVal, utilvalidation.IsValidPortName(port.StrVal))
	}
	return field.ErrorList{field.InternalError(fldPath, fmt.Errorf("unknown type: %v", port.Type))}
}

// validatePositiveIntOrPercent checks a count or a percentage such as a
// rolling update's maxSurge.
func validatePositiveIntOrPercent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	switch v.Type {
	case intstr.String:
		return invalidEach(fldPath, v, utilvalidation.IsValidPercent(v.StrVal))
	case intstr.Int:
		return validateNonnegative(int64(v.IntValue()), fldPath)
	}
	return field.ErrorList{field.Invalid(fldPath, v, "must be an integer or percentage (e.g '5%%')")}
}

// percentValue returns the number of a valid percentage string.
func percentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(utilvalidation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
	return n, true
}

func intOrPercentValue(v intstr.IntOrString) int {
	if n, ok := percentValue(v); ok {
		return n
	}
	return v.IntValue()
}

func validateNotMoreThan100Percent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	if n, ok := percentValue(v); ok && n > 100 {
		return field.ErrorList{field.Invalid(fldPath, v, "must not be greater than 100%")}
	}
	return nil
}

// validateTemplateLabelsMatch reports template labels the selector does not
// select. An empty or unparsable selector matches nothing and is reported
// elsewhere.
func validateTemplateLabelsMatch(sel labels.Selector, tmplLabels map[string]string, fldPath *field.Path) field.ErrorList {
	if sel.Empty() || sel.Matches(labels.Set(tmplLabels)) {
		return nil
	}
	return field.ErrorList{field.Invalid(fldPath, tmplLabels, selectorMismatchMsg)}
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func validateAnnotations(m map[string]string, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateAnnotations(m, fldPath)
}

// validateFieldAllowList reports, as Forbidden, each field of the struct
// value that is set but not in allowed. Field paths use the Go field name
// with its first letter lowered, as Kubernetes does.
func validateFieldAllowList(value any, allowed map[string]bool, detail string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	t, v := reflect.TypeOf(value), reflect.ValueOf(value)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if allowed[f.Name] || v.Field(i).IsZero() {
			continue
		}
		r, n := utf8.DecodeRuneInString(f.Name)
		errs = append(errs, field.Forbidden(fldPath.Child(string(unicode.ToLower(r))+f.Name[n:]), detail))
	}
	return errs
}
