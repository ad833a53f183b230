package client

import (
	"context"
	"fmt"
	"reflect"

	"github.com/gantry-dev/gantry/libs/client/wire"
	apiv1 "github.com/gantry-dev/gantry/proto/gantry/api/v1"
	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// Object is a Kubernetes object type, a pointer such as *corev1.Pod.
type Object interface {
	runtime.Object
	metav1.Object
}

// Resource is the typed client of one resource: T is its object type, L
// its list type (*corev1.Pod, *corev1.PodList). Calls take the namespace
// explicitly ("" for cluster-scoped resources, and for lists and watches
// across all namespaces); errors are Kubernetes API errors, so
// apierrors.IsNotFound, IsConflict and the like work on them.
type Resource[T Object, L runtime.Object] struct {
	c          *Client
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
}

func newResource[T Object, L runtime.Object](c *Client, gvr schema.GroupVersionResource, kind string, namespaced bool) *Resource[T, L] {
	return &Resource[T, L]{c: c, gvr: gvr, kind: kind, namespaced: namespaced}
}

// GVR is the resource's group, version and resource.
func (r *Resource[T, L]) GVR() schema.GroupVersionResource { return r.gvr }

// GVK is the kind of the resource's objects.
func (r *Resource[T, L]) GVK() schema.GroupVersionKind { return r.gvr.GroupVersion().WithKind(r.kind) }

// Namespaced reports whether objects live in namespaces.
func (r *Resource[T, L]) Namespaced() bool { return r.namespaced }

// New returns an empty object of the resource.
func (r *Resource[T, L]) New() T { return newOf[T]() }

func (r *Resource[T, L]) listGVK() schema.GroupVersionKind {
	return r.gvr.GroupVersion().WithKind(r.kind + "List")
}

func (r *Resource[T, L]) target(namespace, name, subresource string) *apiv1.Target {
	if !r.namespaced {
		namespace = ""
	}
	return wire.Target(r.gvr, namespace, name, subresource)
}

// Get returns one object.
func (r *Resource[T, L]) Get(ctx context.Context, namespace, name string, opts metav1.GetOptions) (T, error) {
	resp, err := r.c.api.Get(ctx, &apiv1.GetRequest{
		Target: r.target(namespace, name, ""), Options: wire.GetOptionsToProto(opts),
	})
	if err != nil {
		return zero[T](), wire.FromGRPC(err)
	}
	return r.decode(resp.Object)
}

// List returns the objects opts select; the list carries the
// resourceVersion to watch from and, with opts.Limit, the continue token.
func (r *Resource[T, L]) List(ctx context.Context, namespace string, opts metav1.ListOptions) (L, error) {
	resp, err := r.c.api.List(ctx, &apiv1.ListRequest{
		Target: r.target(namespace, "", ""), Options: wire.ListOptionsToProto(opts),
	})
	if err != nil {
		return zero[L](), wire.FromGRPC(err)
	}
	list := newOf[L]()
	if err := wire.DecodeAs(resp.List, r.listGVK(), list); err != nil {
		return zero[L](), err
	}
	return list, nil
}

// Watch streams the changes opts select. A resourceVersion older than the
// server's history fails at once with 410 (apierrors.IsResourceExpired).
// The watch ends (its channel closes) when ctx ends, on Stop, or when the
// server ends it; a broken stream ends with an Error event.
func (r *Resource[T, L]) Watch(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return startWatch(ctx, r.c.api, &apiv1.WatchRequest{
		Target: r.target(namespace, "", ""), Options: wire.ListOptionsToProto(opts),
	}, r.decodeObject)
}

// Create stores a new object in its namespace and returns it as stored.
func (r *Resource[T, L]) Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error) {
	raw, err := wire.Encode(obj, r.GVK())
	if err != nil {
		return zero[T](), err
	}
	resp, err := r.c.api.Create(ctx, &apiv1.CreateRequest{
		Target: r.target(obj.GetNamespace(), "", ""), Object: raw, Options: wire.CreateOptionsToProto(opts),
	})
	if err != nil {
		return zero[T](), wire.FromGRPC(err)
	}
	return r.decode(resp.Object)
}

