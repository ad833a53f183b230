package job

import (
	"sync"

	"k8s.io/apimachinery/pkg/util/sets"
)

// finalizerExpectations remember, per Job key, the pods whose tracking
// finalizer the controller removed and whose update the cache has not
// shown yet: until it does, the cached pod still looks uncounted.
type finalizerExpectations struct {
	mu sync.Mutex
	m  map[string]sets.Set[string]
}

func newFinalizerExpectations() *finalizerExpectations {
	return &finalizerExpectations{m: map[string]sets.Set[string]{}}
}

// expect records the UIDs of pods whose finalizer is being removed.
func (e *finalizerExpectations) expect(key string, uids ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.m[key]
	if !ok {
		s = sets.New[string]()
		e.m[key] = s
	}
	s.Insert(uids...)
}

// observed forgets uid: its finalizer is seen gone (or will never go).
func (e *finalizerExpectations) observed(key, uid string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.m[key]; ok {
		s.Delete(uid)
		if s.Len() == 0 {
			delete(e.m, key)
		}
	}
}

// pending returns a copy of the UIDs still expected for key.
func (e *finalizerExpectations) pending(key string) sets.Set[string] {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.m[key].Clone()
}

func (e *finalizerExpectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
