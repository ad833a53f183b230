package extender

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Extender scores range from MinExtenderPriority to MaxExtenderPriority
// (Kubernetes' extender/v1 constants).
const (
	MinExtenderPriority int64 = 0
	MaxExtenderPriority int64 = 10
)

// The wire types below are k8s.io/kube-scheduler/extender/v1's, field for
// field. Their JSON keys are the Go field names, as kube-scheduler sends
// them (its types have no json tags), spelt out here so that the wire
// format does not depend on Go field naming. No key is omitted when
// empty: kube-scheduler sends null.

// Args is what filter and prioritize receive (ExtenderArgs).
type Args struct {
	// Pod is the pod being scheduled.
	Pod *corev1.Pod `json:"Pod"`
	// Nodes are the candidate nodes, for an extender that is not
	// nodeCacheCapable (null otherwise).
	Nodes *corev1.NodeList `json:"Nodes"`
	// NodeNames are the candidate nodes' names, for a nodeCacheCapable
	// extender (null otherwise).
	NodeNames *[]string `json:"NodeNames"`
}

// FailedNodesMap maps node names to why they do not fit.
type FailedNodesMap map[string]string

// FilterResult is filter's answer (ExtenderFilterResult).
type FilterResult struct {
	// Nodes that fit, from an extender that is not nodeCacheCapable.
	Nodes *corev1.NodeList `json:"Nodes"`
	// NodeNames that fit, from a nodeCacheCapable extender.
	NodeNames *[]string `json:"NodeNames"`
	// FailedNodes do not fit; preemption might help.
	FailedNodes FailedNodesMap `json:"FailedNodes"`
	// FailedAndUnresolvableNodes do not fit and preemption would not
	// help; a node here is not considered in FailedNodes.
	FailedAndUnresolvableNodes FailedNodesMap `json:"FailedAndUnresolvableNodes"`
	// Error, when not empty, fails the whole call.
	Error string `json:"Error"`
}

// HostPriority is one node's score from prioritize.
type HostPriority struct {
	Host  string `json:"Host"`
	Score int64  `json:"Score"`
}

// HostPriorityList is prioritize's answer.
type HostPriorityList []HostPriority

// BindingArgs is what bind receives (ExtenderBindingArgs).
type BindingArgs struct {
	PodName      string    `json:"PodName"`
	PodNamespace string    `json:"PodNamespace"`
	PodUID       types.UID `json:"PodUID"`
	// Node is the node the scheduler chose.
	Node string `json:"Node"`
}

// BindingResult is bind's answer (ExtenderBindingResult).
type BindingResult struct {
	// Error, when not empty, means the binding failed.
	Error string `json:"Error"`
}
