package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/controlplane"
)

// result is what one size and mode measured.
type result struct {
	mode     string
	services int
	// unavailable is why the mode could not run ("" when it ran).
	unavailable string
	// tooSlow says that the first sync did not end within the timeout
	// (nothing else was measured), notRun that a smaller size's did not;
	// restartSlow, that the restarted proxy's first sync did not.
	tooSlow, notRun, restartSlow bool

	rules         float64       // owned by the proxy, all tables
	startToSynced time.Duration // process start to the first rules installed
	firstFull     time.Duration // the first sync, into empty tables
	restartFull   time.Duration // the first sync of a restarted proxy
	latencies     []time.Duration
	metFull       int           // changes that waited on a full sync
	partialMean   time.Duration // mean partial sync during the changes
}

// env is what every measurement shares.
type env struct {
	cfg     config
	dir     string
	bin     string
	apiURL  string
	apiPort int
	caFile  string
	token   string
	objs    *objects
}

func run(ctx context.Context, cfg config) (err error) {
	if max := slices.Max(cfg.sizes) * cfg.endpoints; max >= spareBase {
		return fmt.Errorf("%d endpoints do not fit the address range (at most %d)", max, spareBase-1)
	}
	dir, err := os.MkdirTemp("", "proxybench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := cluster.Binary("proxy", "gantry-proxy")
	if err != nil {
		return err
	}

	logf("starting gantry-store and gantry-apiserver")
	flavor, err := cluster.LookupFlavor(cluster.Gantry)
	if err != nil {
		return err
	}
	store, err := cluster.Launch(ctx, cluster.Options{Flavor: flavor, Members: 1})
	if err != nil {
		return fmt.Errorf("start gantry-store: %w", err)
	}
	defer store.Close()
	cp, err := controlplane.Launch(ctx, store, dir, controlplane.Options{})
	if err != nil {
		return fmt.Errorf("start gantry-apiserver: %w", err)
	}
	defer cp.Close()
	kube, err := kubernetes.NewForConfig(&rest.Config{
		Host: cp.Servers[0].URL, BearerToken: cp.AdminToken, TLSClientConfig: rest.TLSClientConfig{CAFile: cp.CAFile},
		QPS: -1, ContentConfig: rest.ContentConfig{ContentType: "application/vnd.kubernetes.protobuf"}, UserAgent: "proxybench",
	})
	if err != nil {
		return err
	}
	token := filepath.Join(dir, "admin.token")
	if err := os.WriteFile(token, []byte(cp.AdminToken+"\n"), 0o600); err != nil {
		return err
	}
	e := &env{cfg: cfg, dir: dir, bin: bin, apiURL: cp.Servers[0].URL, apiPort: cp.Servers[0].Port,
		caFile: cp.CAFile, token: token, objs: &objects{kube: kube, endpoints: cfg.endpoints}}
	if err := e.objs.ensureNamespace(ctx); err != nil {
		return err
	}

	var results []result
	unavailable := map[string]string{}
	slow := map[string]int{} // mode -> the size whose first sync took too long
	for _, n := range cfg.sizes {
		logf("creating Services up to %d (%d workers)", n, cfg.workers)
		if err := e.objs.grow(ctx, n, cfg.workers); err != nil {
			return err
		}
		for _, mode := range cfg.modes {
			if reason, ok := unavailable[mode]; ok {
				results = append(results, result{mode: mode, services: n, unavailable: reason})
				continue
			}
			if at, ok := slow[mode]; ok {
				logf("%s, %d Services: not run (the first sync with %d took longer than %v)", mode, n, at, cfg.timeout)
				results = append(results, result{mode: mode, services: n, notRun: true})
				continue
			}
			r, err := e.measure(ctx, mode, n)
			if err == nil && r.tooSlow {
				slow[mode] = n
			}
			var na *unavailableError
			if mode != "iptables" && errors.As(err, &na) {
				fmt.Printf("%s: not available (%s)\n", mode, na.reason)
				unavailable[mode] = na.reason
				results = append(results, result{mode: mode, services: n, unavailable: na.reason})
				continue
			}
			if err != nil {
				return fmt.Errorf("%s, %d Services: %w", mode, n, err)
			}
			results = append(results, r)
		}
	}
	printTable(os.Stdout, cfg, results)
	return nil
}

// proxyArgs are gantry-proxy's flags for mode.
func (e *env) proxyArgs(mode string) []string {
	return []string{
		"--proxy-mode", mode, "--hostname-override", proxyNode,
		"--api-servers", e.apiURL, "--ca-file", e.caFile, "--token-file", e.token,
		"--cluster-cidr", clusterCIDR, "--cluster-dns", "",
		"--iptables-min-sync-period", e.cfg.minSyncPeriod.String(),
		"--iptables-sync-period", e.cfg.syncPeriod.String(),
		"--metrics-bind-address", metricsAddr, "--healthz-bind-address", healthzAddr,
	}
}

// measure runs the three measurements for n Services in mode, each
// proxy in a fresh namespace.
func (e *env) measure(ctx context.Context, mode string, n int) (r result, err error) {
	r = result{mode: mode, services: n}
	sb, err := newSandbox(ctx, fmt.Sprintf("proxybench-%d-%s-%d", os.Getpid(), mode, n), e.apiPort)
	if err != nil {
		return r, err
	}
	defer func() {
		if cerr := sb.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	logPath := func(run int) string { return filepath.Join(e.dir, fmt.Sprintf("proxy-%s-%d-%d.log", mode, n, run)) }

	// 1. A proxy starting on empty tables.
	logf("%s, %d Services: starting gantry-proxy in namespace %s", mode, n, sb.name)
	p, err := startProxy(sb, e.bin, logPath(1), e.proxyArgs(mode))
	if err != nil {
		return r, err
	}
	defer p.stop()
	m, err := p.waitFirstSync(ctx, e.cfg.timeout)
	var slow *tooSlowError
	if errors.As(err, &slow) {
		logf("  %v", err)
		r.tooSlow = true
		return r, nil
	}
	if err != nil {
		return r, err
	}
	if m.count(fullSyncMetric) < 1 {
		return r, errors.New("the first sync after start was not a full one")
	}
	// The first scrape showing a sync (polled every 50 ms; a second
	// sync comes at least the minimum sync period later).
	r.startToSynced = m.lastSync().Sub(p.started)
	r.firstFull = seconds(m.sum(fullSyncMetric) / m.count(fullSyncMetric))
	r.rules = m.rules()
	logf("  first sync %v (process start to rules installed %v), %.0f rules", r.firstFull.Round(time.Millisecond),
		r.startToSynced.Round(time.Millisecond), r.rules)
	if mode == "iptables" {
		if err := e.checkServiceRules(ctx, sb, n); err != nil {
			return r, err
		}
	}

	// 2. Single changes.
	if err := e.changes(ctx, p, mode, n, &r); err != nil {
		return r, fmt.Errorf("%w\n%s", err, p.proc.LogTail(20))
	}

	// 3. A full resync over existing rules: restart the proxy.
	if !e.cfg.resync {
		return r, p.stop()
	}
	if err := p.stop(); err != nil {
		return r, err
	}
	logf("  restarting gantry-proxy over its rules")
	p, err = startProxy(sb, e.bin, logPath(2), e.proxyArgs(mode))
	if err != nil {
		return r, err
	}
	defer p.stop()
	m, err = p.waitFirstSync(ctx, e.cfg.timeout)
	if errors.As(err, &slow) {
		logf("  %v", err)
		r.restartSlow = true
		return r, p.stop()
	}
	if err != nil {
		return r, err
	}
	if m.count(fullSyncMetric) < 1 {
		return r, errors.New("the first sync after a restart was not a full one")
	}
	r.restartFull = seconds(m.sum(fullSyncMetric) / m.count(fullSyncMetric))
	logf("  full resync %v", r.restartFull.Round(time.Millisecond))
	if f := m[restoreFailureMetric]; f > 0 {
		return r, fmt.Errorf("%v failed restores", f)
	}
	return r, p.stop()
}

// changes makes cfg.changes single endpoint changes, one at a time, and
// records each one's network programming latency.
func (e *env) changes(ctx context.Context, p *proxyProc, mode string, n int, r *result) error {
	logf("  %d single endpoint changes", e.cfg.changes)
	var first, last metrics
	var removed, added string
	for c := range e.cfg.changes {
		before, err := e.settle(ctx, p)
		if err != nil {
			return err
		}
		if first == nil {
			first = before
		}
		i := (c*7919 + 17) % n
		if removed, added, err = e.objs.change(ctx, i); err != nil {
			return err
		}
		after, err := e.waitProgrammed(ctx, p, before)
		if err != nil {
			return fmt.Errorf("change %d (%s: %s -> %s): %w", c, serviceName(i), removed, added, err)
		}
		if d := after.count(programmingMetric) - before.count(programmingMetric); d != 1 {
			return fmt.Errorf("change %d: %v network programming samples, want 1 (something else changed)", c, d)
		}
		lat := seconds(after.sum(programmingMetric) - before.sum(programmingMetric))
		r.latencies = append(r.latencies, lat)
		if after.count(fullSyncMetric) > before.count(fullSyncMetric) {
			r.metFull++
		}
		last = after
	}
	if dn := last.count(partialSyncMetric) - first.count(partialSyncMetric); dn > 0 {
		r.partialMean = seconds((last.sum(partialSyncMetric) - first.sum(partialSyncMetric)) / dn)
	}
	s := slices.Sorted(slices.Values(r.latencies))
	logf("  p50 %v, p99 %v, max %v", percentile(s, 0.5), percentile(s, 0.99), s[len(s)-1])
	return e.checkLastChange(ctx, p.sb, mode, removed, added)
}

// settle waits until the proxy is idle, so that a change sent now is
// synced at once, and returns its metrics then: no sync has ended for a
// window of the minimum sync period plus three mean partial syncs (at
// least 300 ms). Syncs the proxy starts by itself are then over: a
// second one after the first, for the events of its initial list; the
// nftables proxier's removal of emptied chains a second after a change.
func (e *env) settle(ctx context.Context, p *proxyProc) (metrics, error) {
	for {
		m, err := p.scrape(ctx)
		if err != nil {
			return nil, err
		}
		window := 300 * time.Millisecond
		if n := m.count(partialSyncMetric); n > 0 {
			window = max(window, 3*seconds(m.sum(partialSyncMetric)/n))
		}
		wait := time.Until(m.lastSync().Add(e.cfg.minSyncPeriod + window))
		if wait <= 0 {
			return m, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// waitProgrammed polls the proxy until it has observed a network
// programming sample more than before.
func (e *env) waitProgrammed(ctx context.Context, p *proxyProc, before metrics) (metrics, error) {
	deadline := time.Now().Add(e.cfg.timeout)
	for {
		if err := p.proc.Crashed(); err != nil {
			return nil, err
		}
		m, err := p.scrape(ctx)
		if err == nil && m.count(programmingMetric) > before.count(programmingMetric) {
			return m, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("not programmed within %v (last scrape error %v)", e.cfg.timeout, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// checkServiceRules checks, in the namespace's nat table, that
// KUBE-SERVICES sends every benchmark Service's cluster IP to its chain.
func (e *env) checkServiceRules(ctx context.Context, sb *sandbox, n int) error {
	out, err := sb.run(ctx, "iptables", "-w", "-t", "nat", "-S", "KUBE-SERVICES")
	if err != nil {
		return err
	}
	got := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, `"`+namespace+`/`) && strings.Contains(l, "cluster IP") && strings.Contains(l, "-j KUBE-SVC-") {
			got++
		}
	}
	if got != n {
		return fmt.Errorf("KUBE-SERVICES has %d of the %d Services after the first sync", got, n)
	}
	return nil
}

// checkLastChange checks in the rules that the last change is
// installed: a DNAT to the added address, none to the removed one (in
// nftables mode: the address in an endpoint map, "n-m : addr . port").
func (e *env) checkLastChange(ctx context.Context, sb *sandbox, mode, removed, added string) error {
	var (
		out string
		err error
		has func(addr string) bool
	)
	switch mode {
	case "iptables":
		out, err = sb.run(ctx, "iptables-save", "-t", "nat")
		has = func(addr string) bool {
			return strings.Contains(out, "--to-destination "+addr+":8080\n") || strings.Contains(out, "--to-destination "+addr+":8080 ")
		}
	case "nftables":
		out, err = sb.run(ctx, "nft", "list", "table", "ip", "kube-proxy")
		has = func(addr string) bool { return strings.Contains(out, " : "+addr+" . 8080") }
	default:
		return nil
	}
	if err != nil {
		return err
	}
	if !has(added) {
		return fmt.Errorf("no DNAT to %s:8080 in the %s rules, the last change's new endpoint", added, mode)
	}
	if has(removed) {
		return fmt.Errorf("a DNAT to %s:8080 is left in the %s rules, the endpoint the last change removed", removed, mode)
	}
	return nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// percentile is the nearest-rank q-quantile of sorted.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
