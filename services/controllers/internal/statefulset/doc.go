// Package statefulset is the StatefulSet controller: it keeps
// spec.replicas pods with stable identities for every StatefulSet, as
// kube-controller-manager's does.
//
// Identity. The pod of ordinal i is named "<set>-<i>" (ordinals start at
// spec.ordinals.start), is labelled statefulset.kubernetes.io/pod-name and
// apps.kubernetes.io/pod-index, has hostname = its name and subdomain =
// spec.serviceName (its DNS name through the headless service), and a
// controller owner reference to the set. A deleted or failed pod comes back
// under the same name, with the same claims.
//
// Storage. For every volumeClaimTemplate the pod of ordinal i gets the
// PersistentVolumeClaim "<template>-<set>-<i>" (the template's labels plus
// the selector's), created before the pod and referenced by a pod volume
// named after the template. Claims outlive their pods; the
// persistentVolumeClaimRetentionPolicy decides, through owner references
// that the garbage collector follows, whether they go with the set
// (whenDeleted: Delete) or with a scaled-down pod (whenScaled: Delete).
//
// Ordering. podManagementPolicy OrderedReady creates pods one at a time in
// ordinal order, each once its predecessors are Running, Ready and
// available (minReadySeconds), and removes them one at a time from the
// highest ordinal, each once the previous one has terminated. Parallel
// creates and deletes all at once.
//
// Revisions. Kubernetes records every pod template in a ControllerRevision;
// Gantry's API server does not serve those, so a revision is named
// "<set>-<hash of spec.template and collisionCount>" (the pods'
// controller-revision-hash label and status.currentRevision /
// updateRevision). The templates of the current and the update revision
// are remembered in memory (the update revision's is the set's own; the
// current one's is seen in the set's update events), so pods below a
// RollingUpdate partition are re-created from the current template. After
// a restart of the controller in the middle of a partitioned roll-out the
// current template is unknown, and such pods are re-created at the update
// revision.
//
// Updates. RollingUpdate replaces, from the highest ordinal down to the
// partition, pods not at the update revision, at most maxUnavailable
// (default 1) pods of the set being unavailable at a time; OnDelete only
// re-creates pods that someone deleted at the update revision. When every
// pod is updated and ready, currentRevision becomes updateRevision, which is
// what `kubectl rollout status` waits for.
//
// The decisions are made by plan (plan.go), a pure function of the set and
// its pods that returns the steps to take; sync carries them out and
// writes status last.
package statefulset
