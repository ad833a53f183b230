package api

import (
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Resource describes one served resource.
type Resource struct {
	Group    string // "" for core
	Version  string
	Resource string // plural, lower case: "deployments"
	Singular string
	Kind     string
	// Namespaced resources live under /namespaces/<ns>/.
	Namespaced bool
	ShortNames []string
	Categories []string
	// Subresources served under .../<name>/<subresource>.
	Subresources []string
	// StoragePrefix is the key prefix in the store, ending in "/", as
	// Kubernetes lays it out: "/registry/pods/", "/registry/minions/".
	StoragePrefix string
	// New returns an empty object; NewList an empty list.
	New     func() runtime.Object
	NewList func() runtime.Object
}

// GroupVersion of the resource.
func (r *Resource) GroupVersion() schema.GroupVersion {
	return schema.GroupVersion{Group: r.Group, Version: r.Version}
}

// GVR is the group, version and resource.
func (r *Resource) GVR() schema.GroupVersionResource {
	return r.GroupVersion().WithResource(r.Resource)
}

// GVK is the group, version and kind of one object.
func (r *Resource) GVK() schema.GroupVersionKind {
	return r.GroupVersion().WithKind(r.Kind)
}

// HasSubresource reports whether sub is served.
func (r *Resource) HasSubresource(sub string) bool {
	for _, s := range r.Subresources {
		if s == sub {
			return true
		}
	}
	return false
}

// Key is the storage key of one object. ns is ignored for cluster-scoped
// resources.
func (r *Resource) Key(ns, name string) string {
	if r.Namespaced {
		return r.StoragePrefix + ns + "/" + name
	}
	return r.StoragePrefix + name
}

// KeyPrefix is the storage prefix of a list: every object, or those of one
// namespace when ns is set.
func (r *Resource) KeyPrefix(ns string) string {
	if r.Namespaced && ns != "" {
		return r.StoragePrefix + ns + "/"
	}
	return r.StoragePrefix
}

// APIPath is the URL prefix of the group version: "/api/v1" or
// "/apis/apps/v1".
func (r *Resource) APIPath() string {
	if r.Group == "" {
		return "/api/" + r.Version
	}
	return "/apis/" + r.Group + "/" + r.Version
}

func (r *Resource) String() string { return r.GVR().String() }

var statusOnly = []string{"status"}

// Resources lists every served resource, in discovery order.
var Resources = []*Resource{
	core("namespaces", "namespace", "Namespace", false, []string{"ns"}, nil, []string{"status", "finalize"}, "namespaces",
		func() runtime.Object { return &corev1.Namespace{} }, func() runtime.Object { return &corev1.NamespaceList{} }),
	core("nodes", "node", "Node", false, []string{"no"}, nil, statusOnly, "minions",
		func() runtime.Object { return &corev1.Node{} }, func() runtime.Object { return &corev1.NodeList{} }),
	core("pods", "pod", "Pod", true, []string{"po"}, []string{"all"},
		[]string{"status", "binding", "eviction", "log", "exec", "attach", "portforward"}, "pods",
		func() runtime.Object { return &corev1.Pod{} }, func() runtime.Object { return &corev1.PodList{} }),
	core("services", "service", "Service", true, []string{"svc"}, []string{"all"}, statusOnly, "services/specs",
		func() runtime.Object { return &corev1.Service{} }, func() runtime.Object { return &corev1.ServiceList{} }),
	core("endpoints", "endpoints", "Endpoints", true, []string{"ep"}, nil, nil, "services/endpoints",
		func() runtime.Object { return &corev1.Endpoints{} }, func() runtime.Object { return &corev1.EndpointsList{} }),
	core("configmaps", "configmap", "ConfigMap", true, []string{"cm"}, nil, nil, "configmaps",
		func() runtime.Object { return &corev1.ConfigMap{} }, func() runtime.Object { return &corev1.ConfigMapList{} }),
	core("secrets", "secret", "Secret", true, nil, nil, nil, "secrets",
		func() runtime.Object { return &corev1.Secret{} }, func() runtime.Object { return &corev1.SecretList{} }),
	core("events", "event", "Event", true, []string{"ev"}, nil, nil, "events",
		func() runtime.Object { return &corev1.Event{} }, func() runtime.Object { return &corev1.EventList{} }),
	core("serviceaccounts", "serviceaccount", "ServiceAccount", true, []string{"sa"}, nil, nil, "serviceaccounts",
		func() runtime.Object { return &corev1.ServiceAccount{} }, func() runtime.Object { return &corev1.ServiceAccountList{} }),
	core("persistentvolumes", "persistentvolume", "PersistentVolume", false, []string{"pv"}, nil, statusOnly, "persistentvolumes",
		func() runtime.Object { return &corev1.PersistentVolume{} }, func() runtime.Object { return &corev1.PersistentVolumeList{} }),
	core("persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", true, []string{"pvc"}, nil, statusOnly,
		"persistentvolumeclaims",
		func() runtime.Object { return &corev1.PersistentVolumeClaim{} }, func() runtime.Object { return &corev1.PersistentVolumeClaimList{} }),

	apps("deployments", "deployment", "Deployment", []string{"deploy"},
		func() runtime.Object { return &appsv1.Deployment{} }, func() runtime.Object { return &appsv1.DeploymentList{} }),
	apps("replicasets", "replicaset", "ReplicaSet", []string{"rs"},
		func() runtime.Object { return &appsv1.ReplicaSet{} }, func() runtime.Object { return &appsv1.ReplicaSetList{} }),
	apps("statefulsets", "statefulset", "StatefulSet", []string{"sts"},
		func() runtime.Object { return &appsv1.StatefulSet{} }, func() runtime.Object { return &appsv1.StatefulSetList{} }),
	{
		Group: "apps", Version: "v1", Resource: "daemonsets", Singular: "daemonset", Kind: "DaemonSet",
		Namespaced: true, ShortNames: []string{"ds"}, Categories: []string{"all"}, Subresources: statusOnly,
		StoragePrefix: "/registry/daemonsets/",
		New:           func() runtime.Object { return &appsv1.DaemonSet{} },
		NewList:       func() runtime.Object { return &appsv1.DaemonSetList{} },
	},
	{
		Group: "apps", Version: "v1", Resource: "controllerrevisions", Singular: "controllerrevision", Kind: "ControllerRevision",
		Namespaced: true, StoragePrefix: "/registry/controllerrevisions/",
		New:     func() runtime.Object { return &appsv1.ControllerRevision{} },
		NewList: func() runtime.Object { return &appsv1.ControllerRevisionList{} },
	},

	{
		Group: "batch", Version: "v1", Resource: "jobs", Singular: "job", Kind: "Job",
		Namespaced: true, Categories: []string{"all"}, Subresources: statusOnly,
		StoragePrefix: "/registry/jobs/",
		New:           func() runtime.Object { return &batchv1.Job{} },
		NewList:       func() runtime.Object { return &batchv1.JobList{} },
	},
	{
		Group: "batch", Version: "v1", Resource: "cronjobs", Singular: "cronjob", Kind: "CronJob",
		Namespaced: true, ShortNames: []string{"cj"}, Categories: []string{"all"}, Subresources: statusOnly,
		StoragePrefix: "/registry/cronjobs/",
		New:           func() runtime.Object { return &batchv1.CronJob{} },
		NewList:       func() runtime.Object { return &batchv1.CronJobList{} },
	},

	{
		Group: "networking.k8s.io", Version: "v1", Resource: "ingresses", Singular: "ingress", Kind: "Ingress",
		Namespaced: true, ShortNames: []string{"ing"}, Subresources: statusOnly,
		StoragePrefix: "/registry/ingress/",
		New:           func() runtime.Object { return &networkingv1.Ingress{} },
		NewList:       func() runtime.Object { return &networkingv1.IngressList{} },
	},
	{
		Group: "networking.k8s.io", Version: "v1", Resource: "ingressclasses", Singular: "ingressclass", Kind: "IngressClass",
		StoragePrefix: "/registry/ingressclasses/",
		New:           func() runtime.Object { return &networkingv1.IngressClass{} },
		NewList:       func() runtime.Object { return &networkingv1.IngressClassList{} },
	},
	{
		Group: "certificates.k8s.io", Version: "v1", Resource: "certificatesigningrequests", Singular: "certificatesigningrequest",
		Kind: "CertificateSigningRequest", ShortNames: []string{"csr"}, Subresources: []string{"status", "approval"},
		StoragePrefix: "/registry/certificatesigningrequests/",
		New:           func() runtime.Object { return &certificatesv1.CertificateSigningRequest{} },
		NewList:       func() runtime.Object { return &certificatesv1.CertificateSigningRequestList{} },
	},
	{
		Group: "coordination.k8s.io", Version: "v1", Resource: "leases", Singular: "lease", Kind: "Lease",
		Namespaced: true, StoragePrefix: "/registry/leases/",
		New:     func() runtime.Object { return &coordinationv1.Lease{} },
		NewList: func() runtime.Object { return &coordinationv1.LeaseList{} },
	},
	{
		Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices", Singular: "endpointslice", Kind: "EndpointSlice",
		Namespaced: true, StoragePrefix: "/registry/endpointslices/",
		New:     func() runtime.Object { return &discoveryv1.EndpointSlice{} },
		NewList: func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
	},
	{
		Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses", Singular: "priorityclass", Kind: "PriorityClass",
		ShortNames: []string{"pc"}, StoragePrefix: "/registry/priorityclasses/",
		New:     func() runtime.Object { return &schedulingv1.PriorityClass{} },
		NewList: func() runtime.Object { return &schedulingv1.PriorityClassList{} },
	},
	{
		Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses", Singular: "storageclass", Kind: "StorageClass",
		ShortNames: []string{"sc"}, StoragePrefix: "/registry/storageclasses/",
		New:     func() runtime.Object { return &storagev1.StorageClass{} },
		NewList: func() runtime.Object { return &storagev1.StorageClassList{} },
	},
}

func core(resource, singular, kind string, namespaced bool, short, categories, subs []string, storage string,
	newObj, newList func() runtime.Object) *Resource {
	return &Resource{
		Version: "v1", Resource: resource, Singular: singular, Kind: kind, Namespaced: namespaced,
		ShortNames: short, Categories: categories, Subresources: subs,
		StoragePrefix: "/registry/" + storage + "/", New: newObj, NewList: newList,
	}
}

func apps(resource, singular, kind string, short []string, newObj, newList func() runtime.Object) *Resource {
	return &Resource{
		Group: "apps", Version: "v1", Resource: resource, Singular: singular, Kind: kind, Namespaced: true,
		ShortNames: short, Categories: []string{"all"}, Subresources: []string{"status", "scale"},
		StoragePrefix: "/registry/" + resource + "/", New: newObj, NewList: newList,
	}
}

var byGVR = func() map[schema.GroupVersionResource]*Resource {
	m := map[schema.GroupVersionResource]*Resource{}
	for _, r := range Resources {
		if _, dup := m[r.GVR()]; dup {
			panic(fmt.Sprintf("resource %s listed twice", r))
		}
		m[r.GVR()] = r
	}
	return m
}()

// Lookup finds a served resource.
func Lookup(gvr schema.GroupVersionResource) (*Resource, bool) {
	r, ok := byGVR[gvr]
	return r, ok
}

// ForKind finds the resource whose objects have kind gvk.
func ForKind(gvk schema.GroupVersionKind) (*Resource, bool) {
	for _, r := range Resources {
		if r.GVK() == gvk {
			return r, true
		}
	}
	return nil, false
}

// GroupVersions lists the served group versions, core first, then groups
// in name order.
func GroupVersions() []schema.GroupVersion {
	seen := map[schema.GroupVersion]bool{}
	var out []schema.GroupVersion
	for _, r := range Resources {
		gv := r.GroupVersion()
		if !seen[gv] {
			seen[gv] = true
			out = append(out, gv)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Group == "") != (out[j].Group == "") {
			return out[i].Group == ""
		}
		return out[i].Group < out[j].Group
	})
	return out
}

// InGroupVersion lists the resources of one group version.
func InGroupVersion(gv schema.GroupVersion) []*Resource {
	var out []*Resource
	for _, r := range Resources {
		if r.GroupVersion() == gv {
			out = append(out, r)
		}
	}
	return out
}
