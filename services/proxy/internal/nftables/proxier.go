package nftables

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/knftables"

	"github.com/gantry-dev/gantry/services/proxy/internal/healthz"
	"github.com/gantry-dev/gantry/services/proxy/internal/iptables"
	"github.com/gantry-dev/gantry/services/proxy/internal/metrics"
	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

// Config configures a Proxier.
type Config struct {
	Rules    RuleConfig
	NodeName string
	// SyncPeriod is how often a sync runs without any change (it writes
	// what changed, if anything); a full sync, rewriting everything,
	// runs every proxy.FullSyncPeriod. MinSyncPeriod is the least time
	// between two syncs.
	SyncPeriod, MinSyncPeriod time.Duration
	// StaleChainDelay is how long a chain no longer used stays, empty,
	// before it is deleted (kernels before 6.2 notice only a moment
	// later that a deleted map element no longer references a chain).
	// Zero means one second.
	StaleChainDelay time.Duration

	// NFT runs nft on the proxier's table (NewInterface).
	NFT knftables.Interface
	// Elements, when set, applies the syncs that change only elements
	// (of the shared maps and sets and of existing endpoint maps)
	// without nft, which reads the whole table before each run (see
	// NewNetlinkWriter). Nil sends them through NFT as well.
	Elements ElementWriter
	Sysctls  iptables.Sysctls
	// Conntrack flushes stale flows; nil leaves them.
	Conntrack iptables.Conntrack
	Metrics   *metrics.Metrics
	Health    *healthz.Tracker
	Log       *slog.Logger
	// LocalVIPs are ClusterIPs that a server on this node answers
	// itself (cluster DNS): their Services get no rules.
	LocalVIPs []netip.Addr
	// Report, when set, receives what was skipped in a Service, once
	// per version of the Service (for an Event).
	Report func(svc *corev1.Service, p proxy.Problem)
}

// Proxier programs one nftables table from Services and EndpointSlices.
// See the package documentation.
type Proxier struct {
	cfg     Config
	tracker *proxy.Tracker
	runner  *proxy.Runner
	seed    maphash.Seed

	// Owned by the sync goroutine. services and order are what the
	// Services ask for; chains, sets and elements what is installed.
	services  map[types.NamespacedName]*entry
	order     []types.NamespacedName // sorted keys of services
	chains    map[string]uint64      // per-service chains installed, and their rules' hash
	sets      map[string]time.Duration
	maps      map[string]uint64    // endpoint maps installed, and their elements' hash
	elements  map[string]Element   // shared maps' and sets' elements installed, by key
	claims    claims               // the elements the Services ask for
	stale     map[string]time.Time // chains emptied and not yet deleted, since when
	baseRules int
	recreated bool // base chains deleted and added again once
	known     bool // chains and sets hold all there is of ours (a sync succeeded since the last failure)
	lastFull  time.Time
	needFull  bool
	flows     []iptables.Flow // stale flows still to flush
	reported  map[types.NamespacedName]string

	timerMu    sync.Mutex
	staleTimer *time.Timer
}

// entry is one Service as last built.
type entry struct {
	ports    []*proxy.ServicePort
	eps      proxy.EndpointsMap
	objs     []*ServiceObjects
	elements []Element // of objs, in order
	rules    int       // in its chains and endpoint maps
}

func (e *entry) elementList() []Element {
	if e == nil {
		return nil
	}
	return e.elements
}

func (e *entry) portList() []*proxy.ServicePort {
	if e == nil {
		return nil
	}
	return e.ports
}

// New returns a proxier; add its handlers to the informers, then Run it
// once they have synced.
func New(cfg Config) *Proxier {
	if cfg.StaleChainDelay == 0 {
		cfg.StaleChainDelay = time.Second
	}
	p := &Proxier{
		cfg: cfg, seed: maphash.MakeSeed(),
		services: map[types.NamespacedName]*entry{},
		chains:   map[string]uint64{},
		sets:     map[string]time.Duration{},
		maps:     map[string]uint64{},
		elements: map[string]Element{},
		claims:   claims{},
		stale:    map[string]time.Time{},
		reported: map[types.NamespacedName]string{},
	}
	p.tracker = proxy.NewTracker(cfg.NodeName, p.queued)
	p.runner = proxy.NewRunner(cfg.MinSyncPeriod, cfg.SyncPeriod, p.Sync, cfg.Log)
	return p
}

