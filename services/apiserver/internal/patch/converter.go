package patch

import (
	"fmt"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
	"sigs.k8s.io/structured-merge-diff/v6/value"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

// converter is the field managers' TypeConverter: client-go's for the
// built-in types, except that a typed object converted with
// typed.AllowDuplicates is not walked by structured-merge-diff's
// validation.
//
// The field manager asks for AllowDuplicates for the two objects of an
// update (the stored one and the one being written) and for the stored
// one of an apply; an applied configuration is converted without it and
// stays validated. For a Go-typed object the validation walk can find
// nothing but a list-map item without its key field (duplicates are
// allowed): the comparison that follows walks the same lists and fails
// on that item too, so the field manager ends as it would have (it drops
// the managed fields, and the API's validation rejects the object).
// What the walk cost is the point: under a pod-creation load it was a
// third of the managed-fields work and 6% of the API server's CPU.
type converter struct {
	managedfields.TypeConverter
	// types has the schema and type reference of each kind seen, as the
	// wrapped converter resolves them.
	types sync.Map // schema.GroupVersionKind -> *typed.TypedValue (empty)
}

var _ managedfields.TypeConverter = (*converter)(nil)

// ObjectToTyped converts obj; see converter.
func (c *converter) ObjectToTyped(obj runtime.Object, opts ...typed.ValidationOptions) (*typed.TypedValue, error) {
	if _, isU := obj.(*unstructured.Unstructured); isU || !slices.Contains(opts, typed.AllowDuplicates) {
		return c.TypeConverter.ObjectToTyped(obj, opts...)
	}
	t, err := c.typeOf(obj.GetObjectKind().GroupVersionKind())
	if err != nil {
		return nil, err
	}
	v, err := value.NewValueReflect(obj)
	if err != nil {
		return nil, fmt.Errorf("error creating struct value reflector: %w", err)
	}
	return typed.AsTypedUnvalidated(v, t.Schema(), t.TypeRef()), nil
}

// typeOf returns an empty typed value of kind gvk, which carries the
// kind's schema and type reference.
func (c *converter) typeOf(gvk schema.GroupVersionKind) (*typed.TypedValue, error) {
	if t, ok := c.types.Load(gvk); ok {
		return t.(*typed.TypedValue), nil
	}
	empty, err := api.Scheme.New(gvk)
	if err != nil {
		return nil, err
	}
	empty.GetObjectKind().SetGroupVersionKind(gvk)
	t, err := c.TypeConverter.ObjectToTyped(empty)
	if err != nil {
		return nil, err
	}
	c.types.Store(gvk, t)
	return t, nil
}

// convertor is the field managers' ObjectConvertor: the scheme's, except
// that a typed object already of the version asked for is returned as it
// is rather than copied. The field managers only read the objects they
// convert for an update (the scheme copies because a conversion's result
// may be changed); for an apply they default the object they build,
// which is unstructured and still goes through the scheme.
type convertor struct {
	runtime.ObjectConvertor
}

// ConvertToVersion returns in when it is typed and of the kind target
// asks for, and the scheme's conversion otherwise.
func (c convertor) ConvertToVersion(in runtime.Object, target runtime.GroupVersioner) (runtime.Object, error) {
	if _, isU := in.(runtime.Unstructured); !isU {
		if gvk := in.GetObjectKind().GroupVersionKind(); !gvk.Empty() {
			if want, ok := target.KindForGroupVersionKinds([]schema.GroupVersionKind{gvk}); ok && want == gvk {
				return in, nil
			}
		}
	}
	return c.ObjectConvertor.ConvertToVersion(in, target)
}
