package controller

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/client"
)

// ResolveControllerRef returns the object of kind gvk in namespace that
// the controller reference ref names, if the cache has it with the
// referenced UID (a namesake that replaced it is not the owner).
func ResolveControllerRef[T client.Object](lister listers.ResourceIndexer[T], gvk schema.GroupVersionKind,
	namespace string, ref *metav1.OwnerReference) (T, bool) {
	var zero T
	if ref == nil || ref.Kind != gvk.Kind || ref.APIVersion != gvk.GroupVersion().String() {
		return zero, false
	}
	obj, err := listers.NewNamespaced(lister, namespace).Get(ref.Name)
	if err != nil || obj.GetUID() != ref.UID {
		return zero, false
	}
	return obj, true
}

// Selecting returns the objects of namespace in the cache whose selector
// (what selector returns for them) matches lbls: the controllers that
// may adopt an orphan with those labels. An invalid or empty selector
// selects nothing.
func Selecting[T client.Object](lister listers.ResourceIndexer[T], namespace string, lbls map[string]string,
	selector func(T) *metav1.LabelSelector) []T {
	if len(lbls) == 0 {
		return nil
	}
	all, err := listers.NewNamespaced(lister, namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []T
	for _, obj := range all {
		sel, err := metav1.LabelSelectorAsSelector(selector(obj))
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(lbls)) {
			continue
		}
		out = append(out, obj)
	}
	return out
}

// Deleted returns the object of a delete event as T: the object itself,
// or the last state a cache.DeletedFinalStateUnknown tombstone carries.
func Deleted[T any](obj any) (T, bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	v, ok := obj.(T)
	return v, ok
}