// ServiceHandler is the Service informer's handler.
func (p *Proxier) ServiceHandler() cache.ResourceEventHandler { return p.tracker.ServiceHandler() }

// SliceHandler is the EndpointSlice informer's handler.
func (p *Proxier) SliceHandler() cache.ResourceEventHandler { return p.tracker.SliceHandler() }

func (p *Proxier) queued() {
	p.cfg.Health.Queued()
	p.cfg.Metrics.LastQueued.SetToCurrentTime()
	svcs, eps := p.tracker.Pending()
	p.cfg.Metrics.ServicesPending.Set(float64(svcs))
	p.cfg.Metrics.EndpointsPending.Set(float64(eps))
	p.runner.Trigger()
}

// sysctlBridgeNF makes bridged IPv4 traffic (pod to Service on one
// bridge) pass the ip family's hooks, nftables' as iptables'.
const sysctlBridgeNF = "net/bridge/bridge-nf-call-iptables"

// Run prepares the host and syncs until ctx ends.
func (p *Proxier) Run(ctx context.Context) error {
	defer p.stopTimer()
	if err := p.cfg.Sysctls.LoadModule(ctx, "br_netfilter", filepath.Join("/proc/sys", sysctlBridgeNF)); err != nil {
		p.cfg.Log.Error("could not load br_netfilter; Services may not work from pods on the bridge", "err", err)
	} else if err := p.cfg.Sysctls.Ensure(sysctlBridgeNF, "1"); err != nil {
		p.cfg.Log.Error("could not prepare the host; Services may not work from pods on the bridge", "err", err)
	}
	return p.runner.Run(ctx)
}

func (p *Proxier) hash(c Chain) uint64 {
	var h maphash.Hash
	h.SetSeed(p.seed)
	for _, r := range c.Rules {
		h.WriteString(r.Rule)
		h.WriteByte(0)
		h.WriteString(r.Comment)
		h.WriteByte('\n')
	}
	return h.Sum64()
}

func (p *Proxier) mapHash(m EndpointMap) uint64 {
	var h maphash.Hash
	h.SetSeed(p.seed)
	h.WriteString(m.Proto)
	for _, e := range m.Entries {
		b, _ := e.To.MarshalBinary()
		h.Write(b)
		fmt.Fprintf(&h, "%d-%d\n", e.First, e.Last)
	}
	return h.Sum64()
}

// Sync writes the table in one nft transaction (all or nothing). A full
// sync writes everything: the table's fixed chains, maps and sets, every
// Service's chains and every map element, and empties chains of ours
// that should not exist. Otherwise only what changed goes in: the chains
// of changed Services whose rules differ, their affinity sets, the map
// elements added, changed and removed. Emptied chains are deleted by a
// later sync (Config.StaleChainDelay).
func (p *Proxier) Sync(ctx context.Context) error {
	start := time.Now()
	full := p.needFull || p.lastFull.IsZero() || start.Sub(p.lastFull) >= proxy.FullSyncPeriod
	ch := p.tracker.Take(full)
	svcs, eps := p.tracker.Pending()
	p.cfg.Metrics.ServicesPending.Set(float64(svcs))
	p.cfg.Metrics.EndpointsPending.Set(float64(eps))
	return p.sync(ctx, start, full, ch)
}

