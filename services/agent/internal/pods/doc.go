// Package pods runs the pods bound to this node: one worker per pod turns
// the Pod object into a sandbox, volumes, network and containers through
// the runtime, restarts containers by the pod's restartPolicy with
// Kubernetes' back-off, runs probes and hooks, stops pods gracefully when
// they are deleted, and writes the pod's status when it changes.
//
// Workers are level-triggered: every sync re-reads the latest Pod and what
// the runtime reports, and acts on the difference. Pod updates, runtime
// events (exits, OOM kills), probe results and timers (back-off, deadlines)
// only wake the worker.
package pods
