package nftables

import (
	"context"
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
	NFT     knftables.Interface
	Sysctls iptables.Sysctls
	// Conntrack flushes stale UDP flows; nil leaves them.
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
	elements  *elementSet
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
	ports []*proxy.ServicePort
	eps   proxy.EndpointsMap
	objs  []*ServiceObjects
	rules int // in its chains
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
		elements: newElementSet(),
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
	if pl.tx.NumOperations() > 0 {
		if err := p.cfg.NFT.Run(ctx, pl.tx); err != nil {
			p.cfg.Metrics.RestoreFailures.Inc()
			return p.failed(ch, flows, fmt.Errorf("nft transaction: %w", err))
		}
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
	m.LastSync.Set(float64(done.UnixNano()) / 1e9)
	table := p.cfg.Rules.Table
	m.RulesLast.WithLabelValues(table).Set(float64(pl.rules + pl.elementOps))
	m.RulesTotal.WithLabelValues(table).Set(float64(p.totalRules()))
	proxy.ObserveNetworkProgramming(m.NetworkProgramming, ch.Triggers, done)
	p.cfg.Health.Updated()
	p.cfg.Log.Debug("synced nftables", "full", full, "services", len(p.services), "changed", len(ch.Services),
		"chainsWritten", pl.chainsWritten, "chainsEmptied", len(pl.emptied), "elementOps", pl.elementOps,
		"rules", pl.rules, "duration", done.Sub(start))
	return nil
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
			}
		}
		flows = append(flows, staleFlows(old, ne)...)
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
// run.
type plan struct {
	tx        *knftables.Transaction
	chains    map[string]uint64
	sets      map[string]time.Duration
	elements  *elementSet
	emptied   []string // chains emptied, to delete later
	baseRules int

	chainsWritten, rules, elementOps int
}

// plan builds the transaction of a sync. changed holds the Services that
// changed since the last sync, with their previous entries.
func (p *Proxier) plan(ctx context.Context, full bool, changed map[types.NamespacedName]*entry, now time.Time) (*plan, error) {
	pl := &plan{tx: p.cfg.NFT.NewTransaction(), baseRules: p.baseRules}
	tx := pl.tx
	want := newElementSet()
	for _, name := range p.order {
		for _, so := range p.services[name].objs {
			for _, e := range so.Elements {
				if !want.add(e) {
					p.cfg.Log.Debug("address and port claimed by two Services; the first keeps them",
						"service", so.Name.String(), "element", e.key())
				}
			}
		}
	}
	pl.elements = want

	// Which chains and sets to write: all on a full sync, else those of
	// changed Services that differ from what is installed. The
	// installed state is copied: it changes only if the transaction
	// succeeds.
	type written struct {
		Chain
		hash uint64
	}
	var write []written
	var sets []AffinitySet
	pl.chains = make(map[string]uint64, len(p.chains))
	pl.sets = make(map[string]time.Duration, len(p.sets))
	if full {
		for _, name := range p.order {
			for _, so := range p.services[name].objs {
				for _, c := range so.Chains {
					write = append(write, written{c, p.hash(c)})
				}
				sets = append(sets, so.Sets...)
			}
		}
	} else {
		maps.Copy(pl.chains, p.chains)
		maps.Copy(pl.sets, p.sets)
		for _, name := range sortedNames(changed) {
			e := p.services[name]
			if e == nil {
				continue
			}
			for _, so := range e.objs {
				for _, c := range so.Chains {
					if h, ok := p.chains[c.Name]; !ok || h != p.hash(c) {
						write = append(write, written{c, p.hash(c)})
					}
				}
				for _, s := range so.Sets {
					if t, ok := p.sets[s.Name]; !ok || t != s.Timeout {
						sets = append(sets, s)
					}
				}
			}
		}
	}

	if full {
		pl.baseRules = writeBase(tx, p.cfg.Rules, !p.recreated)
		pl.rules += pl.baseRules
	}
	// Chains first (rules and elements refer to them), then affinity
	// sets (rules refer to them), then rules.
	for _, c := range write {
		tx.Add(&knftables.Chain{Name: c.Name})
		tx.Flush(&knftables.Chain{Name: c.Name})
	}
	for _, s := range sets {
		tx.Add(&knftables.Set{Name: s.Name, Type: "ipv4_addr",
			Flags: []knftables.SetFlag{knftables.DynamicFlag, knftables.TimeoutFlag}, Timeout: knftables.PtrTo(s.Timeout)})
		pl.sets[s.Name] = s.Timeout
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

	// Chains and affinity sets no longer wanted: on a full sync, any of
	// ours in the table; otherwise those the changed Services had.
	var oldChains, oldSets []string
	switch {
	case full && !p.known:
		// What an earlier run or a failed sync left is unknown: ask
		// (one listing of the whole table, seconds for 10,000 chains).
		all, err := p.cfg.NFT.ListAll(ctx)
		if err != nil && !knftables.IsNotFound(err) {
			return nil, fmt.Errorf("list table %s: %w", p.cfg.Rules.Table, err)
		}
		oldChains, oldSets = all["chain"], all["set"]
		slices.Sort(oldChains)
		slices.Sort(oldSets)
	case full:
		oldChains = slices.Sorted(maps.Keys(p.chains))
		oldSets = slices.Sorted(maps.Keys(p.sets))
	default:
		for _, name := range sortedNames(changed) {
			if old := changed[name]; old != nil {
				for _, so := range old.objs {
					for _, c := range so.Chains {
						oldChains = append(oldChains, c.Name)
					}
					for _, s := range so.Sets {
						oldSets = append(oldSets, s.Name)
					}
				}
			}
		}
	}
	wantChains, wantSets := p.wanted(full, changed)
	for _, c := range oldChains {
		if isServiceChain(c) && !wantChains[c] {
			tx.Add(&knftables.Chain{Name: c}) // flush fails on a chain someone deleted
			tx.Flush(&knftables.Chain{Name: c})
			pl.emptied = append(pl.emptied, c)
			delete(pl.chains, c)
		}
	}
	for _, s := range oldSets {
		if isAffinitySet(s) && !wantSets[s] {
			tx.Delete(&knftables.Set{Name: s})
			delete(pl.sets, s)
		}
	}

	if full {
		pl.elementOps = addAll(tx, want)
	} else {
		pl.elementOps = diffElements(tx, p.elements, want)
	}
	return pl, nil
}

// wanted returns the chains and affinity sets the Services ask for: of
// all of them on a full sync, else of the changed ones.
func (p *Proxier) wanted(full bool, changed map[types.NamespacedName]*entry) (chains, sets map[string]bool) {
	chains, sets = map[string]bool{}, map[string]bool{}
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
	return chains, sets
}

// commit records what a successful transaction installed.
func (p *Proxier) commit(pl *plan) {
	p.chains, p.sets, p.elements, p.baseRules = pl.chains, pl.sets, pl.elements, pl.baseRules
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
	n := p.baseRules + p.elements.len()
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