// sync applies ch, taken from the tracker at start.
func (p *Proxier) sync(ctx context.Context, start time.Time, full bool, ch proxy.Changes) error {
	p.deleteStale(ctx, start)
	changed, flows := p.update(ch.Services)
	pl, err := p.plan(ctx, full, changed, start)
	if err != nil {
		return p.failed(ch, flows, err)
	}
	viaNetlink, err := p.apply(ctx, pl)
	if err != nil {
		p.cfg.Metrics.RestoreFailures.Inc()
		return p.failed(ch, flows, err)
	}
	p.commit(pl)
	if full {
		p.lastFull = start
	}
	p.needFull = false
	p.flushFlows(ctx, append(p.flows, flows...))
	p.flows = nil
	if len(p.stale) > 0 {
		p.scheduleStale()
	}

	done := time.Now()
	elapsed := done.Sub(start).Seconds()
	m := p.cfg.Metrics
	m.SyncDuration.Observe(elapsed)
	if full {
		m.SyncFullDuration.Observe(elapsed)
	} else {
		m.SyncPartialDuration.Observe(elapsed)
	}
	table := p.cfg.Rules.Table
	m.RulesLast.WithLabelValues(table).Set(float64(pl.rules + pl.elementOps))
	m.RulesTotal.WithLabelValues(table).Set(float64(p.totalRules()))
	m.LastSync.Set(float64(done.UnixNano()) / 1e9) // last: a scrape seeing it sees the rest
	proxy.ObserveNetworkProgramming(m.NetworkProgramming, ch.Triggers, done)
	p.cfg.Health.Updated()
	p.cfg.Log.Debug("synced nftables", "full", full, "services", len(p.services), "changed", len(ch.Services),
		"chainsWritten", pl.chainsWritten, "chainsEmptied", len(pl.emptied), "elementOps", pl.elementOps,
		"rules", pl.rules, "netlink", viaNetlink, "duration", done.Sub(start))
	return nil
}

// apply runs the plan's transaction: through the ElementWriter when it
// changes elements only (one netlink batch, all or nothing too), else
// through nft. It reports whether the ElementWriter did it.
func (p *Proxier) apply(ctx context.Context, pl *plan) (bool, error) {
	if pl.tx.NumOperations() == 0 {
		return false, nil
	}
	if !pl.structural && p.cfg.Elements != nil {
		err := p.cfg.Elements.WriteElements(ctx, pl.changes)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, ErrNotEncodable) {
			return false, fmt.Errorf("netlink element batch: %w", err)
		}
		p.cfg.Log.Debug("element changes go through nft", "reason", err)
	}
	if err := p.cfg.NFT.Run(ctx, pl.tx); err != nil {
		return false, fmt.Errorf("nft transaction: %w", err)
	}
	return false, nil
}

// failed records a sync that changed nothing: the next one is full, and
// the trigger times go back to the tracker for the sync that installs
// the changes.
func (p *Proxier) failed(ch proxy.Changes, flows []iptables.Flow, err error) error {
	p.needFull, p.known = true, false
	p.tracker.RequeueTriggers(ch.Triggers)
	p.flows = append(p.flows, flows...)
	p.cfg.Health.Queued()
	return err
}

// update builds the changed Services' objects into p.services and
// returns the names of those changed (with their previous entries) and
// the UDP flows their changes make stale.
func (p *Proxier) update(states []proxy.ServiceState) (map[types.NamespacedName]*entry, []iptables.Flow) {
	changed := map[types.NamespacedName]*entry{}
	var flows []iptables.Flow
	reorder := false
	for _, st := range states {
		p.report(st)
		st.Ports = slices.DeleteFunc(st.Ports, func(sp *proxy.ServicePort) bool {
			return slices.Contains(p.cfg.LocalVIPs, sp.ClusterIP)
		})
		old := p.services[st.Name]
		var ne *entry
		if len(st.Ports) > 0 {
			ne = &entry{ports: st.Ports, eps: st.Endpoints}
			for _, sp := range st.Ports {
				so := BuildService(p.cfg.Rules, sp, st.Endpoints[sp.Name])
				ne.objs = append(ne.objs, so)
				for _, c := range so.Chains {
					ne.rules += len(c.Rules)
				}
				for _, m := range so.Maps {
					ne.rules += len(m.Entries)
				}
				ne.elements = append(ne.elements, so.Elements...)
			}
		}
		flows = append(flows, staleFlows(old, ne)...)
		p.claims.replace(st.Name, old.elementList(), ne.elementList())
		if _, seen := changed[st.Name]; !seen {
			changed[st.Name] = old
		}
		if (old == nil) != (ne == nil) {
			reorder = true
		}
		if ne == nil {
			delete(p.services, st.Name)
		} else {
			p.services[st.Name] = ne
		}
	}
	if reorder || p.order == nil {
		p.order = p.order[:0]
		for name := range p.services {
			p.order = append(p.order, name)
		}
		slices.SortFunc(p.order, func(a, b types.NamespacedName) int {
			if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
				return c
			}
			return strings.Compare(a.Name, b.Name)
		})
	}
	return changed, flows
}

