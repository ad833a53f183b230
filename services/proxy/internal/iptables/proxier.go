package iptables

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/services/proxy/internal/healthz"
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

	Exec    Executor
	Sysctls Sysctls
	// Conntrack flushes stale flows; nil leaves them.
	Conntrack Conntrack
	Metrics   *metrics.Metrics
	Health    *healthz.Tracker
	Log       *slog.Logger
	// LocalVIPs are ClusterIPs that a server on this node answers
	// itself (cluster DNS): their Services get no rules, neither DNAT nor
	// REJECT.
	LocalVIPs []netip.Addr
	// Report, when set, receives what was skipped in a Service, once
	// per version of the Service (for an Event).
	Report func(svc *corev1.Service, p proxy.Problem)
}

// Proxier programs the filter and nat tables from Services and
// EndpointSlices. See the package documentation.
type Proxier struct {
	cfg     Config
	tracker *proxy.Tracker
	runner  *proxy.Runner
	seed    maphash.Seed

	// Owned by the sync goroutine.
	services map[types.NamespacedName]*entry
	order    []types.NamespacedName // sorted keys of services
	applied  map[string]uint64      // per-service nat chains installed, and their rules' hash
	lastFull time.Time
	needFull bool
	flows    []Flow // stale flows still to flush
	reported map[types.NamespacedName]string
}

// entry is one Service as last built.
type entry struct {
	ports []*proxy.ServicePort
	eps   proxy.EndpointsMap
	rules []*ServiceRules
	nat   int // rules in its chains
}

// New returns a proxier; add its handlers to the informers, then Run it
// once they have synced.
func New(cfg Config) *Proxier {
	p := &Proxier{
		cfg: cfg, seed: maphash.MakeSeed(),
		services: map[types.NamespacedName]*entry{},
		applied:  map[string]uint64{},
		reported: map[types.NamespacedName]string{},
	}
	p.tracker = proxy.NewTracker(cfg.NodeName, p.queued)
	p.runner = proxy.NewRunner(cfg.MinSyncPeriod, cfg.SyncPeriod, p.Sync, cfg.Log)
	return p
}

// ServiceHandler and SliceHandler are the informers' handlers.
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

// Run prepares the host and syncs until ctx ends.
func (p *Proxier) Run(ctx context.Context) error {
	if err := setupHost(ctx, p.cfg.Sysctls, p.cfg.Rules.LocalhostNodePorts()); err != nil {
		p.cfg.Log.Error("could not prepare the host; Services may not work from pods on the bridge or on localhost NodePorts", "err", err)
	}
	return p.runner.Run(ctx)
}

func (p *Proxier) hash(c Chain) uint64 {
	var h maphash.Hash
	h.SetSeed(p.seed)
	for _, r := range c.Rules {
		h.WriteString(r)
		h.WriteByte('\n')
	}
	return h.Sum64()
}

