// Package podgc is the pod garbage collector, as Kubernetes' PodGC
// controller: it force-deletes (grace period 0)
//
//   - pods bound to nodes that no longer exist (checked against the API
//     server, not only the cache), after marking them Failed with a
//     DisruptionTarget condition (DeletionByPodGC);
//   - terminating pods that were never scheduled;
//   - terminating pods on not-ready nodes tainted
//     node.kubernetes.io/out-of-service;
//   - finished (Succeeded or Failed) pods beyond
//     --terminated-pod-gc-threshold, oldest (and evicted) first.
//
// It runs a pass every 20 seconds and soon after a node is deleted. The
// decision is the pure function plan; the pass acts on it.
package podgc
