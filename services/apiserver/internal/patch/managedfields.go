package patch

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

// RecordManagedFields records a create (old nil) or an update of obj as
// an Update by manager (see ManagerName) of the main resource (subresource
// "") or of a subresource ("status"): it sets obj's managedFields, and its
// apiVersion and kind, and changes nothing else of obj, which the caller
// owns; old is not changed.
// As in Kubernetes, a failure to compute the new entries keeps the
// managedFields of old rather than failing the write; the error is only
// for a kind the scheme does not know.
func (p *Patcher) RecordManagedFields(obj, old runtime.Object, manager, subresource string) error {
	gvk, err := kindOf(obj)
	if err != nil {
		return err
	}
	fm, err := p.fieldManager(gvk, subresource)
	if err != nil {
		return err
	}
	setKind(obj, gvk)
	var live runtime.Object
	if old == nil {
		if live, err = api.Scheme.New(gvk); err != nil {
			return apierrors.NewInternalError(err)
		}
	} else {
		// On a failure the field manager hands live's managedFields to
		// obj: they must not be old's own.
		live = old.DeepCopyObject()
	}
	// The field manager changes the object it is given only by setting
	// its managedFields, and returns it.
	out := fm.UpdateNoErrors(live, obj, manager)
	if out != obj {
		obj.(metav1.Object).SetManagedFields(out.(metav1.Object).GetManagedFields())
	}
	return nil
}

// fieldManager returns the field manager of a kind and subresource,
// building it on first use.
func (p *Patcher) fieldManager(gvk schema.GroupVersionKind, subresource string) (*managedfields.FieldManager, error) {
	key := managerKey{gvk: gvk, subresource: subresource}
	p.mu.Lock()
	defer p.mu.Unlock()
	if fm, ok := p.managers[key]; ok {
		return fm, nil
	}
	fm, err := managedfields.NewDefaultFieldManager(p.typeConverter, p.objectConvertor, api.Scheme, api.Scheme,
		gvk, gvk.GroupVersion(), subresource, resetFields(gvk, subresource))
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	p.managers[key] = fm
	return fm, nil
}

// resetFields are the fields a write does not own because the strategy of
// the resource resets them: the status of a resource that has a status
// subresource when the resource itself is written, and its spec when the
// status is. Kubernetes' strategies name a few more per resource (some
// metadata under status); those are left out.
func resetFields(gvk schema.GroupVersionKind, subresource string) map[fieldpath.APIVersion]fieldpath.Filter {
	r, ok := api.ForKind(gvk)
	if !ok || !r.HasSubresource("status") {
		return nil
	}
	var reset *fieldpath.Set
	switch subresource {
	case "":
		reset = fieldpath.NewSet(fieldpath.MakePathOrDie("status"))
	case "status":
		reset = fieldpath.NewSet(fieldpath.MakePathOrDie("spec"))
	default:
		return nil
	}
	return map[fieldpath.APIVersion]fieldpath.Filter{
		fieldpath.APIVersion(gvk.GroupVersion().String()): fieldpath.NewExcludeSetFilter(reset),
	}
}
