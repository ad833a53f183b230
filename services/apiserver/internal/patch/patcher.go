package patch

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

// Options are the parameters of one PATCH request.
type Options struct {
	// GVK is the kind of the object, from the URL. It may be left empty
	// when current is given (its registered kind is used) but is required
	// for an apply that creates the object.
	GVK schema.GroupVersionKind
	// Name and Namespace are those of the URL. When Name is set, the name
	// of the patched object must equal it (400 otherwise) and its namespace
	// is made to agree with Namespace: set when empty, cleared when
	// Namespace is empty, 400 when different. Name also names the object
	// in a 404.
	Name      string
	Namespace string
	// Subresource is the subresource patched ("status"), or empty. It
	// selects the field manager, so that its entries carry the subresource.
	Subresource string
	// FieldManager is the fieldManager query parameter. Required for
	// apply; for other patch types the manager defaults to the first
	// segment of UserAgent.
	FieldManager string
	UserAgent    string
	// Force is the force query parameter; only apply may set it.
	Force bool
	// FieldValidation is "Strict", "Warn" or "Ignore"; empty means Warn,
	// as in Kubernetes.
	FieldValidation string
}

// Patcher applies patches and records field ownership. It is safe for
// concurrent use.
type Patcher struct {
	typeConverter managedfields.TypeConverter
	// objectConvertor is the field managers' (see convertor).
	objectConvertor runtime.ObjectConvertor

	mu       sync.Mutex
	managers map[managerKey]*managedfields.FieldManager
}

type managerKey struct {
	gvk         schema.GroupVersionKind
	subresource string
}

// New returns a Patcher for the kinds of api.Scheme. Its TypeConverter is
// the one client-go builds from the structured-merge-diff schema it ships
// for every built-in type (applyconfigurations.NewTypeConverter), with the
// validation of the objects of an update left out (see converter).
func New() (*Patcher, error) {
	limitJSONPatchCopies()
	tc := applyconfigurations.NewTypeConverter(api.Scheme)
	if tc == nil {
		return nil, fmt.Errorf("patch: no type converter for the built-in types")
	}
	return &Patcher{typeConverter: &converter{TypeConverter: tc}, objectConvertor: convertor{api.Scheme}, managers: map[managerKey]*managedfields.FieldManager{}}, nil
}

// Patch applies body, of type patchType, to current and returns the new
// object with its managedFields updated, and the warnings to send back.
// current is never changed. It may be nil only for an apply, which then
// creates the object (the caller answers 201). Errors are Kubernetes
// status errors, except for failures Kubernetes too reports as 500.
func (p *Patcher) Patch(current runtime.Object, patchType types.PatchType, body []byte, opts Options) (runtime.Object, []string, error) {
	patchType, err := checkPatchType(string(patchType))
	if err != nil {
		return nil, nil, err
	}
	if err := validateOptions(opts, patchType); err != nil {
		return nil, nil, err
	}
	gvk, err := resolveKind(current, opts.GVK)
	if err != nil {
		return nil, nil, err
	}
	if current == nil && patchType != types.ApplyYAMLPatchType {
		return nil, nil, notFound(gvk, opts.Name)
	}
	fm, err := p.fieldManager(gvk, opts.Subresource)
	if err != nil {
		return nil, nil, err
	}
	r := &request{
		gvk:       gvk,
		body:      body,
		opts:      opts,
		directive: fieldValidation(opts.FieldValidation),
		fm:        fm,
	}
	out, err := r.run(current, patchType)
	if err != nil {
		return nil, nil, err
	}
	if err := finish(out, current == nil, gvk, opts); err != nil {
		return nil, nil, err
	}
	setKind(out, gvk)
	return out, r.warnings.list(), nil
}

// request carries one patch through its mechanism.
type request struct {
	gvk       schema.GroupVersionKind
	body      []byte
	opts      Options
	directive string
	fm        *managedfields.FieldManager
	warnings  warnings
}

