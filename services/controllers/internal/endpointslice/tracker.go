package endpointslice

import (
	"strconv"
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// tracker remembers, per service ("namespace/name"), the slices this
// controller wrote and the resourceVersion each write returned (or that
// it deleted them), so that a sync can tell when the informer cache has
// not caught up with its own writes yet, and an event can tell the
// controller's own writes from others'.
//
// Kubernetes compares slices' metadata.generation; Gantry's API server
// does not bump the generation of kinds without a spec, and its
// resourceVersions are the store's revisions, which increase, so they
// are compared as numbers instead.
type tracker struct {
	mu sync.Mutex
	// services: service key -> slice UID -> version written, or
	// deletionExpected.
	services map[string]map[types.UID]uint64
}

const deletionExpected = 0

func newTracker() *tracker { return &tracker{services: map[string]map[types.UID]uint64{}} }

// version is s's resourceVersion as a number (false if it is not one).
func version(s *discoveryv1.EndpointSlice) (uint64, bool) {
	v, err := strconv.ParseUint(s.ResourceVersion, 10, 64)
	return v, err == nil && v != deletionExpected
}

// serviceKey is the key of the service a managed slice belongs to ("" if
// it names none).
func serviceKey(s *discoveryv1.EndpointSlice) string {
	name := s.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return ""
	}
	return s.Namespace + "/" + name
}

// written records a slice as created or updated by this controller.
func (t *tracker) written(s *discoveryv1.EndpointSlice) {
	v, ok := version(s)
	if !ok {
		return
	}
	t.set(serviceKey(s), s.UID, v)
}

// deleting records that this controller deleted s.
func (t *tracker) deleting(s *discoveryv1.EndpointSlice) {
	t.set(serviceKey(s), s.UID, deletionExpected)
}

func (t *tracker) set(svc string, uid types.UID, v uint64) {
	if svc == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.services[svc]
	if m == nil {
		m = map[types.UID]uint64{}
		t.services[svc] = m
	}
	m[uid] = v
}

// stale reports whether cached, the slices of service svc in the cache,
// lag behind this controller's writes: a slice it wrote is missing or
// older there, or one it deleted is still there.
func (t *tracker) stale(svc string, cached []*discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	tracked := t.services[svc]
	if len(tracked) == 0 {
		return false
	}
	inCache := make(map[types.UID]*discoveryv1.EndpointSlice, len(cached))
	for _, s := range cached {
		inCache[s.UID] = s
	}
	for uid, v := range tracked {
		s, ok := inCache[uid]
		switch {
		case !ok && v != deletionExpected:
			return true // written, not seen yet
		case ok && v == deletionExpected:
			return true // deleted, still seen
		case ok:
			if cv, valid := version(s); valid && cv < v {
				return true
			}
		}
	}
	return false
}

// shouldSync reports whether a slice seen added or updated needs its
// service synced: it is not a version this controller wrote (someone
// else changed it, or the controller restarted).
func (t *tracker) shouldSync(s *discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.services[serviceKey(s)][s.UID]
	if !ok || v == deletionExpected {
		return true
	}
	cv, valid := version(s)
	return !valid || cv > v
}

// deleted forgets a slice seen deleted and reports whether this
// controller deleted it (false: someone else did, the service needs a
// sync).
func (t *tracker) deleted(s *discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.services[serviceKey(s)]
	v, ok := m[s.UID]
	delete(m, s.UID)
	if len(m) == 0 {
		delete(t.services, serviceKey(s))
	}
	return ok && v == deletionExpected
}

// forget drops what is known of service svc (deleted).
func (t *tracker) forget(svc string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.services, svc)
}
