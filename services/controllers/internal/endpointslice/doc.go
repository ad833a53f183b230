// Package endpointslice is the EndpointSlice controller
// (kube-controller-manager's "endpointslice"): for every Service with a
// selector it keeps discovery.k8s.io/v1 EndpointSlices listing the pods
// the selector matches, so that service proxies and DNS find them.
//
// A sync of one service reads the service, its pods, the nodes (for
// zones) and the slices it manages (labelled
// endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io
// and kubernetes.io/service-name=<service>) from the informer caches,
// then:
//
//   - desired (desired.go) turns each pod into an endpoint per address
//     family of the service: addresses, ready/serving/terminating
//     conditions, node, zone, hostname, target reference, grouped by the
//     port list the pod resolves the service's ports to (a named
//     targetPort may mean different numbers in different pods, and one
//     slice has one port list);
//   - reconcile (reconcile.go) compares that with the existing slices and
//     returns a plan of slices to create, update and delete. It changes
//     as few slices as it can, as Kubernetes' reconciler does: endpoints
//     stay in the slice they are in, changed slices are filled up before
//     new ones are made, a slice holds at most 100 endpoints, a service
//     with no endpoints keeps one empty "placeholder" slice, and a slice
//     about to be deleted is reused for one about to be created;
//   - the plan is written: creates, then updates, then deletes.
//
// The informer cache may lag behind the controller's own writes; a
// tracker (tracker.go) remembers the version of every slice written, and
// a sync that would act on an older copy waits (errors, and is retried)
// instead of creating duplicates.
//
// Services without a selector are left alone: their slices are written
// by their users (or mirrored from Endpoints). Slices of a deleted
// service go with it by garbage collection (they have the service as
// owner).
package endpointslice
