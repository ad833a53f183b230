package defaults

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// Default applies Kubernetes' defaulting to obj in place. obj is a pointer
// to a typed object of a served kind, or to a typed list of them; any other
// type is left alone.
func Default(obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		defaultPod(o)
	case *corev1.Service:
		defaultService(o)
	case *corev1.Namespace:
		defaultNamespace(o)
	case *corev1.Node:
		defaultNode(o)
	case *corev1.Secret:
		defaultSecret(o)
	case *corev1.Endpoints:
		defaultEndpoints(o)
	case *appsv1.Deployment:
		defaultDeployment(o)
	case *appsv1.ReplicaSet:
		defaultReplicaSet(o)
	case *appsv1.StatefulSet:
		defaultStatefulSet(o)
	case *appsv1.DaemonSet:
		defaultDaemonSet(o)
	case *batchv1.Job:
		defaultJob(o)
	case *batchv1.CronJob:
		defaultCronJob(o)
	case *networkingv1.IngressClass:
		defaultIngressClass(o)
	case *discoveryv1.EndpointSlice:
		defaultEndpointSlice(o)
	case *schedulingv1.PriorityClass:
		defaultPriorityClass(o)
	case *corev1.PersistentVolume:
		defaultPersistentVolume(o)
	case *corev1.PersistentVolumeClaim:
		defaultPersistentVolumeClaim(o)
	case *storagev1.StorageClass:
		defaultStorageClass(o)
	default:
		// ConfigMap, Event, ServiceAccount, Ingress and Lease have no
		// defaults that show on the wire; lists are defaulted item by item.
		if meta.IsListType(obj) {
			defaultListItems(obj)
		}
	}
}

func defaultListItems(list runtime.Object) {
	// EachListItem hands out pointers into the list's Items slice, so
	// defaulting them changes the list. Its error only reports a value
	// that is not a list, which IsListType has ruled out.
	_ = meta.EachListItem(list, func(item runtime.Object) error {
		Default(item)
		return nil
	})
}

// setIfNil points *p at v unless it is already set.
func setIfNil[T any](p **T, v T) {
	if *p == nil {
		*p = &v
	}
}

// setIfEmpty sets *p to v when it holds its type's zero value.
func setIfEmpty[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}
