package endpointutil

import (
	"log/slog"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
)

// ServicesOf returns the keys ("namespace/name") of the services among
// svcs that select pod.
func ServicesOf(svcs []*corev1.Service, pod *corev1.Pod) sets.Set[string] {
	keys := sets.New[string]()
	for _, svc := range svcs {
		if Selects(svc, pod) {
			keys.Insert(svc.Namespace + "/" + svc.Name)
		}
	}
	return keys
}

// PodChange tells what of a pod update matters to endpoints: endpoint
// is true when the pod's own endpoint changes (readiness, addresses,
// deletion, phase, hostname), membership when the services selecting it
// may have changed (its labels).
func PodChange(old, cur *corev1.Pod) (endpoint, membership bool) {
	membership = !reflect.DeepEqual(old.Labels, cur.Labels)
	switch {
	case old.Spec.Hostname != cur.Spec.Hostname || old.Spec.Subdomain != cur.Spec.Subdomain:
		endpoint = true
	case (old.DeletionTimestamp == nil) != (cur.DeletionTimestamp == nil):
		endpoint = true
	case PodReady(old) != PodReady(cur):
		endpoint = true
	case old.Status.Phase != cur.Status.Phase:
		endpoint = true
	case old.Spec.NodeName != cur.Spec.NodeName:
		endpoint = true
	default:
		endpoint = !reflect.DeepEqual(PodIPs(old), PodIPs(cur))
	}
	return endpoint, membership
}

// ServicesToSync returns the keys of the services a pod update concerns,
// given the services of the pod's namespace: none when nothing relevant
// changed; when only its labels did, those it joined or left; else every
// service it was or is a member of.
func ServicesToSync(svcs []*corev1.Service, old, cur *corev1.Pod) sets.Set[string] {
	if old.ResourceVersion == cur.ResourceVersion && old.ResourceVersion != "" {
		return nil // a resync: nothing changed
	}
	endpoint, membership := PodChange(old, cur)
	if !endpoint && !membership {
		return nil
	}
	now := ServicesOf(svcs, cur)
	if !membership {
		return now
	}
	before := ServicesOf(svcs, old)
	if endpoint {
		return now.Union(before)
	}
	return now.SymmetricDifference(before)
}

// PodHandler returns informer handlers that enqueue, for every pod event,
// the keys of the services it concerns. services reads the service cache.
func PodHandler(services listers.ResourceIndexer[*corev1.Service], enqueue func(key string), log *slog.Logger) cache.ResourceEventHandlerFuncs {
	inNamespace := func(ns string) []*corev1.Service {
		svcs, err := listers.NewNamespaced(services, ns).List(labels.Everything())
		if err != nil {
			log.Error("list services from the cache", "namespace", ns, "err", err)
			return nil
		}
		return svcs
	}
	each := func(keys sets.Set[string]) {
		for k := range keys {
			enqueue(k)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if pod, ok := obj.(*corev1.Pod); ok {
				each(ServicesOf(inNamespace(pod.Namespace), pod))
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, ok1 := oldObj.(*corev1.Pod)
			cur, ok2 := newObj.(*corev1.Pod)
			if ok1 && ok2 {
				each(ServicesToSync(inNamespace(cur.Namespace), old, cur))
			}
		},
		DeleteFunc: func(obj any) {
			if pod := DeletedPod(obj); pod != nil {
				each(ServicesOf(inNamespace(pod.Namespace), pod))
			}
		},
	}
}

// DeletedPod is the pod of a delete event (a pod or the tombstone of
// one), or nil.
func DeletedPod(obj any) *corev1.Pod {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, _ := obj.(*corev1.Pod)
	return pod
}
