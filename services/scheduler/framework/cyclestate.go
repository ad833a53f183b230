package framework

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
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
// over nodes). Its data is written by the PreFilter and PreScore plugins
// and then read for every node, from several goroutines: a few entries,
// read thousands of times each per cycle. They are kept in a slice that a
// write replaces whole (copy on write), so a read is an atomic load and a
// scan of a few keys, with no shared counter written (a read lock's) and
// no hashing and tree walk (a sync.Map's, 8% of the scheduler's CPU).
type CycleState struct {
	data  atomic.Pointer[[]entry] // nil: none yet
	write sync.Mutex              // serializes writers of data

	mu sync.RWMutex // guards hints
	// SkipFilterPlugins and SkipScorePlugins are the plugins whose
	// PreFilter / PreScore returned Skip.
	SkipFilterPlugins map[string]bool
	SkipScorePlugins  map[string]bool

	hints []FilterHint
}

// entry is one key of a CycleState and its data.
type entry struct {
	key  StateKey
	data StateData
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
	if p := c.data.Load(); p != nil {
		for _, e := range *p {
			if e.key == key {
				return e.data, nil
			}
		}
	}
	return nil, ErrNotFound
}

// Write stores data under key.
func (c *CycleState) Write(key StateKey, d StateData) {
	c.update(func(es []entry) []entry {
		for i := range es {
			if es[i].key == key {
				es[i].data = d
				return es
			}
		}
		return append(es, entry{key, d})
	})
}

// Delete removes key.
func (c *CycleState) Delete(key StateKey) {
	c.update(func(es []entry) []entry {
		return slices.DeleteFunc(es, func(e entry) bool { return e.key == key })
	})
}

// update replaces the entries with what change makes of a copy of them.
func (c *CycleState) update(change func([]entry) []entry) {
	c.write.Lock()
	defer c.write.Unlock()
	var cur []entry
	if p := c.data.Load(); p != nil {
		cur = *p
	}
	next := change(append(make([]entry, 0, len(cur)+1), cur...))
	c.data.Store(&next)
}

// Clone returns a deep copy (each StateData cloned).
func (c *CycleState) Clone() *CycleState {
	out := NewCycleState()
	if p := c.data.Load(); p != nil {
		es := make([]entry, len(*p))
		for i, e := range *p {
			es[i] = e
			if e.data != nil {
				es[i].data = e.data.Clone()
			}
		}
		out.data.Store(&es)
	}
	out.SkipFilterPlugins = c.SkipFilterPlugins
	out.SkipScorePlugins = c.SkipScorePlugins
	return out
}
