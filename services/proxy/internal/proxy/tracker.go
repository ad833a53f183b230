package proxy

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// Tracker keeps the latest Services and EndpointSlices from the
// informers and remembers which Services changed since the last Take.
// Its handlers only record and call Notify; the proxier reads the state
// when it syncs (level-triggered: a burst of changes to one Service is
// one change).
type Tracker struct {
	nodeName string
	notify   func()
	// start is when the tracker was made: trigger times before it are
	// not this proxy's to measure (the first list after a restart brings
	// every slice with the time of its last change).
	start time.Time

	mu       sync.Mutex
	services map[types.NamespacedName]*corev1.Service
	slices   map[types.NamespacedName]map[string]*discoveryv1.EndpointSlice
	// dirty holds the Services changed since the last Take; svcDirty and
	// epDirty say by what (for the pending-changes gauges).
	dirty, svcDirty, epDirty map[types.NamespacedName]struct{}
	// triggers holds, per Service with pending endpoint changes, the
	// earliest last-change-trigger-time among them (network programming
	// latency).
	triggers map[types.NamespacedName]time.Time
}

// NewTracker returns a tracker for the proxier of node nodeName; notify
// is called (without locks held) after every change.
func NewTracker(nodeName string, notify func()) *Tracker {
	return &Tracker{
		nodeName: nodeName, notify: notify, start: time.Now(),
		services: map[types.NamespacedName]*corev1.Service{},
		slices:   map[types.NamespacedName]map[string]*discoveryv1.EndpointSlice{},
		dirty:    map[types.NamespacedName]struct{}{},
		svcDirty: map[types.NamespacedName]struct{}{},
		epDirty:  map[types.NamespacedName]struct{}{},
		triggers: map[types.NamespacedName]time.Time{},
	}
}

// ServiceHandler is the Service informer's event handler.
func (t *Tracker) ServiceHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.setService(obj, false) },
		UpdateFunc: func(_, obj any) { t.setService(obj, false) },
		DeleteFunc: func(obj any) { t.setService(obj, true) },
	}
}

// SliceHandler is the EndpointSlice informer's event handler.
func (t *Tracker) SliceHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.setSlice(obj, false) },
		UpdateFunc: func(_, obj any) { t.setSlice(obj, false) },
		DeleteFunc: func(obj any) { t.setSlice(obj, true) },
	}
}

func unwrap(obj any) any {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return d.Obj
	}
	return obj
}

func (t *Tracker) setService(obj any, deleted bool) {
	svc, ok := unwrap(obj).(*corev1.Service)
	if !ok {
		return
	}
	name := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	t.mu.Lock()
	if deleted {
		delete(t.services, name)
	} else {
		t.services[name] = svc
	}
	t.dirty[name] = struct{}{}
	t.svcDirty[name] = struct{}{}
	t.mu.Unlock()
	t.notify()
}

func (t *Tracker) setSlice(obj any, deleted bool) {
	s, ok := unwrap(obj).(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	svc := s.Labels[discoveryv1.LabelServiceName]
	if svc == "" {
		return
	}
	name := types.NamespacedName{Namespace: s.Namespace, Name: svc}
	t.mu.Lock()
	m := t.slices[name]
	if deleted {
		delete(m, s.Name)
		if len(m) == 0 {
			delete(t.slices, name)
		}
	} else {
		if m == nil {
			m = map[string]*discoveryv1.EndpointSlice{}
			t.slices[name] = m
		}
		m[s.Name] = s
		if ts, ok := triggerTime(s); ok && ts.After(t.start) {
			t.addTrigger(name, ts)
		}
	}
	t.dirty[name] = struct{}{}
	t.epDirty[name] = struct{}{}
	t.mu.Unlock()
	t.notify()
}

// triggerTime returns the slice's last-change-trigger-time annotation.
func triggerTime(s *discoveryv1.EndpointSlice) (time.Time, bool) {
	v, ok := s.Annotations[corev1.EndpointsLastChangeTriggerTime]
	if !ok {
		return time.Time{}, false
	}
	ts, err := time.Parse(time.RFC3339Nano, v)
	return ts, err == nil
}

// addTrigger keeps ts for name if it is the earliest pending one. Called
// with mu held.
func (t *Tracker) addTrigger(name types.NamespacedName, ts time.Time) {
	if cur, ok := t.triggers[name]; !ok || ts.Before(cur) {
		t.triggers[name] = ts
	}
}

// Pending returns how many Services have service and endpoint changes
// not yet taken.
func (t *Tracker) Pending() (services, endpoints int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.svcDirty), len(t.epDirty)
}

