package framework

import (
	"errors"
	"sync"
)

// ErrNotFound is returned by CycleState.Read for a key nobody wrote.
var ErrNotFound = errors.New("not found")

// StateKey names a plugin's data in the CycleState (by convention
// "PreFilter" + the plugin's name).
type StateKey string

// StateData is what a plugin keeps across the extension points of one
// scheduling cycle. Clone must copy whatever AddPod/RemovePod change.
type StateData interface {
	Clone() StateData
}

// CycleState is the scratch space of one pod's scheduling cycle, shared
// by the plugins. It is safe for concurrent use (Filter runs in parallel
// over nodes). Its data is a sync.Map, as in Kubernetes: written by the
// PreFilter and PreScore plugins, then read for every node from several
// goroutines, which a read lock would make write one shared counter per
// read.
type CycleState struct {
	data sync.Map // StateKey → StateData

	mu sync.RWMutex // guards hints
	// SkipFilterPlugins and SkipScorePlugins are the plugins whose
	// PreFilter / PreScore returned Skip.
	SkipFilterPlugins map[string]bool
	SkipScorePlugins  map[string]bool

	hints []FilterHint
}

// FilterHint is a PreFilter plugin's word that its Filter rejects some
// nodes whatever else happens in the cycle: Rejects[i] for Nodes[i], the
// node list PreFilter was given. The search for feasible nodes then
// skips those nodes instead of running every Filter on them (a zone
// spread constraint, say, rules out whole zones at once). It changes no
// outcome: the nodes it finds are ones the full search could have found,
// and when it finds none the framework runs every Filter on every node,
// so each rejection is explained by the plugins' own statuses. A hint
// must therefore be exact: Filter on the incoming pod returns a
// rejection (not an error) for every node marked.
type FilterHint struct {
	Plugin  string
	Nodes   []*NodeInfo
	Rejects []bool
}

// AddFilterHint records h for the search for feasible nodes.
func (c *CycleState) AddFilterHint(h FilterHint) {
	c.mu.Lock()
	c.hints = append(c.hints, h)
	c.mu.Unlock()
}

// FilterHints returns the hints recorded.
func (c *CycleState) FilterHints() []FilterHint {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.hints
}

// NewCycleState returns an empty CycleState.
func NewCycleState() *CycleState {
	return &CycleState{}
}

// Read returns the data under key.
func (c *CycleState) Read(key StateKey) (StateData, error) {
	if d, ok := c.data.Load(key); ok {
		sd, _ := d.(StateData) // nil when nil was written
		return sd, nil
	}
	return nil, ErrNotFound
}

// Write stores data under key.
func (c *CycleState) Write(key StateKey, d StateData) {
	c.data.Store(key, d)
}

// Delete removes key.
func (c *CycleState) Delete(key StateKey) {
	c.data.Delete(key)
}

// Clone returns a deep copy (each StateData cloned).
func (c *CycleState) Clone() *CycleState {
	out := NewCycleState()
	c.data.Range(func(k, v any) bool {
		if sd, ok := v.(StateData); ok && sd != nil {
			v = sd.Clone()
		}
		out.data.Store(k, v)
		return true
	})
	out.SkipFilterPlugins = c.SkipFilterPlugins
	out.SkipScorePlugins = c.SkipScorePlugins
	return out
}
