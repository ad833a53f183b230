package nodelifecycle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// monitor is one health pass over every node.
func (nc *Controller) monitor(ctx context.Context) {
	start := nc.clock.Now()
	defer func() { nc.metrics.passDuration.Observe(nc.clock.Since(start).Seconds()) }()
	nodes, err := nc.nodeLister.List(labels.Everything())
	if err != nil {
		nc.log.Error("list nodes", "err", err)
		return
	}
	slices.SortFunc(nodes, func(a, b *corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	seen := make(map[string]bool, len(nodes))
	for _, node := range nodes {
		seen[node.Name] = true
		if uid, ok := nc.known[node.Name]; ok && uid == node.UID {
			continue
		}
		nc.log.Info("new node", "node", node.Name, "zone", zoneKey(node))
		nc.recordNodeEvent(node.Name, node.UID, "RegisteredNode", fmt.Sprintf("Registered Node %s in Controller", node.Name))
		nc.known[node.Name] = node.UID
		nc.queue(zoneKey(node))
		// Taints left by an earlier controller are lifted; they come
		// back if the node is still unhealthy after its grace period.
		nc.markReachable(ctx, node)
	}
	for n, uid := range nc.known {
		if seen[n] {
			continue
		}
		nc.log.Info("node deleted", "node", n)
		nc.recordNodeEvent(n, uid, "RemovingNode", fmt.Sprintf("Removing Node %s from Controller", n))
		delete(nc.known, n)
		delete(nc.health, n)
		delete(nc.needsRetry, n)
		for _, q := range nc.queues {
			q.remove(n)
		}
	}
	zones := map[string][]corev1.ConditionStatus{}
	for _, node := range nodes {
		nc.checkNode(ctx, node, zones)
	}
	nc.handleDisruption(ctx, zones, nodes)
}

// checkNode assesses one node's health, writes Unknown conditions when it
// went silent, queues or lifts its NoExecute taint, and marks its pods
// not ready when it stopped being Ready.
func (nc *Controller) checkNode(ctx context.Context, node *corev1.Node, zones map[string][]corev1.ConditionStatus) {
	a, err := nc.updateHealth(ctx, node)
	if err != nil {
		nc.log.Error("updating node health; no pods will be evicted", "node", node.Name, "err", err)
		return
	}
	if _, excluded := node.Labels[excludeDisruptionLabel]; !excluded {
		z := zoneKey(node)
		zones[z] = append(zones[z], a.current)
	}
	pods, err := controller.PodsOnNode(nc.podInformer, node.Name)
	if err != nil {
		if a.current != corev1.ConditionTrue && a.observed == corev1.ConditionTrue {
			nc.needsRetry[node.Name] = true
		}
		nc.log.Error("list pods of node", "node", node.Name, "err", err)
		return
	}
	// As Kubernetes, taints follow the status the node was seen with:
	// a node just marked Unknown is tainted on the next pass.
	nc.processTaints(ctx, node, a.observed)
	switch {
	case a.current != corev1.ConditionTrue && a.observed == corev1.ConditionTrue:
		nc.log.Info("node not ready", "node", node.Name, "ready", a.current)
		nc.recordStatusChange(node, "NodeNotReady")
		fallthrough
	case nc.needsRetry[node.Name] && a.observed != corev1.ConditionTrue,
		// No agent to fight with: keep its pods not ready.
		a.current == corev1.ConditionUnknown:
		if err := nc.markPodsNotReady(ctx, pods, node.Name); err != nil {
			nc.log.Warn("marking pods not ready; will retry", "node", node.Name, "err", err)
			nc.needsRetry[node.Name] = true
			return
		}
	}
	delete(nc.needsRetry, node.Name)
}

// updateHealth assesses node and writes its Unknown conditions when
// due, retrying against a fresh copy on failure; what was learnt is kept
// only once written.
func (nc *Controller) updateHealth(ctx context.Context, node *corev1.Node) (assessment, error) {
	var lease = nc.lease(node.Name)
	var err error
	for try := 1; ; try++ {
		a := assess(nc.health[node.Name], node, lease, nc.clock.Now(), nc.grace, startupGrace)
		if a.status == nil {
			nc.health[node.Name] = &a.next
			return a, nil
		}
		next := node.DeepCopy()
		next.Status = *a.status
		if _, err = nc.nodes.UpdateStatus(ctx, next, metav1.UpdateOptions{}); err == nil {
			nc.log.Info("node stopped reporting; conditions set to Unknown", "node", node.Name,
				"lastHeard", a.next.probe.Format(time.RFC3339))
			nc.health[node.Name] = &a.next
			return a, nil
		}
		if try == statusRetries || apierrors.IsNotFound(err) {
			return a, fmt.Errorf("update status of node %s: %w", node.Name, err)
		}
		if node, err = nc.nodes.Get(ctx, "", node.Name, metav1.GetOptions{}); err != nil {
			return a, fmt.Errorf("get node %s: %w", node.Name, err)
		}
	}
}

// queue returns the taint queue of zone, made on first use at the
// normal rate.
func (nc *Controller) queue(zone string) *taintQueue {
	q, ok := nc.queues[zone]
	if !ok {
		q = newTaintQueue(nc.rates.primary, nc.clock.Now())
		nc.queues[zone] = q
	}
	return q
}

// processTaints makes the node's NoExecute taint follow its Ready status:
// swapped at once between unreachable and not-ready, queued (rate
// limited) when newly unhealthy, lifted when Ready.
func (nc *Controller) processTaints(ctx context.Context, node *corev1.Node, ready corev1.ConditionStatus) {
	var want, other corev1.Taint
	switch ready {
	case corev1.ConditionTrue:
		nc.markReachable(ctx, node)
		return
	case corev1.ConditionFalse:
		want, other = notReadyTaint, unreachableTaint
	default:
		want, other = unreachableTaint, notReadyTaint
	}
	if hasTaint(node.Spec.Taints, other) {
		if err := nc.swapTaints(ctx, node.Name, []corev1.Taint{want}, []corev1.Taint{other}); err != nil {
			nc.log.Warn("swapping NoExecute taints; will retry", "node", node.Name, "err", err)
		}
		return
	}
	q := nc.queue(zoneKey(node))
	if !hasTaint(node.Spec.Taints, want) {
		q.requeue(node.Name)
	} else {
		q.add(node.Name)
	}
}

// markReachable lifts the node's NoExecute taints and drops it from its
// taint queue.
func (nc *Controller) markReachable(ctx context.Context, node *corev1.Node) {
	nc.queue(zoneKey(node)).remove(node.Name)
	if !hasTaint(node.Spec.Taints, unreachableTaint) && !hasTaint(node.Spec.Taints, notReadyTaint) {
		return
	}
	if err := nc.swapTaints(ctx, node.Name, nil, []corev1.Taint{unreachableTaint, notReadyTaint}); err != nil {
		nc.log.Warn("lifting NoExecute taints; will retry", "node", node.Name, "err", err)
		return
	}
	nc.log.Info("node healthy again: NoExecute taints lifted", "node", node.Name)
}

// taintPass taints the queued nodes the zones' rates allow.
func (nc *Controller) taintPass(ctx context.Context) {
	now := nc.clock.Now()
	for zone, q := range nc.queues {
		q.try(now, func(n string) bool {
			node, err := nc.nodeLister.Get(n)
			if apierrors.IsNotFound(err) {
				return true
			}
			if err != nil {
				return false
			}
			var want, other corev1.Taint
			switch readyStatus(node) {
			case corev1.ConditionFalse:
				want, other = notReadyTaint, unreachableTaint
			case corev1.ConditionUnknown:
				want, other = unreachableTaint, notReadyTaint
			default:
				return true // ready again
			}
			if err := nc.swapTaints(ctx, n, []corev1.Taint{want}, []corev1.Taint{other}); err != nil {
				nc.log.Warn("tainting node; will retry", "node", n, "taint", want.Key, "err", err)
				return false
			}
			nc.log.Info("node tainted", "node", n, "taint", want.ToString())
			nc.metrics.evictions.WithLabelValues(zone).Inc()
			return true
		})
	}
}

// handleDisruption updates the zones' states and their tainting rates,
// as Kubernetes: when every zone is fully disrupted the controller
// assumes it is the one cut off, lifts all NoExecute taints and stops
// tainting; when that ends, every node gets a fresh grace period.
func (nc *Controller) handleDisruption(ctx context.Context, zones map[string][]corev1.ConditionStatus, nodes []*corev1.Node) {
	now := nc.clock.Now()
	states := map[string]zoneState{}
	allFull := true
	for zone, ready := range zones {
		unhealthy, st := computeZoneState(ready, nc.threshold)
		nc.metrics.zoneSize.WithLabelValues(zone).Set(float64(len(ready)))
		nc.metrics.zoneHealth.WithLabelValues(zone).Set(float64(100*(len(ready)-unhealthy)) / float64(len(ready)))
		nc.metrics.unhealthy.WithLabelValues(zone).Set(float64(unhealthy))
		if st != stateFullDisruption {
			allFull = false
		}
		states[zone] = st
		if _, ok := nc.zoneStates[zone]; !ok {
			nc.zoneStates[zone] = stateInitial
		}
	}
	allWereFull := true
	for zone, st := range nc.zoneStates {
		if _, ok := zones[zone]; !ok {
			nc.metrics.forgetZone(zone)
			delete(nc.zoneStates, zone)
			continue
		}
		if st != stateFullDisruption {
			allWereFull = false
		}
	}
	if allFull && allWereFull {
		return
	}
	switch {
	case allFull:
		nc.log.Warn("all nodes are not ready: entering full disruption mode; NoExecute taints lifted, no evictions")
		for _, node := range nodes {
			nc.markReachable(ctx, node)
		}
		for zone := range nc.zoneStates {
			nc.queue(zone).limiter.setRate(0, now)
			nc.zoneStates[zone] = stateFullDisruption
		}
	case allWereFull:
		nc.log.Info("some nodes are ready again: leaving full disruption mode")
		for _, h := range nc.health {
			h.probe, h.transition = now, now
		}
		for zone := range nc.zoneStates {
			nc.queue(zone).limiter.setRate(nc.rates.forZone(states[zone], len(zones[zone])), now)
			nc.zoneStates[zone] = states[zone]
		}
	default:
		for zone, st := range nc.zoneStates {
			if st == states[zone] {
				continue
			}
			nc.log.Info("zone state changed", "zone", zone, "from", st, "to", states[zone])
			nc.queue(zone).limiter.setRate(nc.rates.forZone(states[zone], len(zones[zone])), now)
			nc.zoneStates[zone] = states[zone]
		}
	}
}
