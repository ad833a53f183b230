// Package client is the Go client of the Gantry API over gRPC
// (gantry.api.v1.Resources), what the scheduler, controllers, agent and
// proxy use to read and write Kubernetes objects.
//
//   - New connects to a list of API servers with TLS and a client
//     certificate or bearer token, spreading clients over the servers and
//     failing over between them.
//   - Resource[T, L] is the typed client of one resource (Pods, Nodes,
//     Deployments, Leases...): Get, List, Watch, Create, Update,
//     UpdateStatus, Patch, Delete and Bind, with metav1 options and
//     Kubernetes API errors (apierrors.IsNotFound, IsConflict, ...).
//   - NewInformer and InformerFactory build client-go shared index
//     informers on it: list + watch + local cache + indexers, resync, and
//     a relist when a watch can no longer resume (410).
//
// Subpackage wire holds the encoding shared with the server;
// leaderelection elects one active instance over a Lease.
package client
