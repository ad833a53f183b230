package endpointutil

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TriggerTimeTracker computes the endpoints.kubernetes.io/last-change-
// trigger-time of a service's endpoints: the earliest time of the
// changes (pod readiness transitions, the service's creation) not yet
// reflected in them, which lets consumers measure how long a change took
// to reach the endpoints. It remembers, per service, what the last sync
// saw. Safe for concurrent use (a service is synced by one worker at a
// time).
type TriggerTimeTracker struct {
	mu       sync.Mutex
	services map[string]*triggerState
}

type triggerState struct {
	service time.Time
	pods    map[string]time.Time
}

// NewTriggerTimeTracker returns an empty tracker.
func NewTriggerTimeTracker() *TriggerTimeTracker {
	return &TriggerTimeTracker{services: map[string]*triggerState{}}
}

// Compute returns the trigger time of svc's endpoints given its pods now,
// and remembers what it saw. The first call for a service returns its
// creation time; later ones the earliest change since the previous call
// (zero when nothing changed).
func (t *TriggerTimeTracker) Compute(svc *corev1.Service, pods []*corev1.Pod) time.Time {
	key := svc.Namespace + "/" + svc.Name
	t.mu.Lock()
	prev, known := t.services[key]
	t.mu.Unlock()

	next := &triggerState{service: svc.CreationTimestamp.Time, pods: make(map[string]time.Time, len(pods))}
	var earliest time.Time
	consider := func(at time.Time) {
		if earliest.IsZero() || at.Before(earliest) {
			earliest = at
		}
	}
	for _, pod := range pods {
		c := readyCondition(pod)
		if c == nil || c.LastTransitionTime.IsZero() {
			continue
		}
		at := c.LastTransitionTime.Time
		next.pods[pod.Name] = at
		if !known || at.After(prev.pods[pod.Name]) {
			consider(at)
		}
	}
	if !known || next.service.After(prev.service) {
		consider(next.service)
	}

	t.mu.Lock()
	t.services[key] = next
	t.mu.Unlock()
	if !known {
		return svc.CreationTimestamp.Time
	}
	return earliest
}

// Forget drops what is known of the service namespace/name (deleted).
func (t *TriggerTimeTracker) Forget(namespace, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.services, namespace+"/"+name)
}

// FormatTriggerTime is the annotation value of a trigger time.
func FormatTriggerTime(at time.Time) string {
	return at.UTC().Format(time.RFC3339Nano)
}
