// Package deployment is the Deployment controller: it rolls a
// Deployment's pod template out through ReplicaSets it owns, as
// kube-controller-manager's deployment controller does.
//
// Each pod template gets a ReplicaSet named <deployment>-<hash>, where
// the hash is Kubernetes' pod-template-hash (computeHash) and is added as
// the pod-template-hash label to the ReplicaSet's selector, template and
// labels. The ReplicaSet whose template equals the Deployment's (ignoring
// that label) is the new one; the others are old. Revisions are recorded
// in the deployment.kubernetes.io/revision annotation of the ReplicaSets
// and the Deployment; a rollback (kubectl rollout undo, which patches an
// old template back client side) makes an old ReplicaSet new again and
// gives it the next revision.
//
// A sync of a Deployment claims its ReplicaSets (adopting and releasing
// by ownerReferences), then, in Kubernetes' order:
//
//   - being deleted: only status;
//   - paused, or the replicas changed (the desired-replicas annotation of
//     an active ReplicaSet differs): scale the ReplicaSets, proportionally
//     during a rollout (planScale), without rolling out;
//   - Recreate: scale old ReplicaSets to zero, wait for their pods to be
//     gone, then create and scale up the new one;
//   - RollingUpdate: scale the new ReplicaSet up within maxSurge
//     (newReplicaSetReplicas), else old ones down within maxUnavailable
//     (planOldScaleDown);
//   - once complete, delete old ReplicaSets beyond revisionHistoryLimit
//     (cleanupPlan);
//   - status last: replica counts, and the Available and Progressing
//     conditions with progressDeadlineSeconds (rolloutStatus).
//
// The decisions are pure functions of the Deployment and its
// ReplicaSets, table-tested; the rest reads the caches and applies them.
package deployment