// Update replaces an object; a resourceVersion in obj makes it a
// compare-and-swap (409 Conflict when the object changed meanwhile).
func (r *Resource[T, L]) Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error) {
	return r.update(ctx, obj, opts, r.c.api.Update)
}

// UpdateStatus replaces the status of an object.
func (r *Resource[T, L]) UpdateStatus(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error) {
	return r.update(ctx, obj, opts, r.c.api.UpdateStatus)
}

type updateFunc func(context.Context, *apiv1.UpdateRequest, ...grpc.CallOption) (*apiv1.UpdateResponse, error)

func (r *Resource[T, L]) update(ctx context.Context, obj T, opts metav1.UpdateOptions, call updateFunc) (T, error) {
	raw, err := wire.Encode(obj, r.GVK())
	if err != nil {
		return zero[T](), err
	}
	resp, err := call(ctx, &apiv1.UpdateRequest{
		Target: r.target(obj.GetNamespace(), obj.GetName(), ""), Object: raw, Options: wire.UpdateOptionsToProto(opts),
	})
	if err != nil {
		return zero[T](), wire.FromGRPC(err)
	}
	return r.decode(resp.Object)
}

// Patch applies a patch of type pt to an object, or to its status when
// subresources is "status".
func (r *Resource[T, L]) Patch(ctx context.Context, namespace, name string, pt types.PatchType, data []byte,
	opts metav1.PatchOptions, subresources ...string) (T, error) {
	sub, err := oneSubresource(subresources)
	if err != nil {
		return zero[T](), err
	}
	resp, err := r.c.api.Patch(ctx, &apiv1.PatchRequest{
		Target: r.target(namespace, name, sub), PatchType: string(pt), Patch: data,
		Options: wire.PatchOptionsToProto(opts),
	})
	if err != nil {
		return zero[T](), wire.FromGRPC(err)
	}
	for _, w := range resp.Warnings {
		r.c.log.Warn("API server warning", "resource", r.gvr.Resource, "namespace", namespace, "name", name, "warning", w)
	}
	return r.decode(resp.Object)
}

func oneSubresource(subresources []string) (string, error) {
	switch len(subresources) {
	case 0:
		return "", nil
	case 1:
		return subresources[0], nil
	}
	return "", fmt.Errorf("client: at most one subresource, got %q", subresources)
}

// Delete deletes an object, or starts its graceful deletion.
func (r *Resource[T, L]) Delete(ctx context.Context, namespace, name string, opts metav1.DeleteOptions) error {
	_, err := r.c.api.Delete(ctx, &apiv1.DeleteRequest{
		Target: r.target(namespace, name, ""), Options: wire.DeleteOptionsToProto(opts),
	})
	return wire.FromGRPC(err)
}

// Bind assigns the pod b names to the node b targets (pods/binding); only
// pods serve it.
func (r *Resource[T, L]) Bind(ctx context.Context, b *corev1.Binding, opts metav1.CreateOptions) error {
	raw, err := wire.Encode(b, corev1.SchemeGroupVersion.WithKind("Binding"))
	if err != nil {
		return err
	}
	_, err = r.c.api.Bind(ctx, &apiv1.BindRequest{
		Target: r.target(b.Namespace, b.Name, ""), Binding: raw, Options: wire.CreateOptionsToProto(opts),
	})
	return wire.FromGRPC(err)
}

func (r *Resource[T, L]) decode(data []byte) (T, error) {
	obj := newOf[T]()
	if err := wire.DecodeAs(data, r.GVK(), obj); err != nil {
		return zero[T](), err
	}
	return obj, nil
}

func (r *Resource[T, L]) decodeObject(data []byte) (runtime.Object, error) {
	obj, err := r.decode(data)
	if err != nil {
		return nil, err
	}
	return obj, nil
}

// newOf returns a new zero value of the struct a pointer type P points to.
func newOf[P any]() P {
	return reflect.New(reflect.TypeFor[P]().Elem()).Interface().(P)
}

func zero[T any]() T {
	var z T
	return z
}
