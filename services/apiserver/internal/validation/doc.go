// Package validation checks the objects the API server stores, the way
// kube-apiserver's pkg/apis/*/validation packages do, so that clients see
// the same field paths and messages they would see against Kubernetes
// (kubectl prints them verbatim: `spec.containers[0].image: Required value`).
//
// The package owns three entry points and nothing else:
//
//   - ValidateCreate: the object as it will be stored on create.
//   - ValidateUpdate: a spec or metadata update, given the stored object.
//   - ValidateStatusUpdate: an update through the status subresource.
//
// Callers hand over objects in the external (v1) types of k8s.io/api, after
// the steps kube-apiserver runs before its own validation: defaulting (the
// fields Kubernetes defaults, such as a pod's restartPolicy, dnsPolicy,
// terminationGracePeriodSeconds, a container's imagePullPolicy and
// terminationMessagePolicy, a port's protocol, a service's type,
// sessionAffinity and internalTrafficPolicy, a deployment's strategy, a
// statefulset's podManagementPolicy and updateStrategy, a cronjob's
// concurrencyPolicy, are required here as they are there), name generation,
// a Job's generated selector and labels, and, on update, the resourceVersion
// and the values the server allocated (clusterIPs, nodePorts) carried over
// from the stored object when the client left them out.
//
// Errors are built with k8s.io/apimachinery/pkg/util/validation/field and
// reuse apimachinery's helpers for metadata, names, labels and selectors.
// Rules that need cluster state (quota, admission, port allocation beyond
// the configured range, references to other objects) are not checked here.
//
// Files: validation.go (the entry points), meta.go (object metadata),
// common.go (small shared checks), diff.go (the change list in pod update
// errors); pods and pod templates in pod.go, podspec.go, containers.go,
// env.go, volumes.go and resources.go; service.go (services, endpoints),
// core.go (namespaces, nodes, config maps, secrets, service accounts,
// events), apps.go, batch.go with cron.go (the schedule parser),
// networking.go, coordination.go, discovery.go, and subresources.go (Scale
// and Eviction bodies).
package validation
