// Package noderesources holds kube-scheduler's two plugins about resource
// requests, NodeResourcesFit and NodeResourcesBalancedAllocation.
//
// NodeResourcesFit (Fit) filters out the nodes that cannot hold the pod:
// one more pod than the node's allocatable pods, or a request for cpu,
// memory, ephemeral-storage or an extended resource beyond what the
// node's allocatable leaves after the requests of its pods. A resource the
// pod does not request is not checked. Every shortage is a reason of its
// own ("Too many pods", "Insufficient cpu", "Insufficient example.com/gpu"),
// all in one status. The status is Unschedulable, for preemption to try,
// unless the pod asks for more of a resource than the node has
// allocatable at all: then removing pods cannot help and it is
// UnschedulableAndUnresolvable, as in Kubernetes 1.3x.
//
// Fit also scores the feasible nodes by a scoring strategy over weighted
// resources (FitArgs.ScoringStrategy): LeastAllocated (the default, over
// cpu and memory, weight 1 each) prefers the emptiest nodes,
// MostAllocated the fullest, RequestedToCapacityRatio follows a
// piecewise-linear function of the utilisation. Scores use the requests
// with the scheduler's defaults for unset cpu and memory
// (framework.NodeInfo.NonZeroRequested and framework.PodRequests with
// nonZero), so that pods without requests still spread.
//
// NodeResourcesBalancedAllocation (BalancedAllocation) prefers nodes
// whose resources would be used evenly: with the fractions f_i =
// requested_i / allocatable_i (at most 1) over BalancedAllocationArgs'
// resources (cpu and memory by default), a node scores
// (1 - standard deviation of the f_i) × 100. It uses the plain requests,
// and skips pods that request none of its resources.
//
// The pod's requests follow framework.PodRequests: the sum of the app
// containers and sidecars, or the largest init container with the
// sidecars started before it, whichever is larger, plus the overhead.
package noderesources
