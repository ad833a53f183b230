// Package garbagecollector is the garbage collector: it deletes objects
// whose owners (metadata.ownerReferences) are gone, and carries out the
// foreground and orphan deletions kubectl asks for with
// --cascade=foreground|orphan, as kube-controller-manager's
// garbagecollector does.
//
// It watches every resource the API server serves
// (controller.AllResources, events excepted) with the shared informers.
// Their events go, through one queue, to a single goroutine that keeps
// the dependency graph (graph.go): every object by UID with its owners
// and dependents, plus "virtual" nodes for owners named but never seen.
// Processing an event queues work for two loops keyed by UID:
//
//   - attemptToDelete (attempt.go) reads the object afresh from the API
//     server and classifies each owner reference by a live GET of the
//     owner (by name, compared by UID; owners found absent are remembered
//     in a small cache): solid, dangling (gone) or waiting (being deleted
//     in the foreground). decide (plan.go) then keeps the object, removes
//     the references to gone and waiting owners while a solid one
//     remains, or deletes it: in the foreground when a waiting owner
//     should also wait for the object's own dependents, else by the
//     object's own orphan/foreground finalizer, else in the background.
//     An object being deleted in the foreground (deletionTimestamp and
//     the foregroundDeletion finalizer the API server adds) has its
//     blocking dependents (blockOwnerDeletion=true) deleted, and loses
//     the finalizer once none is left, so that the API server deletes it.
//     Virtual nodes the API server says do not exist leave the graph, and
//     their dependents are checked.
//   - attemptToOrphan (orphan.go) handles an object being deleted with
//     the orphan finalizer: it removes the object from its dependents'
//     ownerReferences, then removes the finalizer.
//
// Deletions are conditional on the object's UID and resourceVersion;
// finalizers are removed by read-modify-write retried on conflicts, and
// failed work is retried with per-key back-off for as long as it takes.
// Metrics: gantry_garbagecollector_graph_nodes,
// gantry_garbagecollector_delete_attempts_total and
// gantry_garbagecollector_orphan_attempts_total, besides the queues'
// workqueue_* series.
package garbagecollector
