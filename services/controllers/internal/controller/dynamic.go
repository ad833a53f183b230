package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/client"
)

// AllResources lists every resource the API server serves, by the typed
// clients of libs/client, for the controllers that work across all of
// them (the garbage collector, the namespace controller). A resource that
// gets a typed client is added here.
func AllResources(c *client.Client) []Dynamic {
	return []Dynamic{
		DynamicOf(c, client.Namespaces),
		DynamicOf(c, client.Nodes),
		DynamicOf(c, client.Pods),
		DynamicOf(c, client.Services),
		DynamicOf(c, client.Endpoints),
		DynamicOf(c, client.ConfigMaps),
		DynamicOf(c, client.Secrets),
		DynamicOf(c, client.Events),
		DynamicOf(c, client.ServiceAccounts),
		DynamicOf(c, client.Deployments),
		DynamicOf(c, client.ReplicaSets),
		DynamicOf(c, client.StatefulSets),
		DynamicOf(c, client.DaemonSets),
		DynamicOf(c, client.ControllerRevisions),
		DynamicOf(c, client.Jobs),
		DynamicOf(c, client.CronJobs),
		DynamicOf(c, client.Ingresses),
		DynamicOf(c, client.IngressClasses),
		DynamicOf(c, client.Leases),
		DynamicOf(c, client.EndpointSlices),
		DynamicOf(c, client.PriorityClasses),
		DynamicOf(c, client.PersistentVolumes),
		DynamicOf(c, client.PersistentVolumeClaims),
		DynamicOf(c, client.StorageClasses),
	}
}

// Dynamic is one resource seen without its Go type: objects are
// client.Object (metadata and runtime.Object).
type Dynamic interface {
	GVR() schema.GroupVersionResource
	GVK() schema.GroupVersionKind
	Namespaced() bool
	// Informer is the resource's shared informer in f.
	Informer(f *client.InformerFactory) cache.SharedIndexInformer
	Get(ctx context.Context, namespace, name string) (client.Object, error)
	List(ctx context.Context, namespace string, opts metav1.ListOptions) ([]client.Object, error)
	// Update replaces obj, which must be of the resource's type; its
	// resourceVersion makes it a compare-and-swap.
	Update(ctx context.Context, obj client.Object) (client.Object, error)
	Patch(ctx context.Context, namespace, name string, pt types.PatchType, data []byte) (client.Object, error)
	Delete(ctx context.Context, namespace, name string, opts metav1.DeleteOptions) error
}

// DynamicOf is the Dynamic view of the typed client newResource builds.
func DynamicOf[T client.Object, L runtime.Object](c *client.Client, newResource func(*client.Client) *client.Resource[T, L]) Dynamic {
	return &dynamic[T, L]{r: newResource(c), newResource: newResource}
}

type dynamic[T client.Object, L runtime.Object] struct {
	r           *client.Resource[T, L]
	newResource func(*client.Client) *client.Resource[T, L]
}

func (d *dynamic[T, L]) GVR() schema.GroupVersionResource { return d.r.GVR() }
func (d *dynamic[T, L]) GVK() schema.GroupVersionKind     { return d.r.GVK() }
func (d *dynamic[T, L]) Namespaced() bool                 { return d.r.Namespaced() }

func (d *dynamic[T, L]) Informer(f *client.InformerFactory) cache.SharedIndexInformer {
	return client.InformerFor(f, d.newResource)
}

func (d *dynamic[T, L]) Get(ctx context.Context, namespace, name string) (client.Object, error) {
	return asObject(d.r.Get(ctx, namespace, name, metav1.GetOptions{}))
}

func (d *dynamic[T, L]) List(ctx context.Context, namespace string, opts metav1.ListOptions) ([]client.Object, error) {
	list, err := d.r.List(ctx, namespace, opts)
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, fmt.Errorf("list of %s: %w", d.r.GVR().Resource, err)
	}
	out := make([]client.Object, 0, len(items))
	for _, item := range items {
		obj, ok := item.(client.Object)
		if !ok {
			return nil, fmt.Errorf("list of %s holds a %T", d.r.GVR().Resource, item)
		}
		out = append(out, obj)
	}
	return out, nil
}

func (d *dynamic[T, L]) Update(ctx context.Context, obj client.Object) (client.Object, error) {
	typed, ok := obj.(T)
	if !ok {
		return nil, fmt.Errorf("update of %s given a %T", d.r.GVR().Resource, obj)
	}
	return asObject(d.r.Update(ctx, typed, metav1.UpdateOptions{}))
}

func (d *dynamic[T, L]) Patch(ctx context.Context, namespace, name string, pt types.PatchType, data []byte) (client.Object, error) {
	return asObject(d.r.Patch(ctx, namespace, name, pt, data, metav1.PatchOptions{}))
}

func (d *dynamic[T, L]) Delete(ctx context.Context, namespace, name string, opts metav1.DeleteOptions) error {
	return d.r.Delete(ctx, namespace, name, opts)
}

// asObject keeps a failed call's nil object a nil interface.
func asObject[T client.Object](obj T, err error) (client.Object, error) {
	if err != nil {
		return nil, err
	}
	return obj, nil
}
