package patch

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

// UpdateManagedFields records a create (oldObj nil) or an update of the
// main resource as an Update by manager (see ManagerName) in the
// managedFields of a copy of newObj, which it returns. Neither object is
// changed. As in Kubernetes, a failure to compute the new entries keeps
// the managedFields of oldObj rather than failing the write; the error is
// only for a kind the scheme does not know.
func (p *Patcher) UpdateManagedFields(newObj, oldObj runtime.Object, manager string) (runtime.Object, error) {
	return p.UpdateSubresourceManagedFields(newObj, oldObj, manager, "")
}

// UpdateSubresourceManagedFields is UpdateManagedFields for a write to a
// subresource ("status"): the entry names the subresource.
func (p *Patcher) UpdateSubresourceManagedFields(newObj, oldObj runtime.Object, manager, subresource string) (runtime.Object, error) {
	gvk, err := kindOf(newObj)
	if err != nil {
		return nil, err
	}
	fm, err := p.fieldManager(gvk, subresource)
	if err != nil {
		return nil, err
	}
	var live runtime.Object
	if oldObj == nil {
		if live, err = api.Scheme.New(gvk); err != nil {
			return nil, apierrors.NewInternalError(err)
		}
	} else {
		live = oldObj.DeepCopyObject()
	}
	out := fm.UpdateNoErrors(live, newObj.DeepCopyObject(), manager)
	setKind(out, gvk)
	return out, nil
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
	fm, err := managedfields.NewDefaultFieldManager(p.typeConverter, api.Scheme, api.Scheme, api.Scheme,
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