func (r *request) run(current runtime.Object, patchType types.PatchType) (runtime.Object, error) {
	var live runtime.Object
	if current != nil {
		// Work on a copy: current may be shared with a cache, and encoding
		// or the field manager may set its kind.
		live = current.DeepCopyObject()
		setKind(live, r.gvk)
	}
	switch patchType {
	case types.JSONPatchType:
		return r.jsonPatch(live)
	case types.MergePatchType:
		return r.mergePatch(live)
	case types.StrategicMergePatchType:
		return r.strategicMergePatch(live)
	default:
		return r.apply(live)
	}
}

// recordUpdate records the patch as an Update by the request's manager.
func (r *request) recordUpdate(live, patched runtime.Object) runtime.Object {
	return r.fm.UpdateNoErrors(live, patched, ManagerName(r.opts.FieldManager, r.opts.UserAgent))
}

// finish checks what Kubernetes checks of every patched object: the uid of
// an object created by apply, and the name and namespace against the URL.
func finish(obj runtime.Object, created bool, gvk schema.GroupVersionKind, opts Options) error {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if created {
		if uid := accessor.GetUID(); uid != "" {
			return apierrors.NewConflict(groupResource(gvk), opts.Name,
				fmt.Errorf("uid mismatch: the provided object specified uid %s, and no existing object was found", uid))
		}
		wipeSystemFields(accessor)
	}
	if opts.Name == "" {
		return nil
	}
	if err := matchNamespace(accessor, opts.Namespace); err != nil {
		return err
	}
	if accessor.GetName() != opts.Name {
		return apierrors.NewBadRequest(fmt.Sprintf(
			"the name of the object (%s) does not match the name on the URL (%s)", accessor.GetName(), opts.Name))
	}
	return nil
}

// wipeSystemFields clears what a client may not set on create.
func wipeSystemFields(m metav1.Object) {
	m.SetCreationTimestamp(metav1.Time{})
	m.SetUID("")
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetSelfLink("")
}

func matchNamespace(m metav1.Object, namespace string) error {
	switch got := m.GetNamespace(); {
	case got == namespace:
	case got == "" || namespace == "":
		m.SetNamespace(namespace)
	default:
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

// resolveKind is the kind the request works with: the one given, which
// must fit current, or the registered kind of current.
func resolveKind(current runtime.Object, gvk schema.GroupVersionKind) (schema.GroupVersionKind, error) {
	switch {
	case gvk.Empty() && current == nil:
		return gvk, apierrors.NewInternalError(fmt.Errorf("patch: the kind of the object to create is required"))
	case gvk.Empty():
		return kindOf(current)
	case !api.Scheme.Recognizes(gvk):
		return gvk, apierrors.NewInternalError(fmt.Errorf("patch: kind %s is not registered", gvk))
	case current != nil && !isKind(current, gvk):
		return gvk, apierrors.NewInternalError(fmt.Errorf("patch: a %T is not a %s", current, gvk))
	}
	return gvk, nil
}

func isKind(obj runtime.Object, gvk schema.GroupVersionKind) bool {
	kinds, _, err := api.Scheme.ObjectKinds(obj)
	return err == nil && slices.Contains(kinds, gvk)
}

// kindOf is the kind of a typed object: the one it carries when its type
// is registered under it, else the first its type is registered under.
func kindOf(obj runtime.Object) (schema.GroupVersionKind, error) {
	if gvk := obj.GetObjectKind().GroupVersionKind(); !gvk.Empty() && isKind(obj, gvk) {
		return gvk, nil
	}
	kinds, _, err := api.Scheme.ObjectKinds(obj)
	if err != nil {
		return schema.GroupVersionKind{}, apierrors.NewInternalError(err)
	}
	return kinds[0], nil
}

func setKind(obj runtime.Object, gvk schema.GroupVersionKind) {
	obj.GetObjectKind().SetGroupVersionKind(gvk)
}

// notFound is the 404 of a patch to a missing object.
func notFound(gvk schema.GroupVersionKind, name string) error {
	return apierrors.NewNotFound(groupResource(gvk), name)
}

// groupResource names the resource of a kind in errors.
func groupResource(gvk schema.GroupVersionKind) schema.GroupResource {
	if r, ok := api.ForKind(gvk); ok {
		return r.GVR().GroupResource()
	}
	return schema.GroupResource{Group: gvk.Group, Resource: strings.ToLower(gvk.Kind)}
}
