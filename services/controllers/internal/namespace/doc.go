// Package namespace is the namespace controller: it empties a namespace
// being deleted and then lets the API server remove it, as
// kube-controller-manager's namespace controller does.
//
// Deleting a namespace makes the API server set its deletionTimestamp and
// phase Terminating; the "kubernetes" entry of spec.finalizers holds it.
// A sync of such a namespace (controller.go):
//
//  1. reads it afresh from the API server (Terminating is set if missing);
//  2. for every namespaced resource the API server serves
//     (controller.AllResources), lists the namespace's objects and deletes
//     each in the background (content.go); pods bound to nodes go
//     gracefully, confirmed by their node agent. It lists again and
//     judges what is left: pods still within their grace period and
//     objects held by finalizers are waited for (15 s for finalizers),
//     anything else left is an error;
//  3. writes the conditions Kubernetes sets (conditions.go):
//     NamespaceDeletionDiscoveryFailure, NamespaceDeletionGVParsingFailure,
//     NamespaceDeletionContentFailure, NamespaceContentRemaining and
//     NamespaceFinalizersRemaining, True with what is wrong or False when
//     fine;
//  4. while content remains, looks again after half the estimate (or as
//     soon as one of its pods is gone); failures retry with back-off;
//  5. once empty, removes "kubernetes" from spec.finalizers through the
//     namespaces/finalize subresource; with no finalizer left, the API
//     server deletes the namespace.
package namespace
