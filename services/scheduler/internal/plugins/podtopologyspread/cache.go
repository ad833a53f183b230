package podtopologyspread

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// maxCachedKeys bounds the number of keys whose per-node entries the
// cache keeps; the least recently used goes first. Each key holds at
// most one entry per node of the snapshot.
const maxCachedKeys = 32

// countKey identifies what a constraint needs of a node, whatever its
// maxSkew or node inclusion policies: its topology key's value on the
// node, and the pods on the node of a namespace that a selector (the
// labelSelector narrowed by matchLabelKeys), or else a controller,
// selects.
type countKey struct {
	namespace string
	// selector is the canonical form of the constraint's selector
	// (selectorKey); "" when owner is set.
	selector    string
	owner       types.UID
	topologyKey string
}

// keyOf returns the key of constraint c for a pod in namespace ns.
func keyOf(c *constraint, ns string) countKey {
	if c.ownerUID != "" {
		return countKey{namespace: ns, owner: c.ownerUID, topologyKey: c.topologyKey}
	}
	return countKey{namespace: ns, selector: selectorKey(c.selector), topologyKey: c.topologyKey}
}

// selectorKey encodes a label selector so that two selectors with the
// same key select the same pods: its requirements sorted, each as its
// key, operator and sorted values, every string length-prefixed (so that
// no value, validated or not, can be mistaken for a separator).
// labels.Nothing() (a nil labelSelector) has a key of its own.
func selectorKey(sel labels.Selector) string {
	reqs, selectable := sel.Requirements()
	if !selectable {
		return "!nothing"
	}
	parts := make([]string, len(reqs))
	var sb strings.Builder
	for i := range reqs {
		sb.Reset()
		writeLenPrefixed(&sb, reqs[i].Key())
		writeLenPrefixed(&sb, string(reqs[i].Operator()))
		values := reqs[i].ValuesUnsorted()
		slices.Sort(values)
		sb.WriteString(strconv.Itoa(len(values)))
		sb.WriteByte('#')
		for _, v := range values {
			writeLenPrefixed(&sb, v)
		}
		parts[i] = sb.String()
	}
	// Requirements are ANDed: their order does not matter.
	slices.Sort(parts)
	sb.Reset()
	for _, p := range parts {
		writeLenPrefixed(&sb, p)
	}
	return sb.String()
}

func writeLenPrefixed(sb *strings.Builder, s string) {
	sb.WriteString(strconv.Itoa(len(s)))
	sb.WriteByte(':')
	sb.WriteString(s)
}

// nodeCount is a node's count for a key, as of the node's Generation.
type nodeCount struct {
	generation int64
	pods       int
}

// keyCounts are what the cache knows of the nodes for one key.
type keyCounts struct {
	// byIndex has what the last pass found, by the index of the node in
	// that pass's nodes: as long as the snapshot's list of nodes is the
	// same (the cache relists it, in the same order, only when nodes come
	// or go), an unchanged node is found there without looking at its
	// labels or pods, or hashing its name.
	byIndex []nodeEntry
	// domains are the topology values seen, and domainIDs their indexes
	// there: an entry holds the index. Only appended to (or replaced
	// whole), so that a pass may read what it was given after unlocking.
	domains   []string
	domainIDs map[string]int32
	// epoch counts the times domains were replaced.
	epoch uint64
	// nodes has the counts by node name that Score looked up.
	nodes    map[string]nodeCount
	lastUsed uint64
}

// nodeEntry is what a pass found for node ni at its Generation.
type nodeEntry struct {
	ni         *framework.NodeInfo
	generation int64
	// domain is the index in domains of the value of the topology label
	// ("" when hasLabel is false).
	domain   int32
	hasLabel bool
	pods     int32
}

// intern returns the index of domain value v, adding it if new.
func (kc *keyCounts) intern(v string) int32 {
	id, ok := kc.domainIDs[v]
	if !ok {
		id = int32(len(kc.domains))
		kc.domains = append(kc.domains, v)
		kc.domainIDs[v] = id
	}
	return id
}

