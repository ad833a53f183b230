package client

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// The typed clients of every resource the API server serves.

// Namespaces is the client of namespaces.
func Namespaces(c *Client) *Resource[*corev1.Namespace, *corev1.NamespaceList] {
	return newResource[*corev1.Namespace, *corev1.NamespaceList](c, corev1.SchemeGroupVersion.WithResource("namespaces"), "Namespace", clusterScoped)
}

// Nodes is the client of nodes.
func Nodes(c *Client) *Resource[*corev1.Node, *corev1.NodeList] {
	return newResource[*corev1.Node, *corev1.NodeList](c, corev1.SchemeGroupVersion.WithResource("nodes"), "Node", clusterScoped)
}

// Pods is the client of pods.
func Pods(c *Client) *Resource[*corev1.Pod, *corev1.PodList] {
	return newResource[*corev1.Pod, *corev1.PodList](c, corev1.SchemeGroupVersion.WithResource("pods"), "Pod", namespaced)
}

// Services is the client of services.
func Services(c *Client) *Resource[*corev1.Service, *corev1.ServiceList] {
	return newResource[*corev1.Service, *corev1.ServiceList](c, corev1.SchemeGroupVersion.WithResource("services"), "Service", namespaced)
}

// Endpoints is the client of endpoints.
func Endpoints(c *Client) *Resource[*corev1.Endpoints, *corev1.EndpointsList] {
	return newResource[*corev1.Endpoints, *corev1.EndpointsList](c, corev1.SchemeGroupVersion.WithResource("endpoints"), "Endpoints", namespaced)
}

// ConfigMaps is the client of configmaps.
func ConfigMaps(c *Client) *Resource[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return newResource[*corev1.ConfigMap, *corev1.ConfigMapList](c, corev1.SchemeGroupVersion.WithResource("configmaps"), "ConfigMap", namespaced)
}

// Secrets is the client of secrets.
func Secrets(c *Client) *Resource[*corev1.Secret, *corev1.SecretList] {
	return newResource[*corev1.Secret, *corev1.SecretList](c, corev1.SchemeGroupVersion.WithResource("secrets"), "Secret", namespaced)
}

// Events is the client of events.
func Events(c *Client) *Resource[*corev1.Event, *corev1.EventList] {
	return newResource[*corev1.Event, *corev1.EventList](c, corev1.SchemeGroupVersion.WithResource("events"), "Event", namespaced)
}

// ServiceAccounts is the client of serviceaccounts.
func ServiceAccounts(c *Client) *Resource[*corev1.ServiceAccount, *corev1.ServiceAccountList] {
	return newResource[*corev1.ServiceAccount, *corev1.ServiceAccountList](c, corev1.SchemeGroupVersion.WithResource("serviceaccounts"), "ServiceAccount", namespaced)
}

// Deployments is the client of deployments.
func Deployments(c *Client) *Resource[*appsv1.Deployment, *appsv1.DeploymentList] {
	return newResource[*appsv1.Deployment, *appsv1.DeploymentList](c, appsv1.SchemeGroupVersion.WithResource("deployments"), "Deployment", namespaced)
}

// ReplicaSets is the client of replicasets.
func ReplicaSets(c *Client) *Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList] {
	return newResource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList](c, appsv1.SchemeGroupVersion.WithResource("replicasets"), "ReplicaSet", namespaced)
}

// StatefulSets is the client of statefulsets.
func StatefulSets(c *Client) *Resource[*appsv1.StatefulSet, *appsv1.StatefulSetList] {
	return newResource[*appsv1.StatefulSet, *appsv1.StatefulSetList](c, appsv1.SchemeGroupVersion.WithResource("statefulsets"), "StatefulSet", namespaced)
}

// DaemonSets is the client of daemonsets.
func DaemonSets(c *Client) *Resource[*appsv1.DaemonSet, *appsv1.DaemonSetList] {
	return newResource[*appsv1.DaemonSet, *appsv1.DaemonSetList](c, appsv1.SchemeGroupVersion.WithResource("daemonsets"), "DaemonSet", namespaced)
}

