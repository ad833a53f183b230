package history

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
)

// Fake is an in-memory API server of ControllerRevisions for unit tests
// of the controllers that keep history: writes show in the Store's cache
// at once, and every write is logged in Calls ("create web-abc",
// "renumber web-abc 3", "delete web-abc", "patch web-abc").
type Fake struct {
	mu    sync.Mutex
	idx   cache.Indexer
	rv    int
	Calls []string
}

var revisionsResource = appsv1.Resource("controllerrevisions")

// NewFake returns a Store over a Fake holding revs.
func NewFake(revs ...*appsv1.ControllerRevision) (*Store, *Fake) {
	f := &Fake{idx: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})}
	for _, r := range revs {
		f.store(r.DeepCopy())
	}
	s := &Store{revs: f, lister: listers.New[*appsv1.ControllerRevision](f.idx, revisionsResource), synced: func() bool { return true }}
	return s, f
}

// Revisions returns the stored revisions.
func (f *Fake) Revisions() []*appsv1.ControllerRevision {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*appsv1.ControllerRevision
	for _, obj := range f.idx.List() {
		out = append(out, obj.(*appsv1.ControllerRevision).DeepCopy())
	}
	Sort(out)
	return out
}

func (f *Fake) store(r *appsv1.ControllerRevision) *appsv1.ControllerRevision {
	f.rv++
	r.ResourceVersion = strconv.Itoa(f.rv)
	if r.UID == "" {
		r.UID = types.UID("uid-" + r.Name)
	}
	_ = f.idx.Update(r)
	return r.DeepCopy()
}

func (f *Fake) get(namespace, name string) (*appsv1.ControllerRevision, bool) {
	obj, ok, _ := f.idx.GetByKey(namespace + "/" + name)
	if !ok {
		return nil, false
	}
	return obj.(*appsv1.ControllerRevision), true
}

// Get implements API.
func (f *Fake) Get(_ context.Context, namespace, name string, _ metav1.GetOptions) (*appsv1.ControllerRevision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.get(namespace, name)
	if !ok {
		return nil, apierrors.NewNotFound(revisionsResource, name)
	}
	return r.DeepCopy(), nil
}

// Create implements API.
func (f *Fake) Create(_ context.Context, obj *appsv1.ControllerRevision, _ metav1.CreateOptions) (*appsv1.ControllerRevision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, "create "+obj.Name)
	if _, ok := f.get(obj.Namespace, obj.Name); ok {
		return nil, apierrors.NewAlreadyExists(revisionsResource, obj.Name)
	}
	return f.store(obj.DeepCopy()), nil
}

// Update implements API: a stale resourceVersion is a conflict.
func (f *Fake) Update(_ context.Context, obj *appsv1.ControllerRevision, _ metav1.UpdateOptions) (*appsv1.ControllerRevision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, fmt.Sprintf("renumber %s %d", obj.Name, obj.Revision))
	cur, ok := f.get(obj.Namespace, obj.Name)
	if !ok {
		return nil, apierrors.NewNotFound(revisionsResource, obj.Name)
	}
	if obj.ResourceVersion != cur.ResourceVersion {
		return nil, apierrors.NewConflict(revisionsResource, obj.Name, fmt.Errorf("stale resourceVersion %s", obj.ResourceVersion))
	}
	return f.store(obj.DeepCopy()), nil
}

// Patch implements API for the strategic merge patches of
// ownerReferences that adoption and release send (controller.RefManager):
// references are merged by uid, and {"$patch":"delete","uid":...}
// removes one.
func (f *Fake) Patch(_ context.Context, namespace, name string, _ types.PatchType, data []byte, _ metav1.PatchOptions,
	_ ...string) (*appsv1.ControllerRevision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, "patch "+name)
	cur, ok := f.get(namespace, name)
	if !ok {
		return nil, apierrors.NewNotFound(revisionsResource, name)
	}
	var patch struct {
		Metadata struct {
			UID             types.UID `json:"uid"`
			OwnerReferences []struct {
				metav1.OwnerReference
				Patch string `json:"$patch"`
			} `json:"ownerReferences"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &patch); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if patch.Metadata.UID != "" && patch.Metadata.UID != cur.UID {
		return nil, apierrors.NewInvalid(schema.GroupKind{Group: appsv1.GroupName, Kind: "ControllerRevision"}, name, nil)
	}
	next := cur.DeepCopy()
	for _, ref := range patch.Metadata.OwnerReferences {
		refs := slices.DeleteFunc(next.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == ref.UID })
		if ref.Patch != "delete" {
			refs = append(refs, ref.OwnerReference)
		}
		next.OwnerReferences = refs
	}
	return f.store(next), nil
}

// Delete implements API, with a UID precondition.
func (f *Fake) Delete(_ context.Context, namespace, name string, opts metav1.DeleteOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, "delete "+name)
	cur, ok := f.get(namespace, name)
	if !ok {
		return apierrors.NewNotFound(revisionsResource, name)
	}
	if p := opts.Preconditions; p != nil && p.UID != nil && *p.UID != cur.UID {
		return apierrors.NewConflict(revisionsResource, name, fmt.Errorf("uid precondition"))
	}
	return f.idx.Delete(cur)
}
