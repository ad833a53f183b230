package nodelifecycle

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Kubernetes' reasons and messages for conditions the controller sets.
const (
	reasonUnknown      = "NodeStatusUnknown"
	messageUnknown     = "Kubelet stopped posting node status."
	reasonNeverUpdated = "NodeStatusNeverUpdated"
	messageNeverUpdate = "Kubelet never posted node status."
)

// watchedConditions are the conditions set to Unknown when a node goes
// silent (NetworkUnavailable is the network's, not the agent's).
var watchedConditions = []corev1.NodeConditionType{
	corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure,
}

// health is what the controller knows of a node between passes.
type health struct {
	// ready is the Ready condition last seen (nil: none).
	ready *corev1.NodeCondition
	// renewed is the Lease's renewTime last seen (zero: no Lease yet).
	renewed time.Time
	// probe is when the controller last heard from the node: its Ready
	// heartbeat or its Lease changed.
	probe time.Time
	// transition is when the controller saw Ready change.
	transition time.Time
}

// assessment is the outcome of looking at a node.
type assessment struct {
	next health
	// observed is the Ready status as the node had it, current as it is
	// after the update (Unknown when the node went silent).
	observed, current corev1.ConditionStatus
	// status, when set, is the node status to write.
	status *corev1.NodeStatus
}

// assess compares what the node shows (its status and Lease) with what
// the controller saw before (prev, nil the first time) at now, as
// Kubernetes' tryUpdateNodeHealth: a node not heard from for grace (or
// startupGrace, when it never reported Ready) gets its watched conditions
// set to Unknown.
func assess(prev *health, node *corev1.Node, lease *coordinationv1.Lease, now time.Time, grace, startupGrace time.Duration) assessment {
	ready := condition(&node.Status, corev1.NodeReady)
	observed := corev1.ConditionUnknown
	period := grace
	var h health
	if prev != nil {
		h = *prev
	}
	if ready == nil {
		// Never reported: count from the node's creation.
		period = startupGrace
		if prev == nil {
			h = health{probe: node.CreationTimestamp.Time, transition: node.CreationTimestamp.Time}
		}
		h.ready = nil
	} else {
		observed = ready.Status
		switch {
		case prev == nil, h.ready == nil:
			h = health{ready: ready.DeepCopy(), renewed: h.renewed, probe: now, transition: now}
		case !h.ready.LastHeartbeatTime.Equal(&ready.LastHeartbeatTime):
			transition := h.transition
			if !h.ready.LastTransitionTime.Equal(&ready.LastTransitionTime) {
				transition = now
			}
			h = health{ready: ready.DeepCopy(), renewed: h.renewed, probe: now, transition: transition}
		}
	}
	if lease != nil && lease.Spec.RenewTime != nil && (h.renewed.IsZero() || h.renewed.Before(lease.Spec.RenewTime.Time)) {
		h.renewed = lease.Spec.RenewTime.Time
		h.probe = now
	}
	a := assessment{next: h, observed: observed, current: observed}
	if !now.After(h.probe.Add(period)) {
		return a
	}
	st := node.Status.DeepCopy()
	at := metav1.NewTime(now)
	for _, typ := range watchedConditions {
		c := condition(st, typ)
		if c == nil {
			st.Conditions = append(st.Conditions, corev1.NodeCondition{
				Type: typ, Status: corev1.ConditionUnknown, Reason: reasonNeverUpdated, Message: messageNeverUpdate,
				LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: at,
			})
			continue
		}
		if c.Status != corev1.ConditionUnknown {
			c.Status, c.Reason, c.Message, c.LastTransitionTime = corev1.ConditionUnknown, reasonUnknown, messageUnknown, at
		}
	}
	newReady := condition(st, corev1.NodeReady)
	if ready != nil && equality.Semantic.DeepEqual(newReady, ready) {
		return a // already Unknown
	}
	a.status = st
	a.current = corev1.ConditionUnknown
	a.next.ready = newReady.DeepCopy()
	a.next.transition = now
	return a
}

// condition returns the condition of type typ in st (a pointer into
// st), or nil.
func condition(st *corev1.NodeStatus, typ corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == typ {
			return &st.Conditions[i]
		}
	}
	return nil
}

// readyStatus is the node's Ready status (Unknown when it has none).
func readyStatus(node *corev1.Node) corev1.ConditionStatus {
	if c := condition(&node.Status, corev1.NodeReady); c != nil {
		return c.Status
	}
	return corev1.ConditionUnknown
}