// ControllerRevisions is the client of controllerrevisions.
func ControllerRevisions(c *Client) *Resource[*appsv1.ControllerRevision, *appsv1.ControllerRevisionList] {
	return newResource[*appsv1.ControllerRevision, *appsv1.ControllerRevisionList](c, appsv1.SchemeGroupVersion.WithResource("controllerrevisions"), "ControllerRevision", namespaced)
}

// Jobs is the client of jobs.
func Jobs(c *Client) *Resource[*batchv1.Job, *batchv1.JobList] {
	return newResource[*batchv1.Job, *batchv1.JobList](c, batchv1.SchemeGroupVersion.WithResource("jobs"), "Job", namespaced)
}

// CronJobs is the client of cronjobs.
func CronJobs(c *Client) *Resource[*batchv1.CronJob, *batchv1.CronJobList] {
	return newResource[*batchv1.CronJob, *batchv1.CronJobList](c, batchv1.SchemeGroupVersion.WithResource("cronjobs"), "CronJob", namespaced)
}

// Ingresses is the client of ingresses.
func Ingresses(c *Client) *Resource[*networkingv1.Ingress, *networkingv1.IngressList] {
	return newResource[*networkingv1.Ingress, *networkingv1.IngressList](c, networkingv1.SchemeGroupVersion.WithResource("ingresses"), "Ingress", namespaced)
}

// IngressClasses is the client of ingressclasses.
func IngressClasses(c *Client) *Resource[*networkingv1.IngressClass, *networkingv1.IngressClassList] {
	return newResource[*networkingv1.IngressClass, *networkingv1.IngressClassList](c, networkingv1.SchemeGroupVersion.WithResource("ingressclasses"), "IngressClass", clusterScoped)
}

// Leases is the client of leases.
func Leases(c *Client) *Resource[*coordinationv1.Lease, *coordinationv1.LeaseList] {
	return newResource[*coordinationv1.Lease, *coordinationv1.LeaseList](c, coordinationv1.SchemeGroupVersion.WithResource("leases"), "Lease", namespaced)
}

// EndpointSlices is the client of endpointslices.
func EndpointSlices(c *Client) *Resource[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList] {
	return newResource[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList](c, discoveryv1.SchemeGroupVersion.WithResource("endpointslices"), "EndpointSlice", namespaced)
}

// PriorityClasses is the client of priorityclasses.
func PriorityClasses(c *Client) *Resource[*schedulingv1.PriorityClass, *schedulingv1.PriorityClassList] {
	return newResource[*schedulingv1.PriorityClass, *schedulingv1.PriorityClassList](c, schedulingv1.SchemeGroupVersion.WithResource("priorityclasses"), "PriorityClass", clusterScoped)
}

// PersistentVolumes is the client of persistentvolumes.
func PersistentVolumes(c *Client) *Resource[*corev1.PersistentVolume, *corev1.PersistentVolumeList] {
	return newResource[*corev1.PersistentVolume, *corev1.PersistentVolumeList](c, corev1.SchemeGroupVersion.WithResource("persistentvolumes"), "PersistentVolume", clusterScoped)
}

// PersistentVolumeClaims is the client of persistentvolumeclaims.
func PersistentVolumeClaims(c *Client) *Resource[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList] {
	return newResource[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList](c, corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), "PersistentVolumeClaim", namespaced)
}

// StorageClasses is the client of storageclasses.
func StorageClasses(c *Client) *Resource[*storagev1.StorageClass, *storagev1.StorageClassList] {
	return newResource[*storagev1.StorageClass, *storagev1.StorageClassList](c, storagev1.SchemeGroupVersion.WithResource("storageclasses"), "StorageClass", clusterScoped)
}

const (
	namespaced    = true
	clusterScoped = false
)

// CertificateSigningRequests is the client of certificate signing
// requests (cluster-scoped; subresources "approval" and "status").
func CertificateSigningRequests(c *Client) *Resource[*certificatesv1.CertificateSigningRequest, *certificatesv1.CertificateSigningRequestList] {
	return newResource[*certificatesv1.CertificateSigningRequest, *certificatesv1.CertificateSigningRequestList](c, certificatesv1.SchemeGroupVersion.WithResource("certificatesigningrequests"), "CertificateSigningRequest", clusterScoped)
}
