package daemonset

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// rollingPlan is one step of a rolling update: old pods to delete (their
// nodes get an updated pod from the next sync's manage step) and, when
// surging, nodes that get an updated pod beside their old one.
type rollingPlan struct {
	deletes  []*corev1.Pod
	createOn []string
}

// allowsSurge reports whether a rolling update starts new pods before
// the old ones go (maxSurge > 0).
func allowsSurge(ds *appsv1.DaemonSet) bool {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil || ru.MaxSurge == nil {
		return false
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, 100, true)
	return err == nil && n > 0
}

// updateBudget returns how many nodes may surge and how many may be
// unavailable during a rolling update over desired nodes; percentages
// round up. With neither allowed, one node may be unavailable.
func updateBudget(ds *appsv1.DaemonSet, desired int) (maxSurge, maxUnavailable int, err error) {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ru != nil {
		if ru.MaxSurge != nil {
			if maxSurge, err = intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, desired, true); err != nil {
				return 0, 0, fmt.Errorf("maxSurge: %w", err)
			}
		}
		if ru.MaxUnavailable != nil {
			if maxUnavailable, err = intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, desired, true); err != nil {
				return 0, 0, fmt.Errorf("maxUnavailable: %w", err)
			}
		}
	}
	if desired > 0 && maxSurge == 0 && maxUnavailable == 0 {
		maxUnavailable = 1
	}
	return maxSurge, maxUnavailable, nil
}

// updatedAndOld splits the pods of a node that are not terminating into
// the one made from the current template and the one made from an older
// one; ok is false when there are more of either (manage prunes them
// first).
func updatedAndOld(pods []*corev1.Pod, hash, generation string) (updated, old *corev1.Pod, ok bool) {
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		if isUpdated(pod, hash, generation) {
			if updated != nil {
				return nil, nil, false
			}
			updated = pod
		} else {
			if old != nil {
				return nil, nil, false
			}
			old = pod
		}
	}
	return updated, old, true
}

// planRollingUpdate decides the next step of a RollingUpdate, as
// Kubernetes does. Without surge, old pods are deleted while fewer than
// maxUnavailable nodes are without an available pod (old pods that are
// not available themselves go at once); with surge, updated pods are
// started beside available old ones on at most maxSurge nodes at a time,
// and an old pod goes once the updated one beside it is available.
func planRollingUpdate(ds *appsv1.DaemonSet, nodes []*corev1.Node, pods nodePods, hash string, now time.Time) (rollingPlan, error) {
	generation := templateGeneration(ds)
	// Nodes that want a pod count even while they have none.
	byNode := make(nodePods, len(pods))
	for name, p := range pods {
		byNode[name] = p
	}
	desired := 0
	for _, node := range nodes {
		if run, _ := shouldRun(node, ds); run {
			desired++
			if _, ok := byNode[node.Name]; !ok {
				byNode[node.Name] = nil
			}
		}
	}
	maxSurge, maxUnavailable, err := updateBudget(ds, desired)
	if err != nil {
		return rollingPlan{}, fmt.Errorf("rolling update of %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	minReady := ds.Spec.MinReadySeconds
	var plan rollingPlan
	if maxSurge == 0 {
		unavailable := 0
		var replace, candidates []*corev1.Pod
		for _, name := range sortedKeys(byNode) {
			updated, old, ok := updatedAndOld(byNode[name], hash, generation)
			switch {
			case !ok, old == nil && updated == nil, old != nil && updated != nil:
				// manage creates or prunes here first.
				unavailable++
			case updated != nil:
				if !podAvailable(updated, minReady, now) {
					unavailable++
				}
			case !podAvailable(old, minReady, now):
				// Not serving anyway: replace it without counting.
				replace = append(replace, old)
			case unavailable < maxUnavailable:
				candidates = append(candidates, old)
			}
		}
		budget := min(max(maxUnavailable-unavailable, 0), len(candidates))
		plan.deletes = append(replace, candidates[:budget]...)
		return plan, nil
	}
	surging := 0
	var allowed, candidates []string
	for _, name := range sortedKeys(byNode) {
		updated, old, ok := updatedAndOld(byNode[name], hash, generation)
		switch {
		case !ok:
			surging++
		case old == nil:
			// manage creates here if needed.
		case updated == nil:
			switch {
			case !podAvailable(old, minReady, now):
				allowed = append(allowed, name)
			case surging < maxSurge:
				candidates = append(candidates, name)
			}
		case !podAvailable(updated, minReady, now):
			surging++
		default:
			plan.deletes = append(plan.deletes, old)
		}
	}
	budget := min(max(maxSurge-surging, 0), len(candidates))
	plan.createOn = append(allowed, candidates[:budget]...)
	return plan, nil
}
