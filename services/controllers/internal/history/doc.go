// Package history keeps the history of a workload's pod templates as
// ControllerRevisions, as Kubernetes' StatefulSet and DaemonSet controllers
// do (its pkg/controller/history); `kubectl rollout history` and
// `kubectl rollout undo` read and apply them.
//
// A revision holds, as data, a strategic merge patch that replaces the
// owner's spec.template ({"spec":{"template":{"$patch":"replace",...}}},
// built as Kubernetes' getPatch builds it), so that kubectl can patch the
// owner with it to roll back; its revision number orders the history.
// Revisions carry the template's labels (so the owner's selector finds
// them) and a controller reference to the owner.
//
// The pure part (data, equality, ordering, which revision is the
// current template's) is table-tested; Store reads revisions from a
// shared informer, claims them (adopting orphans the owner's selector
// matches) and writes them through the API server.
package history
