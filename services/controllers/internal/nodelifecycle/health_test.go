package nodelifecycle

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

const grace = 40 * time.Second

// readyNode is a node created at t0-1h whose agent last posted its
// conditions (Ready = status) at heartbeat.
func readyNode(status corev1.ConditionStatus, heartbeat time.Time) *corev1.Node {
	hb := metav1.NewTime(heartbeat)
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, LastHeartbeatTime: hb, LastTransitionTime: hb},
			{Type: corev1.NodeReady, Status: status, Reason: "KubeletReady", LastHeartbeatTime: hb, LastTransitionTime: hb},
			{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse, LastHeartbeatTime: hb, LastTransitionTime: hb},
		}},
	}
}

func lease(renewed time.Time) *coordinationv1.Lease {
	t := metav1.NewMicroTime(renewed)
	return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{RenewTime: &t}}
}

func TestAssess(t *testing.T) {
	hb := t0.Add(-10 * time.Minute) // the agent posts status rarely; the Lease is its heartbeat
	seen := func(probe time.Time, renewed time.Time) *health {
		n := readyNode(corev1.ConditionTrue, hb)
		return &health{ready: condition(&n.Status, corev1.NodeReady).DeepCopy(), renewed: renewed, probe: probe, transition: probe}
	}
	for _, tc := range []struct {
		name         string
		prev         *health
		node         *corev1.Node
		lease        *coordinationv1.Lease
		now          time.Time
		wantUpdate   bool
		wantProbe    time.Time
		wantObserved corev1.ConditionStatus
		wantCurrent  corev1.ConditionStatus
	}{
		{name: "first sight: heard from now", node: readyNode(corev1.ConditionTrue, hb), now: t0,
			wantProbe: t0, wantObserved: corev1.ConditionTrue, wantCurrent: corev1.ConditionTrue},
		{name: "lease renewed: heard from", prev: seen(t0.Add(-30*time.Second), t0.Add(-30*time.Second)),
			node: readyNode(corev1.ConditionTrue, hb), lease: lease(t0.Add(-time.Second)), now: t0,
			wantProbe: t0, wantObserved: corev1.ConditionTrue, wantCurrent: corev1.ConditionTrue},
		{name: "lease unchanged, within grace", prev: seen(t0.Add(-30*time.Second), t0.Add(-30*time.Second)),
			node: readyNode(corev1.ConditionTrue, hb), lease: lease(t0.Add(-30 * time.Second)), now: t0,
			wantProbe: t0.Add(-30 * time.Second), wantObserved: corev1.ConditionTrue, wantCurrent: corev1.ConditionTrue},
		{name: "lease unchanged beyond grace: Unknown", prev: seen(t0.Add(-41*time.Second), t0.Add(-41*time.Second)),
			node: readyNode(corev1.ConditionTrue, hb), lease: lease(t0.Add(-41 * time.Second)), now: t0,
			wantUpdate: true, wantProbe: t0.Add(-41 * time.Second), wantObserved: corev1.ConditionTrue, wantCurrent: corev1.ConditionUnknown},
		{name: "a node's own clock does not matter: an old renewTime that changed is news",
			prev: seen(t0.Add(-41*time.Second), t0.Add(-3*time.Hour)),
			node: readyNode(corev1.ConditionTrue, hb), lease: lease(t0.Add(-2 * time.Hour)), now: t0,
			wantProbe: t0, wantObserved: corev1.ConditionTrue, wantCurrent: corev1.ConditionTrue},
		{name: "status heartbeat changed: heard from", prev: seen(t0.Add(-41*time.Second), time.Time{}),
			node: readyNode(corev1.ConditionTrue, t0.Add(-time.Second)), now: t0,
			wantProbe: t0, wantObserved: corev1.ConditionTrue, wantCurrent: corev1.ConditionTrue},
		{name: "already Unknown: nothing to write", prev: seen(t0.Add(-time.Hour), time.Time{}),
			node: readyNode(corev1.ConditionUnknown, hb), now: t0,
			wantProbe: t0.Add(-time.Hour), wantObserved: corev1.ConditionUnknown, wantCurrent: corev1.ConditionUnknown},
		{name: "reporting NotReady but silent: Unknown", prev: seen(t0.Add(-time.Hour), time.Time{}),
			node: readyNode(corev1.ConditionFalse, hb), now: t0,
			wantUpdate: true, wantProbe: t0.Add(-time.Hour), wantObserved: corev1.ConditionFalse, wantCurrent: corev1.ConditionUnknown},
		{name: "never reported, within the startup grace",
			node: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: metav1.NewTime(t0.Add(-30 * time.Second))}}, now: t0,
			wantProbe: t0.Add(-30 * time.Second), wantObserved: corev1.ConditionUnknown, wantCurrent: corev1.ConditionUnknown},
		{name: "never reported, beyond the startup grace: conditions added",
			node: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: metav1.NewTime(t0.Add(-2 * time.Minute))}}, now: t0,
			wantUpdate: true, wantProbe: t0.Add(-2 * time.Minute), wantObserved: corev1.ConditionUnknown, wantCurrent: corev1.ConditionUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := assess(tc.prev, tc.node, tc.lease, tc.now, grace, time.Minute)
			if (a.status != nil) != tc.wantUpdate {
				t.Fatalf("update %v, want %v", a.status != nil, tc.wantUpdate)
			}
			if !a.next.probe.Equal(tc.wantProbe) {
				t.Errorf("probe %v, want %v", a.next.probe, tc.wantProbe)
			}
			if a.observed != tc.wantObserved || a.current != tc.wantCurrent {
				t.Errorf("observed %s, current %s; want %s, %s", a.observed, a.current, tc.wantObserved, tc.wantCurrent)
			}
			if a.status == nil {
				return
			}
			for _, typ := range watchedConditions {
				c := condition(a.status, typ)
				if c == nil || c.Status != corev1.ConditionUnknown {
					t.Errorf("%s: %+v, want Unknown", typ, c)
				}
			}
			if c := condition(a.status, corev1.NodeNetworkUnavailable); c != nil && c.Status != corev1.ConditionFalse {
				t.Errorf("NetworkUnavailable changed: %+v", c)
			}
			r := condition(a.status, corev1.NodeReady)
			if tc.node.Status.Conditions == nil {
				if r.Reason != reasonNeverUpdated || r.Message != messageNeverUpdate {
					t.Errorf("Ready %+v", r)
				}
			} else if r.Reason != "NodeStatusUnknown" || r.Message != "Kubelet stopped posting node status." ||
				!r.LastTransitionTime.Time.Equal(tc.now) || !r.LastHeartbeatTime.Time.Equal(hb) {
				t.Errorf("Ready %+v", r)
			}
			if tc.node.Status.Conditions != nil && condition(&tc.node.Status, corev1.NodeReady).Status == corev1.ConditionUnknown {
				t.Error("the cached node was modified")
			}
			// The next pass sees the written status: nothing more to do.
			written := tc.node.DeepCopy()
			written.Status = *a.status
			again := assess(&a.next, written, tc.lease, tc.now.Add(time.Second), grace, time.Minute)
			if again.status != nil || again.observed != corev1.ConditionUnknown {
				t.Errorf("next pass: update %v, observed %s", again.status != nil, again.observed)
			}
		})
	}
}

func TestAssessRecovery(t *testing.T) {
	hb := t0.Add(-10 * time.Minute)
	a := assess(nil, readyNode(corev1.ConditionTrue, hb), lease(t0), t0, grace, time.Minute)
	a = assess(&a.next, readyNode(corev1.ConditionTrue, hb), lease(t0), t0.Add(time.Minute), grace, time.Minute)
	if a.status == nil {
		t.Fatal("a silent node was not marked Unknown")
	}
	silent := readyNode(corev1.ConditionTrue, hb)
	silent.Status = *a.status
	// The agent comes back: its Lease moves on.
	a = assess(&a.next, silent, lease(t0.Add(61*time.Second)), t0.Add(62*time.Second), grace, time.Minute)
	if a.status != nil || !a.next.probe.Equal(t0.Add(62*time.Second)) {
		t.Fatalf("after the Lease renewed: update %v, probe %v", a.status != nil, a.next.probe)
	}
}
