package openapi

// optionalWithoutOmitempty lists the fields, as "<definition>.<json name>",
// that Kubernetes marks optional with a "+optional" comment although their
// JSON tag has no omitempty. Comments do not survive compilation, so
// reflection alone would call these fields required, and kubectl's
// client-side validation (used for "kind: List" manifests) would then
// reject objects that leave them out.
//
// The list was taken from the sources of k8s.io/api and
// k8s.io/apimachinery v0.37.2 for the groups this server serves;
// TestOptionalWithoutOmitemptyIsCurrent checks it against the module
// sources when they are on disk.
var optionalWithoutOmitempty = map[string]bool{
	"io.k8s.api.apps.v1.ControllerRevision.revision":                     true,
	"io.k8s.api.apps.v1.DaemonSetCondition.status":                       true,
	"io.k8s.api.apps.v1.DaemonSetCondition.type":                         true,
	"io.k8s.api.apps.v1.DeploymentCondition.status":                      true,
	"io.k8s.api.apps.v1.DeploymentCondition.type":                        true,
	"io.k8s.api.apps.v1.ReplicaSetCondition.status":                      true,
	"io.k8s.api.apps.v1.ReplicaSetCondition.type":                        true,
	"io.k8s.api.apps.v1.StatefulSetCondition.status":                     true,
	"io.k8s.api.apps.v1.StatefulSetCondition.type":                       true,
	"io.k8s.api.apps.v1.StatefulSetOrdinals.start":                       true,
	"io.k8s.api.apps.v1.StatefulSetSpec.serviceName":                     true,
	"io.k8s.api.apps.v1.StatefulSetStatus.availableReplicas":             true,
	"io.k8s.api.batch.v1.PodFailurePolicyOnPodConditionsPattern.status":  true,
	"io.k8s.api.core.v1.AzureFilePersistentVolumeSource.secretNamespace": true,
	"io.k8s.api.core.v1.ContainerImage.names":                            true,
	"io.k8s.api.core.v1.Event.reportingComponent":                        true,
	"io.k8s.api.core.v1.Event.reportingInstance":                         true,
	"io.k8s.api.core.v1.GRPCAction.service":                              true,
	"io.k8s.api.core.v1.NodeRuntimeHandler.name":                         true,
	"io.k8s.api.core.v1.ProjectedVolumeSource.sources":                   true,
	"io.k8s.api.core.v1.TypedLocalObjectReference.apiGroup":              true,
	"io.k8s.api.core.v1.TypedObjectReference.apiGroup":                   true,
	"io.k8s.api.discovery.v1.EndpointSlice.endpoints":                    true,
	"io.k8s.api.discovery.v1.EndpointSlice.ports":                        true,
	"io.k8s.api.networking.v1.IngressClassParametersReference.scope":     true,
	"io.k8s.api.networking.v1.NetworkPolicySpec.podSelector":             true,
	"io.k8s.api.policy.v1.PodDisruptionBudgetStatus.currentHealthy":      true,
	"io.k8s.api.policy.v1.PodDisruptionBudgetStatus.desiredHealthy":      true,
	"io.k8s.api.policy.v1.PodDisruptionBudgetStatus.disruptionsAllowed":  true,
	"io.k8s.api.policy.v1.PodDisruptionBudgetStatus.expectedPods":        true,
	"io.k8s.api.scheduling.v1.PriorityClass.value":                       true,
}
