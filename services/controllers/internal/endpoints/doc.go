// Package endpoints is the Endpoints controller (kube-controller-
// manager's "endpoint"): for every Service with a selector it keeps a
// core/v1 Endpoints object of the same name, the legacy form of the
// service's endpoints that older proxies, DNS servers and tools read.
//
// A sync of one service reads the service, its pods and its Endpoints
// from the informer caches, computes the subsets (desired.go: ready pods
// in addresses, not-ready ones in notReadyAddresses, pods being deleted
// left out unless the service publishes not-ready addresses, named
// target ports resolved per pod, repacked into Kubernetes' canonical
// form), caps them at 1000 addresses (with the
// endpoints.kubernetes.io/over-capacity: truncated annotation), and
// writes the object only when its subsets, labels or capacity annotation
// differ. The Endpoints carries the service's labels and
// endpointslice.kubernetes.io/skip-mirror: "true" (the EndpointSlice
// controller writes the slices itself; they must not be mirrored).
//
// The Endpoints of a deleted service is deleted. Services without a
// selector are left alone (their Endpoints are their users'), and so is
// default/kubernetes, which the API servers maintain.
package endpoints
