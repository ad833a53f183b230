// Package healthz is gantry-proxy's /healthz, as kube-proxy's: the proxy
// is healthy once it has programmed the rules, and stays healthy while
// every queued change is applied within the timeout (twice the full
// resync period). A proxy whose syncs keep failing turns unhealthy.
package healthz

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Tracker records queued and applied syncs.
type Tracker struct {
	timeout time.Duration
	now     func() time.Time

	synced     chan struct{}
	syncedOnce sync.Once

	mu          sync.Mutex
	lastQueued  time.Time
	lastUpdated time.Time
}

// New returns a tracker that reports unhealthy when a queued change has
// waited longer than timeout.
func New(timeout time.Duration) *Tracker {
	return &Tracker{timeout: timeout, now: time.Now, synced: make(chan struct{})}
}

// Synced is closed by the first successful sync.
func (t *Tracker) Synced() <-chan struct{} { return t.synced }

// Queued records that a change waits to be applied (if none was
// already waiting).
func (t *Tracker) Queued() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.lastQueued.After(t.lastUpdated) {
		t.lastQueued = t.now()
	}
}

// Updated records a successful sync.
func (t *Tracker) Updated() {
	t.mu.Lock()
	t.lastUpdated = t.now()
	t.mu.Unlock()
	t.syncedOnce.Do(func() { close(t.synced) })
}

// Status is the /healthz body.
type Status struct {
	LastUpdated time.Time `json:"lastUpdated"`
	CurrentTime time.Time `json:"currentTime"`
	Healthy     bool      `json:"healthy"`
	Reason      string    `json:"reason,omitempty"`
}

// Status reports whether the proxy is healthy, and why not.
func (t *Tracker) Status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	s := Status{LastUpdated: t.lastUpdated, CurrentTime: now, Healthy: true}
	switch {
	case t.lastUpdated.IsZero():
		s.Healthy, s.Reason = false, "rules not programmed yet"
	case t.lastQueued.After(t.lastUpdated) && now.Sub(t.lastQueued) > t.timeout:
		s.Healthy, s.Reason = false, "a change has waited more than "+t.timeout.String()+" to be applied"
	}
	return s
}

// ServeHTTP answers 200 when healthy and 503 when not, with the Status
// as JSON.
func (t *Tracker) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s := t.Status()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !s.Healthy {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(s)
}