// countCache remembers, per key and node, the value of the key's
// topology label on the node and how many pods countMatching found on
// it, with the NodeInfo.Generation they were found at: a NodeInfo's
// Generation changes whenever its pods or its node do, so they are
// reused as long as the Generation is unchanged. NodeInfos with
// Generation 0 (built by hand) are never cached.
//
// A scheduling cycle reads it in a pass (beginPass) over the snapshot's
// nodes: the pass holds the read lock while the plugin goes over the
// nodes in parallel, and what it found replaces, under the write lock,
// the key's entries when it ends. Score looks counts up one node at a
// time, by name. It is safe for concurrent use. It is bounded: a key
// keeps the entries of the nodes of its last pass, no more counts by
// name than that pass had nodes (entries of nodes gone are dropped), a
// few more domains than that, and at most maxCachedKeys keys are kept.
type countCache struct {
	mu     sync.RWMutex
	keys   map[countKey]*keyCounts
	passes uint64
}

func newCountCache() *countCache {
	return &countCache{keys: map[countKey]*keyCounts{}}
}

// countPass is one pass over the snapshot's nodes for some constraints.
// Between beginPass and end, fill may be called concurrently.
type countPass struct {
	cache *countCache
	ns    string
	cs    []constraint
	// keys[i] is constraints[i]'s key and known[i] what the cache has of
	// it (nil if nothing), with the domains and epoch it had then.
	keys    []countKey
	known   []*keyCounts
	domains [][]string
	epochs  []uint64
}

// beginPass starts a pass for the constraints cs of a pod in namespace
// ns; it must be ended.
func (c *countCache) beginPass(cs []constraint, ns string) *countPass {
	p := &countPass{
		cache: c, ns: ns, cs: cs,
		keys: make([]countKey, len(cs)), known: make([]*keyCounts, len(cs)), domains: make([][]string, len(cs)), epochs: make([]uint64, len(cs)),
	}
	for i := range cs {
		p.keys[i] = keyOf(&cs[i], ns)
	}
	c.mu.RLock()
	for i, k := range p.keys {
		if kc := c.keys[k]; kc != nil {
			p.known[i], p.domains[i], p.epochs[i] = kc, kc.domains, kc.epoch
		}
	}
	return p
}

// nodeResult is what a pass found for one node and constraint.
type nodeResult struct {
	state resultState
	// hasLabel: the node has the constraint's topology label.
	hasLabel bool
	// counted: the node's pods count in its domain (set by the caller).
	counted bool
	// domain indexes the topology value in the key's domains; for a
	// result computedNow, end sets it from value.
	domain int32
	value  string
	pods   int
}

type resultState uint8

const (
	notSeen resultState = iota
	fromCache
	computedNow
)

// fill sets rs[i] to what constraint i needs of ni, nodes[n] of the pass
// (a node with a Node), from the cache when ni is unchanged; it reports
// whether ni has every constraint's topology label.
func (p *countPass) fill(n int, ni *framework.NodeInfo, rs []nodeResult) bool {
	all := true
	for i := range p.cs {
		rs[i] = p.result(i, n, ni)
		all = all && rs[i].hasLabel
	}
	return all
}

func (p *countPass) result(i, n int, ni *framework.NodeInfo) nodeResult {
	if kc := p.known[i]; kc != nil && ni.Generation != 0 && n < len(kc.byIndex) {
		if e := &kc.byIndex[n]; e.ni == ni && e.generation == ni.Generation {
			return nodeResult{state: fromCache, hasLabel: e.hasLabel, domain: e.domain, pods: int(e.pods)}
		}
	}
	c := &p.cs[i]
	v, ok := ni.Node.Labels[c.topologyKey]
	return nodeResult{state: computedNow, hasLabel: ok, value: v, pods: countMatching(ni.Pods, c, p.ns)}
}

// value returns the topology value of a result of constraint i (before
// end).
func (p *countPass) value(i int, r *nodeResult) string {
	if r.state == fromCache {
		return p.domains[i][r.domain]
	}
	return r.value
}

// knownDomains returns the domains the cache knows for constraint i,
// which fromCache results index (before end).
func (p *countPass) knownDomains(i int) []string { return p.domains[i] }

