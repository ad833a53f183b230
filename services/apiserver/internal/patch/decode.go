package patch

import (
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

// The JSON serializers patches are encoded and decoded with. api.Codecs
// is strict throughout, so the lenient one, used when fieldValidation is
// Ignore, is built here.
var (
	lenientJSON = json.NewSerializerWithOptions(json.DefaultMetaFactory, api.Scheme, api.Scheme, json.SerializerOptions{})
	strictJSON  = json.NewSerializerWithOptions(json.DefaultMetaFactory, api.Scheme, api.Scheme, json.SerializerOptions{Strict: true})
)

// strict reports whether unknown and duplicate fields are looked for.
func strict(directive string) bool {
	return directive == metav1.FieldValidationStrict || directive == metav1.FieldValidationWarn
}

// encodeJSON encodes obj, whose kind is set, as the patch sees it.
func encodeJSON(obj runtime.Object, gv schema.GroupVersion) ([]byte, error) {
	return runtime.Encode(api.Codecs.EncoderForVersion(lenientJSON, gv), obj)
}

// decodeJSON decodes a patched document into a new object of kind gvk.
// With a strict directive the error may be a strict decoding error, and
// the object is then decoded all the same.
func decodeJSON(data []byte, gvk schema.GroupVersionKind, directive string) (runtime.Object, error) {
	into, err := api.Scheme.New(gvk)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	serializer := lenientJSON
	if strict(directive) {
		serializer = strictJSON
	}
	return into, runtime.DecodeInto(api.Codecs.DecoderToVersion(serializer, gvk.GroupVersion()), data, into)
}

// settleDecoding turns what decoding a patch and its result found into
// the outcome Kubernetes gives it. patchErrs are the strict errors of the
// patch itself, decodeErr the error decoding the patched object, shown is
// the patched document for the message. An error that is not a strict
// decoding error makes the patch invalid whatever the directive; strict
// errors become warnings under Warn and a 422 naming them all otherwise.
func settleDecoding(directive, shown string, patchErrs []error, decodeErr error, w *warnings) error {
	strictErrs := patchErrs
	if decodeErr != nil {
		se, ok := runtime.AsStrictDecodingError(decodeErr)
		if !ok {
			return invalidPatch(shown, decodeErr.Error())
		}
		strictErrs = append(strictErrs, se.Errors()...)
	}
	if len(strictErrs) == 0 {
		return nil
	}
	if directive == metav1.FieldValidationWarn {
		w.addErrors(strictErrs)
		return nil
	}
	return invalidPatch(shown, runtime.NewStrictDecodingError(strictErrs).Error())
}

// invalidPatch is the 422 of a patch whose result is not a valid object.
func invalidPatch(shown, detail string) error {
	return apierrors.NewInvalid(schema.GroupKind{}, "", field.ErrorList{
		field.Invalid(field.NewPath("patch"), shown, detail),
	})
}

// warnings collects the warnings of one request, once each.
type warnings struct {
	seen map[string]bool
	msgs []string
}

func (w *warnings) add(msg string) {
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	if msg == "" || w.seen[msg] {
		return
	}
	w.seen[msg] = true
	w.msgs = append(w.msgs, msg)
}

// addErrors adds one warning per strict decoding error; a YAML error
// listing several problems gives one warning per problem.
func (w *warnings) addErrors(errs []error) {
	for _, err := range errs {
		for _, msg := range splitYAMLErrors(err.Error()) {
			w.add(msg)
		}
	}
}

func (w *warnings) list() []string { return w.msgs }

// The beginnings of a YAML error that lists several problems, one a line.
var yamlErrorPrefixes = []string{
	"yaml: unmarshal errors:\n",
	"error converting YAML to JSON: yaml: unmarshal errors:\n",
}

func splitYAMLErrors(msg string) []string {
	for _, prefix := range yamlErrorPrefixes {
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			lines := strings.Split(rest, "\n")
			for i, l := range lines {
				lines[i] = strings.TrimSpace(l)
			}
			return lines
		}
	}
	return []string{msg}
}
