// Package endpointutil holds what the EndpointSlice and Endpoints
// controllers share, as Kubernetes' k8s.io/endpointslice/util does: which
// pods are endpoints of a service and how (readiness, addresses, named
// target ports, hostnames), which services a pod change concerns, and the
// endpoints.kubernetes.io/last-change-trigger-time bookkeeping.
//
// Everything here is a pure function of the objects given, except
// TriggerTimeTracker (state across syncs of one service) and
// PodHandler (informer events to service keys).
package endpointutil
