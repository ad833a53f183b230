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
// Revisions. Every distinct pod template the set has had is recorded in
// a ControllerRevision "<set>-<hash>" (package history): its data is the
// strategic merge patch that puts the template back, its revision number
// orders the history, and it carries the template's labels, the
// controller.kubernetes.io/hash label and a controller reference to the
// set. The revision of spec.template is the update revision; a template
// seen before re-uses its revision, renumbered as the newest, which is how
// `kubectl rollout undo` shows in `kubectl rollout history`. The pods'
// controller-revision-hash label and status.currentRevision /
// updateRevision name revisions, so pods below a RollingUpdate partition
// are re-created from the current revision's template, also after a
// restart of the controller. A name taken by another template counts a
// collision (status.collisionCount) and the next name is tried. Revisions
// beyond spec.revisionHistoryLimit (default 10) that neither status nor a
// pod uses are deleted, oldest first.
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
