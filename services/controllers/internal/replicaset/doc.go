// Package replicaset is the ReplicaSet controller: it keeps
// spec.replicas pods matching each ReplicaSet's selector, as
// kube-controller-manager's replicaset controller does.
//
// A sync of a ReplicaSet:
//
//  1. lists the pods of its namespace from the informer cache and keeps
//     the active ones (neither terminal nor being deleted);
//  2. claims them: adopts matching orphans and releases children whose
//     labels no longer match (ownerReferences with controller=true);
//  3. when every creation and deletion asked for earlier has been seen in
//     the cache (Expectations), creates or deletes the difference to
//     spec.replicas, at most BurstReplicas at a time, creating in slow-start
//     batches and deleting the least valuable pods first (planReplicas,
//     podsToDelete);
//  4. writes status last: replicas, fullyLabeledReplicas, readyReplicas,
//     availableReplicas (ready for minReadySeconds), terminatingReplicas,
//     observedGeneration and the ReplicaFailure condition
//     (calculateStatus); it checks again when a ready pod is due to
//     become available.
//
// Decisions are pure functions of the cached state (plan.go, status.go),
// table-tested; the controller (controller.go, sync.go) only reads the
// caches and writes what they decide. Events SuccessfulCreate,
// FailedCreate, SuccessfulDelete and FailedDelete are recorded on the
// ReplicaSet by controller.PodControl.
package replicaset