// plan is one sync's transaction and what the table holds once it has
// run: on a full sync the objects listed are all there is; otherwise
// they are added to (or, "gone", taken from) what was there.
type plan struct {
	tx   *knftables.Transaction
	full bool

	chains                         map[string]uint64
	sets                           map[string]time.Duration
	maps                           map[string]uint64
	chainsGone, setsGone, mapsGone []string
	elements                       map[string]Element // on a full sync
	emptied                        []string           // chains emptied, to delete later
	baseRules                      int
	// structural is set when the transaction adds, changes or removes
	// anything but elements; otherwise changes is all it does.
	structural bool
	changes    ElementChanges

	chainsWritten, rules, elementOps int
}

// plan builds the transaction of a sync. changed holds the Services that
// changed since the last sync, with their previous entries.
func (p *Proxier) plan(ctx context.Context, full bool, changed map[types.NamespacedName]*entry, now time.Time) (*plan, error) {
	pl := &plan{tx: p.cfg.NFT.NewTransaction(), full: full, baseRules: p.baseRules, structural: full,
		chains: map[string]uint64{}, sets: map[string]time.Duration{}, maps: map[string]uint64{}}
	tx := pl.tx

	// Which chains, sets and maps to write: all on a full sync, else
	// those of changed Services that differ from what is installed.
	var names []types.NamespacedName
	if full {
		names = p.order
	} else {
		names = sortedNames(changed)
	}
	type written struct {
		Chain
		hash uint64
	}
	var write []written
	var sets []AffinitySet
	type mapWrite struct {
		EndpointMap
		hash  uint64
		added bool // not installed yet
	}
	var emaps []mapWrite
	for _, name := range names {
		e := p.services[name]
		if e == nil {
			continue
		}
		for _, so := range e.objs {
			for _, c := range so.Chains {
				h := p.hash(c)
				if old, ok := p.chains[c.Name]; full || !ok || old != h {
					write = append(write, written{c, h})
				}
			}
			for _, s := range so.Sets {
				if t, ok := p.sets[s.Name]; full || !ok || t != s.Timeout {
					sets = append(sets, s)
				}
			}
			for _, m := range so.Maps {
				h := p.mapHash(m)
				if old, ok := p.maps[m.Name]; full || !ok || old != h {
					emaps = append(emaps, mapWrite{m, h, full || !ok})
				}
			}
		}
	}
	if len(write) > 0 || len(sets) > 0 {
		pl.structural = true
	}

	if full {
		pl.baseRules = writeBase(tx, p.cfg.Rules, !p.recreated)
		pl.rules += pl.baseRules
	}
	// Chains first (rules and elements refer to them), then affinity
	// sets and endpoint maps (rules refer to them), then rules.
	for _, c := range write {
		tx.Add(&knftables.Chain{Name: c.Name})
		tx.Flush(&knftables.Chain{Name: c.Name})
	}
	for _, s := range sets {
		tx.Add(&knftables.Set{Name: s.Name, Type: "ipv4_addr",
			Flags: []knftables.SetFlag{knftables.DynamicFlag, knftables.TimeoutFlag}, Timeout: knftables.PtrTo(s.Timeout)})
		pl.sets[s.Name] = s.Timeout
	}
	for _, m := range emaps {
		if m.added {
			tx.Add(&knftables.Map{Name: m.Name, TypeOf: endpointMapType(m.Proto), Flags: []knftables.SetFlag{knftables.IntervalFlag}})
			pl.structural = true
		}
		pl.elementOps += writeEndpointMap(tx, m.EndpointMap)
		pl.maps[m.Name] = m.hash
		pl.changes.Maps = append(pl.changes.Maps, m.EndpointMap)
	}
	for _, c := range write {
		for _, r := range c.Rules {
			kr := &knftables.Rule{Chain: c.Name, Rule: r.Rule}
			if r.Comment != "" {
				kr.Comment = knftables.PtrTo(r.Comment)
			}
			tx.Add(kr)
			pl.rules++
		}
		pl.chains[c.Name] = c.hash
	}
	pl.chainsWritten = len(write)

	// Chains, affinity sets and endpoint maps no longer wanted: on a
	// full sync, any of ours in the table; otherwise those the changed
	// Services had.
	var oldChains, oldSets, oldMaps []string
	switch {
	case full && !p.known:
		// What an earlier run or a failed sync left is unknown: ask
		// (one listing of the whole table, seconds for 10,000 chains).
		all, err := p.cfg.NFT.ListAll(ctx)
		if err != nil && !knftables.IsNotFound(err) {
			return nil, fmt.Errorf("list table %s: %w", p.cfg.Rules.Table, err)
		}
		oldChains, oldSets, oldMaps = all["chain"], all["set"], all["map"]
		slices.Sort(oldChains)
		slices.Sort(oldSets)
		slices.Sort(oldMaps)
	case full:
		oldChains = slices.Sorted(maps.Keys(p.chains))
		oldSets = slices.Sorted(maps.Keys(p.sets))
		oldMaps = slices.Sorted(maps.Keys(p.maps))
	default:
		for _, name := range names {
			if old := changed[name]; old != nil {
				for _, so := range old.objs {
					for _, c := range so.Chains {
						oldChains = append(oldChains, c.Name)
					}
					for _, s := range so.Sets {
						oldSets = append(oldSets, s.Name)
					}
					for _, m := range so.Maps {
						oldMaps = append(oldMaps, m.Name)
					}
				}
			}
		}
	}
	wantChains, wantSets, wantMaps := p.wanted(full, changed)
	for _, c := range oldChains {
		if isServiceChain(c) && !wantChains[c] {
			tx.Add(&knftables.Chain{Name: c}) // flush fails on a chain someone deleted
			tx.Flush(&knftables.Chain{Name: c})
			pl.emptied = append(pl.emptied, c)
			pl.chainsGone = append(pl.chainsGone, c)
			pl.structural = true
		}
	}
	for _, s := range oldSets {
		if isAffinitySet(s) && !wantSets[s] {
			tx.Delete(&knftables.Set{Name: s})
			pl.setsGone = append(pl.setsGone, s)
			pl.structural = true
		}
	}
	for _, m := range oldMaps {
		if isEndpointMap(m) && !wantMaps[m] {
			tx.Delete(&knftables.Map{Name: m})
			pl.mapsGone = append(pl.mapsGone, m)
			pl.structural = true
		}
	}

	// The shared maps' and sets' elements: all of them after a full
	// sync emptied them, else the changes of the keys the changed
	// Services had or have.
	if full {
		want := newElementSet()
		for _, name := range p.order {
			for _, e := range p.services[name].elements {
				if !want.add(e) {
					p.cfg.Log.Debug("address and port claimed by two Services; the first keeps them",
						"service", name.String(), "element", e.key())
				}
			}
		}
		pl.elements = want.byKey
		pl.elementOps += addAll(tx, want)
		return pl, nil
	}
	var keys []string
	for name, old := range changed {
		for _, e := range old.elementList() {
			keys = append(keys, e.key())
		}
		for _, e := range p.services[name].elementList() {
			keys = append(keys, e.key())
		}
	}
	del, add := p.claims.elementChanges(p.elements, keys)
	for _, e := range del {
		tx.Delete(e.knft(true))
	}
	for _, e := range add {
		tx.Add(e.knft(false))
	}
	pl.elementOps += len(del) + len(add)
	pl.changes.Delete, pl.changes.Add = del, add
	return pl, nil
}

