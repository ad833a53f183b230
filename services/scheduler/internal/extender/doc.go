// Package extender is the client of HTTP scheduler extenders: webhooks
// that filter, score and bind pods alongside the scheduler's own plugins,
// configured and spoken to exactly as kube-scheduler does (the Extender
// entries of a KubeSchedulerConfiguration, and the JSON of
// k8s.io/kube-scheduler/extender/v1), so that an extender written for
// Kubernetes works unchanged.
//
// Each verb is a POST of JSON to urlPrefix + "/" + verb:
//
//	filter      Args → FilterResult        the nodes that fit, the failed ones
//	prioritize  Args → HostPriorityList     a score in [0, 10] per node
//	bind        BindingArgs → BindingResult the extender binds the pod
//
// Args carries the pod and either the whole candidate nodes ("Nodes") or,
// for an extender with nodeCacheCapable (it watches nodes itself), only
// their names ("NodeNames"). As in kube-scheduler, the JSON keys are the Go
// field names of the extender/v1 types ("Pod", "NodeNames",
// "FailedNodes", "Host", "Score", ...); the replies are decoded
// case-insensitively, so extenders answering with lower-case keys (the
// pre-1.16 scheduler API) work too.
//
// The preempt verb (ProcessPreemption) is not supported: a configured
// preemptVerb is accepted and never called, so the extender has no say in
// preemption victims. Kubernetes tolerates the same for extenders without
// that verb: if the extender later rejects the nominated node, the pod is
// retried elsewhere.
//
// This package only talks to one extender. Calling them in order, skipping
// those not interested in a pod (IsInterested), ignoring the failures of
// ignorable ones and adding the weighted scores is the scheduler's job.
package extender