// Sync writes the rules: on a full sync every chain (and removes chains
// of ours that should not exist), otherwise only the top-level chains
// and the chains of Services that changed and whose rules differ. It is
// one iptables-restore: all or nothing.
func (p *Proxier) Sync(ctx context.Context) error {
	start := time.Now()
	full := p.needFull || p.lastFull.IsZero() || start.Sub(p.lastFull) >= proxy.FullSyncPeriod
	ch := p.tracker.Take(full)
	svcs, eps := p.tracker.Pending()
	p.cfg.Metrics.ServicesPending.Set(float64(svcs))
	p.cfg.Metrics.EndpointsPending.Set(float64(eps))

	var (
		write   []Chain
		deleted []string
		flows   []Flow
		reorder bool
	)
	for _, st := range ch.Services {
		p.report(st)
		st.Ports = slices.DeleteFunc(st.Ports, func(sp *proxy.ServicePort) bool {
			return slices.Contains(p.cfg.LocalVIPs, sp.ClusterIP)
		})
		old := p.services[st.Name]
		var ne *entry
		if len(st.Ports) > 0 {
			ne = &entry{ports: st.Ports, eps: st.Endpoints}
			for _, sp := range st.Ports {
				r := BuildService(p.cfg.Rules, sp, st.Endpoints[sp.Name])
				ne.rules = append(ne.rules, r)
				for _, c := range r.Chains {
					ne.nat += len(c.Rules)
				}
			}
		}
		flows = append(flows, staleFlows(old, ne)...)
		if !full {
			keep := map[string]bool{}
			for _, c := range ne.chains() {
				keep[c.Name] = true
				if h, ok := p.applied[c.Name]; !ok || h != p.hash(c) {
					write = append(write, c)
				}
			}
			for _, c := range old.chains() {
				if !keep[c.Name] {
					deleted = append(deleted, c.Name)
				}
			}
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
	if reorder || full {
		p.order = p.order[:0]
		for name := range p.services {
			p.order = append(p.order, name)
		}
		slices.SortFunc(p.order, func(a, b types.NamespacedName) int {
			if a.Namespace != b.Namespace {
				return cmpString(a.Namespace, b.Namespace)
			}
			return cmpString(a.Name, b.Name)
		})
	}
	var all []*ServiceRules
	natTotal := 0
	for _, name := range p.order {
		e := p.services[name]
		all = append(all, e.rules...)
		natTotal += e.nat
	}
	filter, nat := TopLevel(p.cfg.Rules, all)
	r := &Restore{Filter: filter, NAT: nat}
	var applied map[string]uint64
	if full {
		existing, err := p.cfg.Exec.Chains(ctx, "nat")
		if err != nil {
			return p.failed(ch, flows, fmt.Errorf("list nat chains: %w", err))
		}
		applied = make(map[string]uint64, len(p.applied))
		for _, name := range p.order {
			for _, c := range p.services[name].chains() {
				r.NAT = append(r.NAT, c)
				applied[c.Name] = p.hash(c)
			}
		}
		for _, c := range existing {
			if _, want := applied[c]; !want && p.cfg.Rules.Names.perService(c) {
				r.Deleted = append(r.Deleted, c)
			}
		}
	} else {
		r.NAT = append(r.NAT, write...)
		r.Deleted = deleted
	}
	if err := p.cfg.Exec.Restore(ctx, []byte(r.String())); err != nil {
		p.cfg.Metrics.RestoreFailures.Inc()
		return p.failed(ch, flows, err)
	}
	if full {
		if err := p.cfg.Exec.EnsureJumps(ctx, p.jumps(), p.cfg.Rules.Names.owned); err != nil {
			return p.failed(ch, flows, fmt.Errorf("jumps to our chains: %w", err))
		}
		p.applied = applied
		p.lastFull = start
	} else {
		for _, c := range write {
			p.applied[c.Name] = p.hash(c)
		}
		for _, d := range deleted {
			delete(p.applied, d)
		}
	}
	p.needFull = false
	p.flushFlows(ctx, append(p.flows, flows...))
	p.flows = nil

	done := time.Now()
	elapsed := done.Sub(start).Seconds()
	m := p.cfg.Metrics
	m.SyncDuration.Observe(elapsed)
	if full {
		m.SyncFullDuration.Observe(elapsed)
	} else {
		m.SyncPartialDuration.Observe(elapsed)
	}
	fw, nw := r.Rules()
	m.RulesLast.WithLabelValues("filter").Set(float64(fw))
	m.RulesLast.WithLabelValues("nat").Set(float64(nw))
	top := 0
	for _, c := range nat {
		top += len(c.Rules)
	}
	m.RulesTotal.WithLabelValues("filter").Set(float64(fw))
	m.RulesTotal.WithLabelValues("nat").Set(float64(top + natTotal))
	m.LastSync.Set(float64(done.UnixNano()) / 1e9) // last: a scrape seeing it sees the rest
	proxy.ObserveNetworkProgramming(m.NetworkProgramming, ch.Triggers, done)
	p.cfg.Health.Updated()
	p.cfg.Log.Debug("synced rules", "full", full, "services", len(p.services), "changed", len(ch.Services),
		"chainsWritten", len(r.NAT)+len(r.Filter), "chainsDeleted", len(r.Deleted), "filterRules", fw, "natRules", nw,
		"duration", done.Sub(start))
	return nil
}

// failed records a sync that changed nothing: the next one is full, and
// ch's trigger times go back to the tracker so that the sync installing
// the changes measures them.
func (p *Proxier) failed(ch proxy.Changes, flows []Flow, err error) error {
	p.needFull = true
	p.tracker.RequeueTriggers(ch.Triggers)
	p.flows = append(p.flows, flows...)
	p.cfg.Health.Queued()
	return err
}

func (e *entry) chains() []Chain {
	if e == nil {
		return nil
	}
	var out []Chain
	for _, r := range e.rules {
		out = append(out, r.Chains...)
	}
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
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

// jumps are the rules in built-in chains that send traffic to ours, as
// kube-proxy's.
func (p *Proxier) jumps() []Jump {
	n := p.cfg.Rules.Names
	newConn := []string{"-m", "conntrack", "--ctstate", "NEW"}
	var js []Jump
	if p.cfg.Rules.LocalhostNodePorts() {
		js = append(js,
			Jump{Table: "filter", From: "INPUT", To: n.Firewall, Comment: "kubernetes localnet firewall"},
			Jump{Table: "filter", From: "OUTPUT", To: n.Firewall, Comment: "kubernetes localnet firewall"})
	}
	return append(js,
		Jump{Table: "filter", From: "INPUT", To: n.ExternalServices, Comment: "kubernetes externally-visible service portals", Match: newConn},
		Jump{Table: "filter", From: "FORWARD", To: n.Services, Comment: "kubernetes service portals", Match: newConn},
		Jump{Table: "filter", From: "FORWARD", To: n.ExternalServices, Comment: "kubernetes externally-visible service portals", Match: newConn},
		Jump{Table: "filter", From: "FORWARD", To: n.Forward, Comment: "kubernetes forwarding rules"},
		Jump{Table: "filter", From: "OUTPUT", To: n.Services, Comment: "kubernetes service portals", Match: newConn},
		Jump{Table: "nat", From: "PREROUTING", To: n.Services, Comment: "kubernetes service portals"},
		Jump{Table: "nat", From: "OUTPUT", To: n.Services, Comment: "kubernetes service portals"},
		Jump{Table: "nat", From: "POSTROUTING", To: n.Postrouting, Comment: "kubernetes postrouting rules"},
	)
}

func (p *Proxier) flushFlows(ctx context.Context, flows []Flow) {
	FlushFlows(ctx, p.cfg.Conntrack, p.cfg.Log, flows)
}
