package printers

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Column types, as the Table API names them.
const (
	typeString  = "string"
	typeInteger = "integer"
	typeBoolean = "boolean"
	typeDate    = "date"
)

var objectMetaDoc = metav1.ObjectMeta{}.SwaggerDoc()

// column is a column every output shows.
func column(name, typ, description string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: typ, Description: description}
}

// wide is a column only `kubectl get -o wide` shows.
func wide(name, typ, description string) metav1.TableColumnDefinition {
	c := column(name, typ, description)
	c.Priority = 1
	return c
}

func nameColumn() metav1.TableColumnDefinition {
	c := column("Name", typeString, objectMetaDoc["name"])
	c.Format = "name"
	return c
}

// wideNameColumn is the name where it is not the first column.
func wideNameColumn() metav1.TableColumnDefinition {
	c := nameColumn()
	c.Priority = 1
	return c
}

func ageColumn() metav1.TableColumnDefinition {
	return column("Age", typeString, objectMetaDoc["creationTimestamp"])
}

// templateColumns are the wide columns of workloads: their pod template's
// containers and images, and their selector when they have one.
func templateColumns(selector bool) []metav1.TableColumnDefinition {
	cols := []metav1.TableColumnDefinition{
		wide("Containers", typeString, "Names of each container in the template."),
		wide("Images", typeString, "Images referenced by each container in the template."),
	}
	if selector {
		cols = append(cols, wide("Selector", typeString, "The label selector of the pods."))
	}
	return cols
}

func withTemplate(cols []metav1.TableColumnDefinition, selector bool) []metav1.TableColumnDefinition {
	return append(cols, templateColumns(selector)...)
}

var defaultColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Created At", typeDate, objectMetaDoc["creationTimestamp"]),
}

func gr(group, resource string) schema.GroupResource {
	return schema.GroupResource{Group: group, Resource: resource}
}

