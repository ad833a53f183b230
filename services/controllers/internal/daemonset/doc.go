// Package daemonset is the DaemonSet controller: it keeps one pod of
// every DaemonSet on each node the DaemonSet's pods may run on, as
// Kubernetes' daemon controller does.
//
// A node is eligible when it matches the pod template's nodeSelector and
// required node affinity and every NoSchedule and NoExecute taint is
// tolerated; a pod already there keeps running as long as its NoExecute
// taints are tolerated. Daemon pods get the tolerations Kubernetes gives
// them (not-ready and unreachable NoExecute without a time limit, the
// pressure and unschedulable NoSchedule taints, and network-unavailable
// for hostNetwork pods) and are pinned to their node with a required node
// affinity on metadata.name, so the scheduler binds them there.
//
// History. Every distinct pod template is recorded in a
// ControllerRevision "<ds>-<hash>" (package history) labelled with the
// template's labels and controller-revision-hash=<hash>, whose data is the
// strategic merge patch that puts the template back (what `kubectl
// rollout undo` applies). A template seen before re-uses its revision,
// renumbered as the newest; duplicates are merged. The current
// revision's hash labels new pods (controller-revision-hash), with
// pod-template-generation from the DaemonSet's
// deprecated.daemonset.template.generation annotation (kept by the API
// server), and a pod carrying either is up to date. A name taken by
// another template bumps status.collisionCount. Old revisions beyond
// spec.revisionHistoryLimit (default 10) go, oldest first, unless a pod
// still carries their hash.
//
// Updates follow the DaemonSet's strategy: RollingUpdate (maxUnavailable,
// or maxSurge) or OnDelete. Failed daemon pods are deleted and replaced,
// with per-node back-off.
//
// A sync claims the DaemonSet's pods, decides with pure functions (plan.go
// and rolling.go) which nodes need a pod and which pods must go, acts,
// and writes the status counts last, so that `kubectl rollout status`
// works.
package daemonset