// wanted returns the chains, affinity sets and endpoint maps the
// Services ask for: of all of them on a full sync, else of the changed
// ones.
func (p *Proxier) wanted(full bool, changed map[types.NamespacedName]*entry) (chains, sets, emaps map[string]bool) {
	chains, sets, emaps = map[string]bool{}, map[string]bool{}, map[string]bool{}
	add := func(e *entry) {
		if e == nil {
			return
		}
		for _, so := range e.objs {
			for _, c := range so.Chains {
				chains[c.Name] = true
			}
			for _, s := range so.Sets {
				sets[s.Name] = true
			}
			for _, m := range so.Maps {
				emaps[m.Name] = true
			}
		}
	}
	if full {
		for _, e := range p.services {
			add(e)
		}
	} else {
		for name := range changed {
			add(p.services[name])
		}
	}
	return chains, sets, emaps
}

// commit records what a successful transaction installed.
func (p *Proxier) commit(pl *plan) {
	if pl.full {
		p.chains, p.sets, p.maps, p.elements = pl.chains, pl.sets, pl.maps, pl.elements
	} else {
		maps.Copy(p.chains, pl.chains)
		maps.Copy(p.sets, pl.sets)
		maps.Copy(p.maps, pl.maps)
		for _, e := range pl.changes.Delete {
			delete(p.elements, e.key())
		}
		for _, e := range pl.changes.Add {
			p.elements[e.key()] = e
		}
	}
	for _, c := range pl.chainsGone {
		delete(p.chains, c)
	}
	for _, s := range pl.setsGone {
		delete(p.sets, s)
	}
	for _, m := range pl.mapsGone {
		delete(p.maps, m)
	}
	p.baseRules = pl.baseRules
	p.recreated, p.known = true, true
	for _, c := range pl.emptied {
		if _, ok := p.stale[c]; !ok {
			p.stale[c] = time.Now()
		}
	}
	for c := range p.stale {
		if _, back := p.chains[c]; back {
			delete(p.stale, c)
		}
	}
}