// end releases the pass's read lock and stores what it found: results
// has, for each of nodes (the snapshot's nodes the pass went over), the
// results of its constraints. It sets the domain of every result and
// returns, for each constraint, the domains they index. The counts by
// name of other nodes than nodes are dropped from the pass's keys once
// they outnumber nodes.
func (p *countPass) end(nodes []*framework.NodeInfo, results []nodeResult) [][]string {
	c := p.cache
	c.mu.RUnlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.passes++
	k := len(p.keys)
	used := make([]*keyCounts, k)
	// stale[i] are the domains that constraint i's fromCache results
	// index when they are no longer its key's (another pass evicted the
	// key or replaced its domains since this one began, or this one does).
	stale := make([][]string, k)
	for i, key := range p.keys {
		kc := c.keys[key]
		if kc == nil {
			kc = &keyCounts{domainIDs: map[string]int32{}, nodes: map[string]nodeCount{}}
			c.keys[key] = kc
		}
		used[i] = kc
		if kc.lastUsed != c.passes {
			// The first constraint of the pass with this key.
			kc.lastUsed = c.passes
			if len(kc.domains) > 2*len(nodes)+64 {
				// Too many domains of nodes gone (hostnames): start afresh.
				kc.domains, kc.domainIDs = nil, map[string]int32{}
				kc.epoch++
			}
			if cap(kc.byIndex) < len(nodes) {
				kc.byIndex = make([]nodeEntry, len(nodes))
			} else {
				kc.byIndex = kc.byIndex[:len(nodes)]
				clear(kc.byIndex)
			}
		}
		if p.known[i] != nil && (p.known[i] != kc || p.epochs[i] != kc.epoch) {
			stale[i] = p.domains[i]
		}
	}
	for n, ni := range nodes {
		for i, kc := range used {
			r := &results[n*k+i]
			switch {
			case r.state == computedNow:
				r.domain = kc.intern(r.value)
			case r.state == fromCache && stale[i] != nil:
				r.domain = kc.intern(stale[i][r.domain])
			case r.state == notSeen:
				continue
			}
			if ni.Generation != 0 {
				kc.byIndex[n] = nodeEntry{ni: ni, generation: ni.Generation, domain: r.domain, hasLabel: r.hasLabel, pods: int32(r.pods)}
			}
		}
	}
	domains := make([][]string, k)
	var present map[string]bool
	for i, kc := range used {
		domains[i] = kc.domains
		if len(kc.nodes) <= len(nodes) {
			continue
		}
		if present == nil {
			present = make(map[string]bool, len(nodes))
			for _, ni := range nodes {
				if ni.Node != nil {
					present[ni.Node.Name] = true
				}
			}
		}
		for name := range kc.nodes {
			if !present[name] {
				delete(kc.nodes, name)
			}
		}
	}
	for len(c.keys) > maxCachedKeys {
		var oldest countKey
		first := true
		for k, kc := range c.keys {
			if first || kc.lastUsed < c.keys[oldest].lastUsed {
				oldest, first = k, false
			}
		}
		delete(c.keys, oldest)
	}
	return domains
}

// lookup returns the number of pods on ni that c counts in namespace ns,
// through the cache (for Score, which counts one node at a time): by
// name, as Score does not know ni's index.
func (cc *countCache) lookup(c *constraint, key countKey, ns string, ni *framework.NodeInfo) int {
	if ni.Generation == 0 {
		return countMatching(ni.Pods, c, ns)
	}
	cc.mu.RLock()
	var e nodeCount
	ok := false
	if kc := cc.keys[key]; kc != nil {
		e, ok = kc.nodes[ni.Node.Name]
	}
	cc.mu.RUnlock()
	if ok && e.generation == ni.Generation {
		return e.pods
	}
	n := countMatching(ni.Pods, c, ns)
	cc.mu.Lock()
	// Only keys a pass is using are stored into: a pass bounds them.
	if kc := cc.keys[key]; kc != nil {
		kc.nodes[ni.Node.Name] = nodeCount{generation: ni.Generation, pods: n}
	}
	cc.mu.Unlock()
	return n
}

// sumDomains adds up, for constraint i, the pods of the results counted
// per domain, and calls add with each domain that has counted nodes and
// its sum.
func sumDomains(results []nodeResult, k, i int, domains []string, add func(v string, pods int)) {
	sums := make([]int, len(domains))
	seen := make([]bool, len(domains))
	for j := i; j < len(results); j += k {
		if r := &results[j]; r.counted {
			sums[r.domain] += r.pods
			seen[r.domain] = true
		}
	}
	for id, ok := range seen {
		if ok {
			add(domains[id], sums[id])
		}
	}
}

// resultPool recycles the passes' result buffers (one entry per node
// and constraint: thousands per scheduling cycle).
var resultPool sync.Pool

// getResults returns a zeroed buffer of n results.
func getResults(n int) *[]nodeResult {
	if b, ok := resultPool.Get().(*[]nodeResult); ok && cap(*b) >= n {
		*b = (*b)[:n]
		clear(*b)
		return b
	}
	b := make([]nodeResult, n)
	return &b
}

// putResults returns a buffer to the pool, dropping what it refers to.
func putResults(b *[]nodeResult) {
	clear(*b)
	resultPool.Put(b)
}
