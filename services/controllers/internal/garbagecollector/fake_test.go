package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/client"
)

// fakeConfigMaps is a tiny API server of ConfigMaps for the collector's
// workers: resourceVersions, UID and resourceVersion preconditions,
// strategic merge patches of metadata, and deletion with the
// propagation policies' finalizers, as the real one does.
type fakeConfigMaps struct {
	mu      sync.Mutex
	objs    map[string]*corev1.ConfigMap
	rv      int
	deletes []string // "name:policy"
}

var cmKind = corev1.SchemeGroupVersion.WithKind("ConfigMap")

func newFakeConfigMaps(objs ...*corev1.ConfigMap) *fakeConfigMaps {
	f := &fakeConfigMaps{objs: map[string]*corev1.ConfigMap{}}
	for _, o := range objs {
		f.store(o.DeepCopy())
	}
	return f
}

func (f *fakeConfigMaps) store(o *corev1.ConfigMap) {
	f.rv++
	o.ResourceVersion = strconv.Itoa(f.rv)
	f.objs[o.Namespace+"/"+o.Name] = o
}

func (f *fakeConfigMaps) get(name string) (*corev1.ConfigMap, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs["ns/"+name]
	if !ok {
		return nil, false
	}
	return o.DeepCopy(), true
}

var cmGR = schema.GroupResource{Resource: "configmaps"}

func (f *fakeConfigMaps) GVR() schema.GroupVersionResource {
	return corev1.SchemeGroupVersion.WithResource("configmaps")
}
func (f *fakeConfigMaps) GVK() schema.GroupVersionKind { return cmKind }
func (f *fakeConfigMaps) Namespaced() bool             { return true }
func (f *fakeConfigMaps) Informer(*client.InformerFactory) cache.SharedIndexInformer {
	return nil
}

func (f *fakeConfigMaps) Get(_ context.Context, ns, name string) (client.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs[ns+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(cmGR, name)
	}
	return o.DeepCopy(), nil
}

func (f *fakeConfigMaps) List(context.Context, string, metav1.ListOptions) ([]client.Object, error) {
	return nil, fmt.Errorf("not used")
}

func (f *fakeConfigMaps) Update(_ context.Context, obj client.Object) (client.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := obj.(*corev1.ConfigMap).DeepCopy()
	cur, ok := f.objs[o.Namespace+"/"+o.Name]
	if !ok {
		return nil, apierrors.NewNotFound(cmGR, o.Name)
	}
	if o.ResourceVersion != cur.ResourceVersion {
		return nil, apierrors.NewConflict(cmGR, o.Name, fmt.Errorf("stale"))
	}
	f.finish(o)
	return o, nil
}

// finish stores o, or deletes it when its last finalizer went.
func (f *fakeConfigMaps) finish(o *corev1.ConfigMap) {
	if o.DeletionTimestamp != nil && len(o.Finalizers) == 0 {
		delete(f.objs, o.Namespace+"/"+o.Name)
		return
	}
	f.store(o)
}

func (f *fakeConfigMaps) Patch(_ context.Context, ns, name string, pt types.PatchType, data []byte) (client.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, ok := f.objs[ns+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(cmGR, name)
	}
	if pt != types.StrategicMergePatchType {
		return nil, fmt.Errorf("patch type %s", pt)
	}
	orig, err := json.Marshal(cur)
	if err != nil {
		return nil, err
	}
	out, err := strategicpatch.StrategicMergePatch(orig, data, &corev1.ConfigMap{})
	if err != nil {
		return nil, err
	}
	next := &corev1.ConfigMap{}
	if err := json.Unmarshal(out, next); err != nil {
		return nil, err
	}
	if next.UID != cur.UID {
		return nil, apierrors.NewConflict(cmGR, name, fmt.Errorf("precondition failed: UID"))
	}
	f.finish(next)
	return next.DeepCopy(), nil
}

func (f *fakeConfigMaps) Delete(_ context.Context, ns, name string, opts metav1.DeleteOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, ok := f.objs[ns+"/"+name]
	if !ok {
		return apierrors.NewNotFound(cmGR, name)
	}
	if p := opts.Preconditions; p != nil {
		if p.UID != nil && *p.UID != cur.UID || p.ResourceVersion != nil && *p.ResourceVersion != cur.ResourceVersion {
			return apierrors.NewConflict(cmGR, name, fmt.Errorf("precondition failed"))
		}
	}
	policy := metav1.DeletePropagationBackground
	if opts.PropagationPolicy != nil {
		policy = *opts.PropagationPolicy
	}
	f.deletes = append(f.deletes, name+":"+string(policy))
	next := cur.DeepCopy()
	next.Finalizers = slices.DeleteFunc(next.Finalizers, func(s string) bool {
		return s == metav1.FinalizerOrphanDependents || s == metav1.FinalizerDeleteDependents
	})
	switch policy {
	case metav1.DeletePropagationOrphan:
		next.Finalizers = append(next.Finalizers, metav1.FinalizerOrphanDependents)
	case metav1.DeletePropagationForeground:
		next.Finalizers = append(next.Finalizers, metav1.FinalizerDeleteDependents)
	}
	now := metav1.Now()
	next.DeletionTimestamp = &now
	f.finish(next)
	return nil
}