// deleteStale deletes, in a transaction of its own, the chains emptied
// at least StaleChainDelay ago. On failure they are forgotten: the next
// full sync finds them again.
func (p *Proxier) deleteStale(ctx context.Context, now time.Time) {
	var del []string
	for c, since := range p.stale {
		if now.Sub(since) >= p.cfg.StaleChainDelay {
			del = append(del, c)
		}
	}
	if len(del) == 0 {
		return
	}
	slices.Sort(del)
	tx := p.cfg.NFT.NewTransaction()
	for _, c := range del {
		tx.Delete(&knftables.Chain{Name: c})
		delete(p.stale, c)
	}
	if err := p.cfg.NFT.Run(ctx, tx); err != nil {
		p.cfg.Log.Warn("could not delete unused chains; the next full sync retries", "chains", len(del), "err", err)
		return
	}
	p.cfg.Log.Debug("deleted unused chains", "chains", len(del))
}

// scheduleStale asks for a sync once the emptied chains may be deleted.
func (p *Proxier) scheduleStale() {
	p.timerMu.Lock()
	defer p.timerMu.Unlock()
	if p.staleTimer == nil {
		p.staleTimer = time.AfterFunc(p.cfg.StaleChainDelay, p.runner.Trigger)
	} else {
		p.staleTimer.Reset(p.cfg.StaleChainDelay)
	}
}

func (p *Proxier) stopTimer() {
	p.timerMu.Lock()
	defer p.timerMu.Unlock()
	if p.staleTimer != nil {
		p.staleTimer.Stop()
	}
}

// totalRules is the rules and map elements the table holds.
func (p *Proxier) totalRules() int {
	n := p.baseRules + len(p.elements)
	for _, e := range p.services {
		n += e.rules
	}
	return n
}

func sortedNames(m map[types.NamespacedName]*entry) []types.NamespacedName {
	out := make([]types.NamespacedName, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b types.NamespacedName) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// report logs (and hands to Config.Report) what was skipped in a Service,
// once per version of it.
func (p *Proxier) report(st proxy.ServiceState) {
	if st.Service == nil {
		delete(p.reported, st.Name)
		return
	}
	if len(st.Problems) == 0 || p.reported[st.Name] == st.Service.ResourceVersion {
		return
	}
	p.reported[st.Name] = st.Service.ResourceVersion
	for _, pr := range st.Problems {
		p.cfg.Log.Warn("service port skipped", "service", st.Name, "reason", pr.Reason, "message", pr.Message)
		p.cfg.Metrics.SkippedPorts.Inc()
		if p.cfg.Report != nil {
			p.cfg.Report(st.Service, pr)
		}
	}
}
