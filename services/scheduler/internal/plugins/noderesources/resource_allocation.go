package noderesources

import (
	"math"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// resourceScorer scores a node by how much of its allocatable resources
// the requests on it, the pod's included, would take. It is shared by
// Fit's scoring strategies and BalancedAllocation, as in Kubernetes.
type resourceScorer struct {
	resources []ResourceSpec
	// kinds[i] says where resources[i] is found in a framework.Resource
	// (worked out once rather than per node).
	kinds []resourceKind
	// useRequested counts the plain requests for cpu and memory, rather
	// than those with the defaults for unset requests (NonZeroRequested).
	useRequested bool
	// strategy turns the requested and allocatable amounts, in the order
	// of resources, into a score; an allocatable of 0 means the resource
	// does not count on this node.
	strategy scoringStrategy
	// shape is RequestedToCapacityRatio's, its scores scaled to
	// 0..MaxNodeScore.
	shape []UtilizationShapePoint
}

// scoringStrategy is how a resourceScorer scores the amounts.
type scoringStrategy int

const (
	leastAllocated scoringStrategy = iota
	mostAllocated
	requestedToCapacityRatio
	balanced
)

// resourceKind is where a resource is found in a framework.Resource.
type resourceKind int

const (
	kindScalar resourceKind = iota
	kindCPU
	kindMemory
	kindEphemeralStorage
	kindPods
)

func kindOf(name corev1.ResourceName) resourceKind {
	switch name {
	case corev1.ResourceCPU:
		return kindCPU
	case corev1.ResourceMemory:
		return kindMemory
	case corev1.ResourceEphemeralStorage:
		return kindEphemeralStorage
	case corev1.ResourcePods:
		return kindPods
	}
	return kindScalar
}

// newResourceScorer returns a scorer of resources by strategy; shape is
// RequestedToCapacityRatio's (scores in 0..MaxCustomPriorityScore).
func newResourceScorer(resources []ResourceSpec, useRequested bool, strategy scoringStrategy, shape []UtilizationShapePoint) resourceScorer {
	r := resourceScorer{resources: resources, kinds: make([]resourceKind, len(resources)), useRequested: useRequested, strategy: strategy}
	for i, res := range resources {
		r.kinds[i] = kindOf(corev1.ResourceName(res.Name))
	}
	if strategy == requestedToCapacityRatio {
		r.shape = make([]UtilizationShapePoint, len(shape))
		for i, p := range shape {
			r.shape[i] = UtilizationShapePoint{Utilization: p.Utilization, Score: p.Score * int32(framework.MaxNodeScore/MaxCustomPriorityScore)}
		}
	}
	return r
}

// podRequests returns what the pod requests of each resource, in the
// order of resources (cpu in millicores).
func (r *resourceScorer) podRequests(pod *corev1.Pod) []int64 {
	req := framework.PodRequests(pod, !r.useRequested)
	out := make([]int64, len(r.resources))
	for i, res := range r.resources {
		out[i] = amount(req, corev1.ResourceName(res.Name))
	}
	return out
}

// amount returns r's amount of the resource name.
func amount(r *framework.Resource, name corev1.ResourceName) int64 {
	switch name {
	case corev1.ResourceCPU:
		return r.MilliCPU
	case corev1.ResourceMemory:
		return r.Memory
	case corev1.ResourceEphemeralStorage:
		return r.EphemeralStorage
	case corev1.ResourcePods:
		return r.AllowedPodNumber
	}
	return r.Scalar[name]
}

// maxInlineResources is how many resources score without allocating
// (the amounts are kept on the stack).
const maxInlineResources = 8

// score scores the node for a pod requesting podRequests (as returned by
// podRequests).
func (r *resourceScorer) score(nodeInfo *framework.NodeInfo, podRequests []int64) int64 {
	n := len(r.resources)
	var requestedBuf, allocatableBuf [maxInlineResources]int64
	var requested, allocatable []int64
	if n <= maxInlineResources {
		requested, allocatable = requestedBuf[:n], allocatableBuf[:n]
	} else {
		requested, allocatable = make([]int64, n), make([]int64, n)
	}
	for i := range r.resources {
		alloc, req := r.nodeAmounts(nodeInfo, i, podRequests[i])
		if alloc == 0 {
			continue
		}
		allocatable[i], requested[i] = alloc, req
	}
	return r.scoreAmounts(requested, allocatable)
}

// scoreAmounts scores the requested and allocatable amounts by the
// strategy.
func (r *resourceScorer) scoreAmounts(requested, allocatable []int64) int64 {
	switch r.strategy {
	case mostAllocated:
		return weightedAverage(r.resources, requested, allocatable, mostAllocatedScore)
	case requestedToCapacityRatio:
		return requestedToCapacityRatioScore(r.resources, r.shape, requested, allocatable)
	case balanced:
		return balancedScore(requested, allocatable)
	}
	return weightedAverage(r.resources, requested, allocatable, leastAllocatedScore)
}

// nodeAmounts returns the node's allocatable amount of resource i and
// what would be requested of it with the pod. It returns 0, 0 for a
// resource that does not count: pods, and an extended resource the pod
// does not request or the node does not have.
func (r *resourceScorer) nodeAmounts(nodeInfo *framework.NodeInfo, i int, podRequest int64) (alloc, requested int64) {
	used := &nodeInfo.NonZeroRequested
	if r.useRequested {
		used = &nodeInfo.Requested
	}
	switch r.kinds[i] {
	case kindCPU:
		return nodeInfo.Allocatable.MilliCPU, used.MilliCPU + podRequest
	case kindMemory:
		return nodeInfo.Allocatable.Memory, used.Memory + podRequest
	case kindEphemeralStorage:
		return nodeInfo.Allocatable.EphemeralStorage, nodeInfo.Requested.EphemeralStorage + podRequest
	case kindPods:
		return 0, 0
	}
	if podRequest == 0 {
		return 0, 0
	}
	name := corev1.ResourceName(r.resources[i].Name)
	alloc, ok := nodeInfo.Allocatable.Scalar[name]
	if !ok {
		return 0, 0
	}
	return alloc, nodeInfo.Requested.Scalar[name] + podRequest
}

// weightedAverage returns the average of perResource over the resources
// that count on the node, weighted by the resources' weights, rounded
// down; 0 when none counts.
func weightedAverage(resources []ResourceSpec, requested, allocatable []int64, perResource func(requested, allocatable int64) int64) int64 {
	var sum, weights int64
	for i := range requested {
		if allocatable[i] == 0 {
			continue
		}
		sum += perResource(requested[i], allocatable[i]) * resources[i].Weight
		weights += resources[i].Weight
	}
	if weights == 0 {
		return 0
	}
	return sum / weights
}

// leastAllocatedScore scores the share of a resource left free:
// (allocatable - requested) × 100 / allocatable, 0 when overcommitted.
func leastAllocatedScore(req, alloc int64) int64 {
	if req > alloc {
		return framework.MinNodeScore
	}
	return (alloc - req) * framework.MaxNodeScore / alloc
}

// mostAllocatedScore scores the share of a resource requested:
// requested × 100 / allocatable, at most 100 (requests with the defaults
// for unset cpu and memory may exceed allocatable).
func mostAllocatedScore(req, alloc int64) int64 {
	return min(req, alloc) * framework.MaxNodeScore / alloc
}

// requestedToCapacityRatioScore maps each resource's utilisation
// (requested × 100 / allocatable, 100 when overcommitted) through the
// piecewise-linear shape, whose scores are scaled to 0..100, and averages
// by weight the resources scoring above 0, rounded to the nearest.
func requestedToCapacityRatioScore(resources []ResourceSpec, shape []UtilizationShapePoint, requested, allocatable []int64) int64 {
	var sum, weights int64
	for i := range requested {
		if allocatable[i] == 0 {
			continue
		}
		utilization := int64(100)
		if requested[i] <= allocatable[i] {
			utilization = requested[i] * 100 / allocatable[i]
		}
		if s := brokenLinear(shape, utilization); s > 0 {
			sum += s * resources[i].Weight
			weights += resources[i].Weight
		}
	}
	if weights == 0 {
		return 0
	}
	return int64(math.Round(float64(sum) / float64(weights)))
}

// brokenLinear is the piecewise-linear function through the shape's
// points (sorted by utilisation) at u, flat before the first and after
// the last, with integer arithmetic as in Kubernetes.
func brokenLinear(shape []UtilizationShapePoint, u int64) int64 {
	for i, p := range shape {
		if u > int64(p.Utilization) {
			continue
		}
		if i == 0 {
			return int64(p.Score)
		}
		prev := shape[i-1]
		return int64(prev.Score) + int64(p.Score-prev.Score)*(u-int64(prev.Utilization))/int64(p.Utilization-prev.Utilization)
	}
	return int64(shape[len(shape)-1].Score)
}

// balancedScore scores 100 × (1 - the standard deviation of the
// fractions requested/allocatable, each at most 1) over the resources that
// count on the node.
func balancedScore(requested, allocatable []int64) int64 {
	var buf [maxInlineResources]float64
	fractions := buf[:0]
	var total float64
	for i := range requested {
		if allocatable[i] == 0 {
			continue
		}
		f := min(float64(requested[i])/float64(allocatable[i]), 1)
		fractions = append(fractions, f)
		total += f
	}
	var std float64
	switch n := len(fractions); {
	case n == 2:
		// The usual cpu and memory: the deviation is half the difference.
		std = math.Abs(fractions[0]-fractions[1]) / 2
	case n > 2:
		mean := total / float64(n)
		var sum float64
		for _, f := range fractions {
			sum += (f - mean) * (f - mean)
		}
		std = math.Sqrt(sum / float64(n))
	}
	return int64((1 - std) * float64(framework.MaxNodeScore))
}
