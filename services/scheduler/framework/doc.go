// Package framework is the scheduler's plugin API: what a plugin sees of
// the cluster (NodeInfo, a Snapshot of every node), what it answers
// (Status, scores) and the extension points it may implement, in the
// order a pod passes them:
//
//	PreFilter → Filter (per node) → PostFilter (when no node fits)
//	→ PreScore → Score (per feasible node) [→ NormalizeScore]
//	→ Reserve → Permit → (asynchronously) PreBind → Bind → PostBind
//
// The names and meanings follow Kubernetes' scheduling framework, so a
// plugin written for kube-scheduler translates almost line by line. A
// plugin is a small type with one job; it is built by a PluginFactory
// registered under its name (Registry), and enabled per profile in the
// scheduler's configuration file, with its arguments.
//
// Every rejection carries a human-readable reason: the scheduler counts
// the reasons over all nodes into the pod's FailedScheduling event, such
// as "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had
// untolerated taint {dedicated: gpu}.".
//
// This package is public (not internal) so that plugins can live outside
// the repository: see package app for running the scheduler with extra
// plugins, and docs/scheduler.md for a walk-through.
package framework
