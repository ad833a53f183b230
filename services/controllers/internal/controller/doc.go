// Package controller is what every control loop of gantry-controllers is
// built from, the way Kubernetes' controllers are:
//
//	informer events ──enqueue key──▶ rate-limited work queue ──▶ sync(ctx, key)
//
// Event handlers only enqueue keys ("namespace/name"). A worker takes a
// key and calls the controller's Sync, which re-reads the current state
// from the informer caches (NotFound means "clean up"), decides what to
// do with a pure function that can be table-tested, writes the changes,
// and writes status last. A failed sync is retried with per-key
// exponential back-off; a key is never processed by two workers at once.
//
// The package provides:
//
//   - Context: what a controller is built with (API client, shared
//     informers, metrics registerer, event recorders, clock, options);
//   - Loop: the queue and its workers, with work-queue metrics under
//     Kubernetes' names (workqueue_depth, workqueue_adds_total, ...) and
//     per-controller sync counts and durations;
//   - Expectations: the creations and deletions a controller has asked
//     for and not yet seen in its cache, so it neither over- nor
//     under-shoots while the cache catches up;
//   - PodControl: creating pods from a template with an owner reference,
//     deleting them, with Kubernetes' events (SuccessfulCreate,
//     FailedCreate, SuccessfulDelete, FailedDelete);
//   - RefManager: adopting matching orphans and releasing children that no
//     longer match (ownerReferences with controller=true).
package controller
