package daemonset

import (
	"slices"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// nodePods maps node names to the daemon pods meant for them (bound
// there, or pinned there by their affinity).
type nodePods map[string][]*corev1.Pod

// managePlan is what a sync must do to keep one daemon pod per eligible
// node.
type managePlan struct {
	// createOn names the nodes that need a daemon pod.
	createOn []string
	// deletes are the pods to delete: extra pods on a node, pods on nodes
	// they may no longer run on, unscheduled pods of nodes that are gone,
	// and failed pods (also listed in failed).
	deletes []*corev1.Pod
	// failed are the failed pods among deletes, by node.
	failed map[string][]*corev1.Pod
	// backingOff names the nodes whose failed pod waits for its back-off.
	backingOff []string
}

// planManage decides which nodes need a daemon pod of ds and which pods
// must go. inBackoff reports whether a failed pod on a node must wait
// before it is replaced again.
func planManage(ds *appsv1.DaemonSet, nodes []*corev1.Node, pods nodePods, hash string, now time.Time,
	inBackoff func(node string) bool) managePlan {
	var plan managePlan
	known := make(map[string]bool, len(nodes))
	for _, node := range nodes {
		known[node.Name] = true
		run, keep := shouldRun(node, ds)
		onNode := pods[node.Name]
		switch {
		case run && len(onNode) == 0:
			plan.createOn = append(plan.createOn, node.Name)
		case keep:
			plan.keepOne(ds, node.Name, run, onNode, hash, now, inBackoff)
		default:
			// The pod may no longer run there: all go.
			for _, pod := range onNode {
				if pod.DeletionTimestamp == nil {
					plan.deletes = append(plan.deletes, pod)
				}
			}
		}
	}
	// Pods pinned to nodes that are gone and that no scheduler will ever
	// bind; pods bound to nodes that are gone are the pod GC's.
	for _, name := range sortedKeys(pods) {
		if known[name] {
			continue
		}
		for _, pod := range pods[name] {
			if pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil {
				plan.deletes = append(plan.deletes, pod)
			}
		}
	}
	return plan
}

// keepOne handles a node whose daemon pods may stay: failed pods are
// deleted (unless their node is backing off), and of the running ones one
// stays — the oldest — or, when the DaemonSet surges, the oldest updated
// and the oldest old one until the updated one is available. Without
// surge, a node whose pods are all going gets its new pod once they are
// gone.
func (p *managePlan) keepOne(ds *appsv1.DaemonSet, node string, run bool, onNode []*corev1.Pod, hash string, now time.Time,
	inBackoff func(string) bool) {
	var running []*corev1.Pod
	for _, pod := range onNode {
		switch {
		case pod.DeletionTimestamp != nil:
		case pod.Status.Phase == corev1.PodFailed:
			if inBackoff(node) {
				p.backingOff = append(p.backingOff, node)
				continue
			}
			if p.failed == nil {
				p.failed = map[string][]*corev1.Pod{}
			}
			p.failed[node] = append(p.failed[node], pod)
			p.deletes = append(p.deletes, pod)
		case pod.Status.Phase == corev1.PodSucceeded:
			// A daemon pod is never meant to finish: replace it.
			p.deletes = append(p.deletes, pod)
		default:
			running = append(running, pod)
		}
	}
	surge := allowsSurge(ds)
	if len(running) == 0 && surge && run {
		// Surging, a node whose pods are all going (terminating or
		// failed) gets its new pod at once, not once they are gone.
		p.createOn = append(p.createOn, node)
	}
	if len(running) <= 1 {
		return
	}
	sortOldestFirst(running)
	if !surge {
		p.deletes = append(p.deletes, running[1:]...)
		return
	}
	// Keep the oldest updated pod and the oldest old one.
	var firstUpdated, firstOld *corev1.Pod
	for _, pod := range running {
		updated := pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash
		switch {
		case updated && firstUpdated == nil:
			firstUpdated = pod
		case !updated && firstOld == nil:
			firstOld = pod
		default:
			p.deletes = append(p.deletes, pod)
		}
	}
	if firstUpdated != nil && firstOld != nil &&
		(!podReady(firstOld) || podAvailable(firstUpdated, ds.Spec.MinReadySeconds, now)) {
		p.deletes = append(p.deletes, firstOld)
	}
}

// sortOldestFirst orders pods bound to a node first, then by creation
// time, then by name (Kubernetes' podByCreationTimestampAndPhase).
func sortOldestFirst(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if (a.Spec.NodeName != "") != (b.Spec.NodeName != "") {
			return a.Spec.NodeName != ""
		}
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.Name < b.Name
		}
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	})
}

func sortedKeys(m nodePods) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// podReady reports whether the pod's Ready condition is True.
func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podAvailable reports whether the pod has been ready for minReady
// seconds at now.
func podAvailable(pod *corev1.Pod, minReady int32, now time.Time) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type != corev1.PodReady {
			continue
		}
		if c.Status != corev1.ConditionTrue {
			return false
		}
		if minReady <= 0 {
			return true
		}
		ready := time.Duration(minReady) * time.Second
		return !c.LastTransitionTime.IsZero() && c.LastTransitionTime.Add(ready).Before(now)
	}
	return false
}
