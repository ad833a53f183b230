// Package registry is the one layer under both API facades (Kubernetes REST
// and gRPC): for every served resource it applies Kubernetes' rules on the
// way to the store — metadata (uid, creationTimestamp, generateName,
// generation), defaulting, validation, admission (namespace lifecycle;
// Priority: pods' priority from their PriorityClass, one global default;
// DefaultStorageClass and PersistentVolumeClaimResize for claims),
// status/spec separation, graceful deletion and finalizers, Service IP and
// NodePort allocation — and serves lists and watches from the watch cache
// with label and field selectors.
//
// Objects handed out by the registry may be shared with the watch cache:
// callers must not modify them.
package registry
