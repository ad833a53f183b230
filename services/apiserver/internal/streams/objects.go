package streams

import (
	"context"
	"fmt"

	"github.com/gantry-dev/gantry/services/apiserver/internal/registry"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Objects reads the pods and nodes the handler needs. Errors are API
// errors (NotFound for a missing object). Returned objects may be shared
// with a cache: callers do not modify them.
type Objects interface {
	Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	Node(ctx context.Context, name string) (*corev1.Node, error)
}

// RegistryObjects reads pods and nodes through the registry.
func RegistryObjects(reg *registry.Registry) Objects { return registryObjects{reg: reg} }

type registryObjects struct{ reg *registry.Registry }

func (o registryObjects) Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	obj, err := o.get(ctx, corev1.SchemeGroupVersion.WithResource("pods"), namespace, name)
	if err != nil {
		return nil, err
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("pod %s/%s is a %T", namespace, name, obj)
	}
	return pod, nil
}

func (o registryObjects) Node(ctx context.Context, name string) (*corev1.Node, error) {
	obj, err := o.get(ctx, corev1.SchemeGroupVersion.WithResource("nodes"), "", name)
	if err != nil {
		return nil, err
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return nil, fmt.Errorf("node %s is a %T", name, obj)
	}
	return node, nil
}

func (o registryObjects) get(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string) (runtime.Object, error) {
	rr, ok := o.reg.Resource(gvr)
	if !ok {
		return nil, fmt.Errorf("the registry does not serve %s", gvr.Resource)
	}
	return rr.Get(ctx, namespace, name, metav1.GetOptions{})
}