// ServiceState is one Service as the proxier programs it. Ports is empty
// when the Service is gone or not proxied.
type ServiceState struct {
	Name      types.NamespacedName
	Service   *corev1.Service // nil when deleted
	Ports     []*ServicePort
	Endpoints EndpointsMap
	Problems  []Problem
}

// Changes is what Take returns.
type Changes struct {
	// Services are the changed Services (every Service when all was
	// asked for).
	Services []ServiceState
	// Triggers are, per Service whose EndpointSlices were added or
	// updated since the tracker started, the earliest
	// last-change-trigger-time among those changes. A deleted slice
	// brings none: its annotation is the time of its last update, not of
	// the deletion (as in kube-proxy). Service changes bring none either.
	Triggers map[types.NamespacedName]time.Time
}

// Take returns the Services changed since the last Take (or all of them,
// and every Service that changed, when all is set) and forgets the
// changes. The objects are the informers' and must not be modified.
func (t *Tracker) Take(all bool) Changes {
	t.mu.Lock()
	names := t.dirty
	if all {
		for n := range t.services {
			names[n] = struct{}{}
		}
		for n := range t.slices {
			names[n] = struct{}{}
		}
	}
	type raw struct {
		name   types.NamespacedName
		svc    *corev1.Service
		slices []*discoveryv1.EndpointSlice
	}
	raws := make([]raw, 0, len(names))
	for n := range names {
		r := raw{name: n, svc: t.services[n]}
		for _, s := range t.slices[n] {
			r.slices = append(r.slices, s)
		}
		raws = append(raws, r)
	}
	ch := Changes{Triggers: t.triggers}
	t.dirty = map[types.NamespacedName]struct{}{}
	t.svcDirty = map[types.NamespacedName]struct{}{}
	t.epDirty = map[types.NamespacedName]struct{}{}
	t.triggers = map[types.NamespacedName]time.Time{}
	t.mu.Unlock()

	ch.Services = make([]ServiceState, 0, len(raws))
	for _, r := range raws {
		st := ServiceState{Name: r.name, Service: r.svc}
		if r.svc != nil {
			st.Ports, st.Problems = ServicePorts(r.svc)
		}
		if len(st.Ports) > 0 {
			st.Endpoints = Endpoints(r.slices, t.nodeName)
		}
		ch.Services = append(ch.Services, st)
	}
	return ch
}

// RequeueTriggers gives back the trigger times of Changes whose sync
// failed, so that the sync that does install them measures them (an
// earlier pending time of the same Service wins).
func (t *Tracker) RequeueTriggers(triggers map[types.NamespacedName]time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for name, ts := range triggers {
		t.addTrigger(name, ts)
	}
}

// ObserveNetworkProgramming records in o, for each trigger time, the
// seconds from it to done: when the rules covering the change were
// installed. Call it after a successful sync only, with the Triggers of
// the Changes that sync applied. A trigger time after done (clocks of
// the controller's host and this one apart) counts as zero.
func ObserveNetworkProgramming(o prometheus.Observer, triggers map[types.NamespacedName]time.Time, done time.Time) {
	for _, ts := range triggers {
		o.Observe(max(done.Sub(ts), 0).Seconds())
	}
}
