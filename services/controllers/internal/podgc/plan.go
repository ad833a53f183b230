package podgc

import (
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// evictedReason is the status reason of pods a node agent evicted.
const evictedReason = "Evicted"

// gcPlan is what one pass collects.
type gcPlan struct {
	// orphans are the pods bound to nodes missing from the cache, by
	// node; a node must be confirmed gone before its pods are deleted.
	orphans map[string][]*corev1.Pod
	// unscheduled are terminating pods that never got a node.
	unscheduled []*corev1.Pod
	// outOfService are terminating pods on not-ready nodes tainted
	// out-of-service.
	outOfService []*corev1.Pod
	// terminated are the finished pods beyond the threshold, in the order
	// they go.
	terminated []*corev1.Pod
}

// plan decides what a pass collects from pods, given the nodes by name
// and the number of finished pods to keep (0: keep all).
func plan(pods []*corev1.Pod, nodes map[string]*corev1.Node, threshold int) gcPlan {
	var p gcPlan
	var finished []*corev1.Pod
	for _, pod := range pods {
		if forceDeleted(pod) {
			continue // only finalizers hold it now
		}
		terminating := pod.DeletionTimestamp != nil
		switch node, bound := nodes[pod.Spec.NodeName]; {
		case pod.Spec.NodeName == "":
			if terminating {
				p.unscheduled = append(p.unscheduled, pod)
			}
			continue
		case !bound:
			if p.orphans == nil {
				p.orphans = map[string][]*corev1.Pod{}
			}
			p.orphans[pod.Spec.NodeName] = append(p.orphans[pod.Spec.NodeName], pod)
			continue
		case terminating && outOfService(node):
			p.outOfService = append(p.outOfService, pod)
			continue
		}
		if !terminating && terminal(pod) {
			finished = append(finished, pod)
		}
	}
	sortOldestFirst(p.unscheduled)
	sortOldestFirst(p.outOfService)
	if excess := len(finished) - threshold; threshold > 0 && excess > 0 {
		sort.SliceStable(finished, func(i, j int) bool {
			a, b := finished[i], finished[j]
			if ea, eb := a.Status.Reason == evictedReason, b.Status.Reason == evictedReason; ea != eb {
				return ea
			}
			return olderThan(a, b)
		})
		p.terminated = finished[:excess]
	}
	return p
}

// forceDeleted: deleted with grace period 0, waiting for finalizers.
func forceDeleted(pod *corev1.Pod) bool {
	g := pod.DeletionGracePeriodSeconds
	return pod.DeletionTimestamp != nil && g != nil && *g == 0
}

func terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// outOfService: the node is not ready and an administrator declared it
// out of service (node.kubernetes.io/out-of-service), so its pods will
// never be confirmed gone by its agent.
func outOfService(node *corev1.Node) bool {
	if nodeReady(node) {
		return false
	}
	return slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeOutOfService })
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func sortOldestFirst(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool { return olderThan(pods[i], pods[j]) })
}

func olderThan(a, b *corev1.Pod) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}
