package controller

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// ExpectationsTTL is how long expectations are waited for: a creation or
// deletion never observed (its watch event lost) stops holding the
// controller back after this long.
const ExpectationsTTL = 5 * time.Minute

// Expectations track, per controller key, the creations and deletions
// asked of the API server and not yet seen in the informer cache. A
// controller whose expectations are not met does not act on counts from
// its cache (they are stale), so it never double-creates.
//
// Deletions are tracked by the deleted object's key, so an object seen
// deleted twice (an update with deletionTimestamp, then the delete) is
// counted once.
type Expectations struct {
	clock clock.PassiveClock
	mu    sync.Mutex
	m     map[string]*expectation
}

type expectation struct {
	adds    int64
	deletes map[string]bool
	at      time.Time
}

// NewExpectations returns empty expectations.
func NewExpectations(clk clock.PassiveClock) *Expectations {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Expectations{clock: clk, m: map[string]*expectation{}}
}

// Satisfied reports whether the controller of key may act on its cache:
// nothing is expected, everything expected was seen, or the expectations
// expired.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	if x.adds <= 0 && len(x.deletes) == 0 {
		return true
	}
	return e.clock.Since(x.at) > ExpectationsTTL
}

// ExpectCreations records that n creations were asked for (replacing
// what was expected before).
func (e *Expectations) ExpectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{adds: int64(n), deletes: map[string]bool{}, at: e.clock.Now()}
}

// ExpectDeletions records the objects whose deletion was asked for
// (replacing what was expected before).
func (e *Expectations) ExpectDeletions(key string, objKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{deletes: make(map[string]bool, len(objKeys)), at: e.clock.Now()}
	for _, k := range objKeys {
		x.deletes[k] = true
	}
	e.m[key] = x
}

// CreationObserved counts one expected creation as seen (or as never
// coming: a failed create).
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		x.adds--
	}
}

// DeletionObserved counts the deletion of objKey as seen (or as never
// coming).
func (e *Expectations) DeletionObserved(key, objKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		delete(x.deletes, objKey)
	}
}

// Delete forgets key (its controller object is gone).
func (e *Expectations) Delete(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