var columns = map[schema.GroupResource][]metav1.TableColumnDefinition{
	gr("", "pods"): {
		nameColumn(),
		column("Ready", typeString, "The aggregate readiness state of this pod for accepting traffic."),
		column("Status", typeString, "The aggregate status of the containers in this pod."),
		column("Restarts", typeString, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
		ageColumn(),
		wide("IP", typeString, corev1.PodStatus{}.SwaggerDoc()["podIP"]),
		wide("Node", typeString, corev1.PodSpec{}.SwaggerDoc()["nodeName"]),
		wide("Nominated Node", typeString, corev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"]),
		wide("Readiness Gates", typeString, corev1.PodSpec{}.SwaggerDoc()["readinessGates"]),
	},
	gr("", "nodes"): {
		nameColumn(),
		column("Status", typeString, "The status of the node"),
		column("Roles", typeString, "The roles of the node"),
		ageColumn(),
		column("Version", typeString, corev1.NodeSystemInfo{}.SwaggerDoc()["kubeletVersion"]),
		wide("Internal-IP", typeString, corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
		wide("External-IP", typeString, corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
		wide("OS-Image", typeString, corev1.NodeSystemInfo{}.SwaggerDoc()["osImage"]),
		wide("Kernel-Version", typeString, corev1.NodeSystemInfo{}.SwaggerDoc()["kernelVersion"]),
		wide("Container-Runtime", typeString, corev1.NodeSystemInfo{}.SwaggerDoc()["containerRuntimeVersion"]),
	},
	gr("", "namespaces"): {
		nameColumn(),
		column("Status", typeString, "The status of the namespace"),
		ageColumn(),
	},
	gr("", "services"): {
		nameColumn(),
		column("Type", typeString, corev1.ServiceSpec{}.SwaggerDoc()["type"]),
		column("Cluster-IP", typeString, corev1.ServiceSpec{}.SwaggerDoc()["clusterIP"]),
		column("External-IP", typeString, corev1.ServiceSpec{}.SwaggerDoc()["externalIPs"]),
		column("Port(s)", typeString, corev1.ServiceSpec{}.SwaggerDoc()["ports"]),
		ageColumn(),
		wide("Selector", typeString, corev1.ServiceSpec{}.SwaggerDoc()["selector"]),
	},
	gr("", "endpoints"): {
		nameColumn(),
		column("Endpoints", typeString, corev1.Endpoints{}.SwaggerDoc()["subsets"]),
		ageColumn(),
	},
	gr("", "configmaps"): {
		nameColumn(),
		column("Data", typeString, corev1.ConfigMap{}.SwaggerDoc()["data"]),
		ageColumn(),
	},
	gr("", "secrets"): {
		nameColumn(),
		column("Type", typeString, corev1.Secret{}.SwaggerDoc()["type"]),
		column("Data", typeString, corev1.Secret{}.SwaggerDoc()["data"]),
		ageColumn(),
	},
	// Events lead with when they were last seen, and keep the name for -o wide.
	gr("", "events"): {
		column("Last Seen", typeString, corev1.Event{}.SwaggerDoc()["lastTimestamp"]),
		column("Type", typeString, corev1.Event{}.SwaggerDoc()["type"]),
		column("Reason", typeString, corev1.Event{}.SwaggerDoc()["reason"]),
		column("Object", typeString, corev1.Event{}.SwaggerDoc()["involvedObject"]),
		wide("Subobject", typeString, corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]),
		wide("Source", typeString, corev1.Event{}.SwaggerDoc()["source"]),
		column("Message", typeString, corev1.Event{}.SwaggerDoc()["message"]),
		wide("First Seen", typeString, corev1.Event{}.SwaggerDoc()["firstTimestamp"]),
		wide("Count", typeString, corev1.Event{}.SwaggerDoc()["count"]),
		wideNameColumn(),
	},
	gr("", "serviceaccounts"): {
		nameColumn(),
		column("Secrets", typeString, corev1.ServiceAccount{}.SwaggerDoc()["secrets"]),
		ageColumn(),
	},

	gr("apps", "deployments"): withTemplate([]metav1.TableColumnDefinition{
		nameColumn(),
		column("Ready", typeString, "Number of the pod with ready state"),
		column("Up-to-date", typeString, appsv1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]),
		column("Available", typeString, appsv1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]),
		ageColumn(),
	}, true),
	gr("apps", "replicasets"): withTemplate([]metav1.TableColumnDefinition{
		nameColumn(),
		column("Desired", typeInteger, appsv1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]),
		column("Current", typeInteger, appsv1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]),
		column("Ready", typeInteger, appsv1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]),
		ageColumn(),
	}, true),
	gr("apps", "statefulsets"): withTemplate([]metav1.TableColumnDefinition{
		nameColumn(),
		column("Ready", typeString, "Number of the pod with ready state"),
		ageColumn(),
	}, false),
	gr("apps", "daemonsets"): withTemplate([]metav1.TableColumnDefinition{
		nameColumn(),
		column("Desired", typeInteger, appsv1.DaemonSetStatus{}.SwaggerDoc()["desiredNumberScheduled"]),
		column("Current", typeInteger, appsv1.DaemonSetStatus{}.SwaggerDoc()["currentNumberScheduled"]),
		column("Ready", typeInteger, appsv1.DaemonSetStatus{}.SwaggerDoc()["numberReady"]),
		column("Up-to-date", typeInteger, appsv1.DaemonSetStatus{}.SwaggerDoc()["updatedNumberScheduled"]),
		column("Available", typeInteger, appsv1.DaemonSetStatus{}.SwaggerDoc()["numberAvailable"]),
		column("Node Selector", typeString, corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]),
		ageColumn(),
	}, true),
	gr("apps", "controllerrevisions"): {
		nameColumn(),
		column("Controller", typeString, "Controller of the object"),
		column("Revision", typeString, appsv1.ControllerRevision{}.SwaggerDoc()["revision"]),
		ageColumn(),
	},

	gr("batch", "jobs"): withTemplate([]metav1.TableColumnDefinition{
		nameColumn(),
		column("Status", typeString, "Status of the job."),
		column("Completions", typeString, batchv1.JobStatus{}.SwaggerDoc()["succeeded"]),
		column("Duration", typeString, "Time required to complete the job."),
		ageColumn(),
	}, true),
	gr("batch", "cronjobs"): withTemplate([]metav1.TableColumnDefinition{
		nameColumn(),
		column("Schedule", typeString, batchv1.CronJobSpec{}.SwaggerDoc()["schedule"]),
		column("Timezone", typeString, batchv1.CronJobSpec{}.SwaggerDoc()["timeZone"]),
		column("Suspend", typeBoolean, batchv1.CronJobSpec{}.SwaggerDoc()["suspend"]),
		column("Active", typeInteger, batchv1.CronJobStatus{}.SwaggerDoc()["active"]),
		column("Last Schedule", typeString, batchv1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]),
		ageColumn(),
	}, true),

	gr("networking.k8s.io", "ingresses"): {
		nameColumn(),
		column("Class", typeString, "The name of the IngressClass resource that should be used for additional configuration"),
		column("Hosts", typeString, "Hosts that incoming requests are matched against before the ingress rule"),
		column("Address", typeString, "Address is a list containing ingress points for the load-balancer"),
		column("Ports", typeString, "Ports of TLS configurations that open"),
		ageColumn(),
	},
	gr("networking.k8s.io", "ingressclasses"): {
		nameColumn(),
		column("Controller", typeString, "Controller that is responsible for handling this class"),
		column("Parameters", typeString, "A reference to a resource with additional parameters"),
		ageColumn(),
	},
	gr("certificates.k8s.io", "certificatesigningrequests"): {
		nameColumn(),
		ageColumn(),
		column("SignerName", typeString, certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()["signerName"]),
		column("Requestor", typeString, "Name of the user that created the request"),
		column("RequestedDuration", typeString, certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()["expirationSeconds"]),
		column("Condition", typeString, certificatesv1.CertificateSigningRequestStatus{}.SwaggerDoc()["conditions"]),
	},
	gr("coordination.k8s.io", "leases"): {
		nameColumn(),
		column("Holder", typeString, coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]),
		ageColumn(),
	},
	gr("discovery.k8s.io", "endpointslices"): {
		nameColumn(),
		column("AddressType", typeString, discoveryv1.EndpointSlice{}.SwaggerDoc()["addressType"]),
		column("Ports", typeString, discoveryv1.EndpointSlice{}.SwaggerDoc()["ports"]),
		column("Endpoints", typeString, discoveryv1.EndpointSlice{}.SwaggerDoc()["endpoints"]),
		ageColumn(),
	},
	gr("scheduling.k8s.io", "priorityclasses"): {
		nameColumn(),
		column("Value", typeInteger, schedulingv1.PriorityClass{}.SwaggerDoc()["value"]),
		column("Global-Default", typeBoolean, schedulingv1.PriorityClass{}.SwaggerDoc()["globalDefault"]),
		ageColumn(),
		column("PreemptionPolicy", typeString, schedulingv1.PriorityClass{}.SwaggerDoc()["preemptionPolicy"]),
	},
	gr("", "persistentvolumes"): {
		nameColumn(),
		column("Capacity", typeString, corev1.PersistentVolumeSpec{}.SwaggerDoc()["capacity"]),
		column("Access Modes", typeString, corev1.PersistentVolumeSpec{}.SwaggerDoc()["accessModes"]),
		column("Reclaim Policy", typeString, corev1.PersistentVolumeSpec{}.SwaggerDoc()["persistentVolumeReclaimPolicy"]),
		column("Status", typeString, corev1.PersistentVolumeStatus{}.SwaggerDoc()["phase"]),
		column("Claim", typeString, corev1.PersistentVolumeSpec{}.SwaggerDoc()["claimRef"]),
		column("StorageClass", typeString, "StorageClass of the pv"),
		column("VolumeAttributesClass", typeString, "VolumeAttributesClass of the pv"),
		column("Reason", typeString, corev1.PersistentVolumeStatus{}.SwaggerDoc()["reason"]),
		ageColumn(),
		wide("VolumeMode", typeString, corev1.PersistentVolumeSpec{}.SwaggerDoc()["volumeMode"]),
	},
	gr("", "persistentvolumeclaims"): {
		nameColumn(),
		column("Status", typeString, corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["phase"]),
		column("Volume", typeString, corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeName"]),
		column("Capacity", typeString, corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["capacity"]),
		column("Access Modes", typeString, corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["accessModes"]),
		column("StorageClass", typeString, "StorageClass of the pvc"),
		column("VolumeAttributesClass", typeString, "VolumeAttributesClass of the pvc"),
		ageColumn(),
		wide("VolumeMode", typeString, corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeMode"]),
	},
	gr("storage.k8s.io", "storageclasses"): {
		nameColumn(),
		column("Provisioner", typeString, storagev1.StorageClass{}.SwaggerDoc()["provisioner"]),
		column("ReclaimPolicy", typeString, storagev1.StorageClass{}.SwaggerDoc()["reclaimPolicy"]),
		column("VolumeBindingMode", typeString, storagev1.StorageClass{}.SwaggerDoc()["volumeBindingMode"]),
		column("AllowVolumeExpansion", typeBoolean, storagev1.StorageClass{}.SwaggerDoc()["allowVolumeExpansion"]),
		ageColumn(),
	},
}
