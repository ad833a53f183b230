// Package app is gantry-proxy's program: flags, the API client and
// informers, the proxier of the chosen mode, cluster DNS, /healthz and
// /metrics.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/gantry-dev/gantry/libs/sdnotify"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/knftables"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/proxy/internal/dns"
	"github.com/gantry-dev/gantry/services/proxy/internal/healthz"
	"github.com/gantry-dev/gantry/services/proxy/internal/iptables"
	"github.com/gantry-dev/gantry/services/proxy/internal/metrics"
	"github.com/gantry-dev/gantry/services/proxy/internal/nftables"
	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

// Main runs gantry-proxy with args and returns its exit code.
func Main(args []string) int {
	cfg, err := ParseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "gantry-proxy:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer sdnotify.StoppingWhenDone(ctx)()
	if cfg.Cleanup {
		if err := Cleanup(ctx, cfg); err != nil {
			fmt.Fprintln(os.Stderr, "gantry-proxy: cleanup:", err)
			return 1
		}
		return 0
	}
	if err := Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "gantry-proxy:", err)
		return 1
	}
	return 0
}

// Cleanup removes every chain and rule gantry-proxy owns, in either
// mode (the iptables chains of the prefix and the nftables table named
// after it), and the cluster DNS device. A host without iptables or
// without nft has nothing of that mode to remove, unless it is the mode
// asked for.
func Cleanup(ctx context.Context, cfg *Config) error {
	var errs []error
	ex, err := iptables.NewExec()
	switch {
	case err == nil:
		errs = append(errs, iptables.Cleanup(ctx, ex, iptables.NewNames(cfg.ChainPrefix)))
	case cfg.Mode == ModeNFTables:
		cfg.Log.Debug("no iptables: no iptables rules to remove", "err", err)
	default:
		errs = append(errs, err)
	}
	errs = append(errs, cleanupNFTables(ctx, cfg))
	if cfg.DNSDevice != "" {
		errs = append(errs, dns.RemoveDevice(cfg.DNSDevice))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	cfg.Log.Info("removed gantry-proxy's rules", "chainPrefix", cfg.ChainPrefix, "nftablesTable", nftables.TableName(cfg.ChainPrefix))
	return nil
}

// cleanupNFTables deletes the nftables mode's table. Without nft there
// is none; that is an error only in nftables mode.
func cleanupNFTables(ctx context.Context, cfg *Config) error {
	table := nftables.TableName(cfg.ChainPrefix)
	if !nftables.ValidTableName(table) {
		return nil // a prefix the nftables mode refuses never made a table
	}
	err := nftables.CleanupTable(ctx, table)
	if errors.Is(err, nftables.ErrUnsupported) && cfg.Mode != ModeNFTables {
		cfg.Log.Debug("no usable nft: no nftables table to remove", "err", err)
		return nil
	}
	return err
}

// cleanupOtherMode removes what the mode not chosen left (a proxy that
// ran in it before), as kube-proxy does: both modes' rules at once would
// fight over the same traffic. Failures are logged only.
func cleanupOtherMode(ctx context.Context, cfg *Config, mode string) {
	if mode == ModeNFTables {
		ex, err := iptables.NewExec()
		if err != nil {
			return // no iptables, no iptables rules
		}
		if err := iptables.Cleanup(ctx, ex, iptables.NewNames(cfg.ChainPrefix)); err != nil {
			cfg.Log.Warn("could not remove the iptables mode's rules", "chainPrefix", cfg.ChainPrefix, "err", err)
		}
		return
	}
	if err := cleanupNFTables(ctx, cfg); err != nil {
		cfg.Log.Warn("could not remove the nftables mode's table", "table", nftables.TableName(cfg.ChainPrefix), "err", err)
	}
}

// chooseMode returns the mode the proxier runs in: iptables or nftables
// as asked; ipvs falls back to iptables until its proxier exists.
// Whether the host can run nftables is checked when the proxier is made.
func chooseMode(ctx context.Context, cfg *Config) (string, error) {
	switch cfg.Mode {
	case ModeNFTables:
		return ModeNFTables, nil
	case ModeIPVS:
		if err := ipvsAvailable(ctx); err != nil {
			cfg.Log.Warn("IPVS is not available on this node; falling back to iptables mode", "reason", err)
		} else {
			cfg.Log.Warn("the kernel has IPVS, but gantry-proxy's IPVS mode is not implemented yet; using iptables mode")
		}
	}
	return ModeIPTables, nil
}

// ipvsAvailable reports why the kernel cannot do IPVS, or nil.
func ipvsAvailable(ctx context.Context) error {
	const proc = "/proc/net/ip_vs"
	if _, err := os.Stat(proc); err == nil {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "modprobe", "ip_vs").CombinedOutput(); err != nil {
		return fmt.Errorf("no %s and modprobe ip_vs failed: %v: %s", proc, err, strings.TrimSpace(string(out)))
	}
	if _, err := os.Stat(proc); err != nil {
		return fmt.Errorf("ip_vs loaded but %s is missing", proc)
	}
	return nil
}

// proxier is what Run needs of either mode's proxier.
type proxier interface {
	ServiceHandler() cache.ResourceEventHandler
	SliceHandler() cache.ResourceEventHandler
	Run(ctx context.Context) error
}

// Run runs the proxy until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	mode, err := chooseMode(ctx, cfg)
	if err != nil {
		return err
	}
	// The mode's tools, checked before anything starts.
	var (
		ex  *iptables.Exec
		nft knftables.Interface
		nl  *nftables.NetlinkWriter
	)
	if mode == ModeNFTables {
		if nft, err = nftables.NewInterface(ctx, nftables.TableName(cfg.ChainPrefix)); err != nil {
			return fmt.Errorf("--proxy-mode=nftables: %w", err)
		}
		if nl, err = nftables.NewNetlinkWriter(nftables.TableName(cfg.ChainPrefix)); err != nil {
			return fmt.Errorf("--proxy-mode=nftables: %w", err)
		}
		defer nl.Close()
	} else if ex, err = iptables.NewExec(); err != nil {
		return err
	}
	c, err := client.New(client.Config{
		Endpoints: cfg.APIServers, CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile,
		TokenFile: cfg.TokenFile, UserAgent: "gantry-proxy", Log: cfg.Log,
	})
	if err != nil {
		return fmt.Errorf("API client: %w", err)
	}
	defer c.Close()
	if cfg.FollowAPIServers {
		defer c.StartFollowingAPIServers(ctx, client.FollowAPIServersInterval)()
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	health := healthz.New(2 * cfg.SyncPeriod)
	var ct iptables.Conntrack
	if tool, err := iptables.NewTool(); err != nil {
		cfg.Log.Warn("stale conntrack entries will not be flushed", "err", err)
	} else {
		ct = tool
	}
	events := client.NewEventRecorder(c, "gantry-proxy", cfg.NodeName)
	report := func(svc *corev1.Service, p proxy.Problem) {
		events.Event(corev1.ObjectReference{Kind: "Service", APIVersion: "v1", Namespace: svc.Namespace,
			Name: svc.Name, UID: svc.UID, ResourceVersion: svc.ResourceVersion}, corev1.EventTypeWarning, p.Reason, p.Message)
	}
	var px proxier
	if mode == ModeNFTables {
		px = nftables.New(nftables.Config{
			Rules: nftables.RuleConfig{
				Table: nftables.TableName(cfg.ChainPrefix), MasqueradeBit: cfg.MasqueradeBit, MasqueradeAll: cfg.MasqueradeAll,
				ClusterCIDR: cfg.ClusterCIDR, NodePortAddresses: cfg.NodePortAddresses,
			},
			NodeName: cfg.NodeName, SyncPeriod: cfg.SyncPeriod, MinSyncPeriod: cfg.MinSyncPeriod,
			NFT: nft, Elements: nl, Sysctls: iptables.Host{Log: cfg.Log}, Conntrack: ct,
			Metrics: metrics.New(reg), Health: health, Log: cfg.Log.With("component", "proxier"),
			LocalVIPs: cfg.DNSAddresses, Report: report,
		})
	} else {
		px = iptables.New(iptables.Config{
			Rules: iptables.RuleConfig{
				Names: iptables.NewNames(cfg.ChainPrefix), MasqueradeBit: cfg.MasqueradeBit, MasqueradeAll: cfg.MasqueradeAll,
				ClusterCIDR: cfg.ClusterCIDR, NodePortAddresses: cfg.NodePortAddresses, RandomFully: ex.HasRandomFully(),
			},
			NodeName: cfg.NodeName, SyncPeriod: cfg.SyncPeriod, MinSyncPeriod: cfg.MinSyncPeriod,
			Exec: ex, Sysctls: iptables.Host{Log: cfg.Log}, Conntrack: ct,
			Metrics: metrics.New(reg), Health: health, Log: cfg.Log.With("component", "proxier"),
			LocalVIPs: cfg.DNSAddresses, Report: report,
		})
	}
	factory := client.NewInformerFactory(c, "", 0)
	if _, err := client.InformerFor(factory, client.Services).AddEventHandler(px.ServiceHandler()); err != nil {
		return err
	}
	if _, err := client.InformerFor(factory, client.EndpointSlices).AddEventHandler(px.SliceHandler()); err != nil {
		return err
	}
	var dnsServer *dns.Server
	if len(cfg.DNSAddresses) > 0 {
		listen := make([]string, len(cfg.DNSAddresses))
		for i, a := range cfg.DNSAddresses {
			listen[i] = netip.AddrPortFrom(a, 53).String()
		}
		dnsServer, err = dns.New(dns.Config{
			Informers: factory, Listen: listen, Domain: cfg.ClusterDomain, Upstreams: cfg.DNSUpstreams,
			ResolvConf: cfg.ResolvConf, Device: cfg.DNSDevice, Log: cfg.Log.With("component", "dns"), Registerer: reg,
		})
		if err != nil {
			return err
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	healthHandler := healthzHandler(health, dnsServer)
	if err := serve(gctx, g, cfg, reg, healthHandler); err != nil {
		return err
	}
	factory.Start(gctx)
	defer factory.Wait()
	if !factory.WaitForCacheSync(gctx) {
		return g.Wait()
	}
	cfg.Log.Info("caches synced; programming rules", "mode", mode, "node", cfg.NodeName,
		"clusterCIDR", cfg.ClusterCIDR, "chainPrefix", cfg.ChainPrefix)
	cleanupOtherMode(gctx, cfg, mode)
	g.Go(func() error { return px.Run(gctx) })
	go func() {
		// systemd's Type=notify readiness: the rules are programmed.
		select {
		case <-health.Synced():
			if err := sdnotify.Ready(); err != nil {
				cfg.Log.Warn("telling the service manager we are ready", "err", err)
			}
		case <-gctx.Done():
		}
	}()
	if dnsServer != nil {
		g.Go(func() error { return dnsServer.Run(gctx) })
	}
	return g.Wait()
}

// healthzHandler is kube-proxy's /healthz (rules programmed recently),
// and also fails while cluster DNS is not serving.
func healthzHandler(h *healthz.Tracker, d *dns.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d != nil {
			if err := d.Healthy(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// serve starts the /metrics and /healthz servers (one server when they
// share an address).
func serve(ctx context.Context, g *errgroup.Group, cfg *Config, reg *prometheus.Registry, health http.Handler) error {
	muxes := map[string]*http.ServeMux{}
	mux := func(addr string) *http.ServeMux {
		if m, ok := muxes[addr]; ok {
			return m
		}
		m := http.NewServeMux()
		muxes[addr] = m
		return m
	}
	if cfg.HealthzAddress != "" {
		m := mux(cfg.HealthzAddress)
		m.Handle("GET /healthz", health)
		m.Handle("GET /livez", health)
	}
	if cfg.MetricsAddress != "" {
		m := mux(cfg.MetricsAddress)
		m.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		if cfg.MetricsAddress != cfg.HealthzAddress {
			m.Handle("GET /healthz", health)
		}
	}
	for addr, m := range muxes {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		srv := &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
		g.Go(func() error {
			<-ctx.Done()
			return srv.Close()
		})
		g.Go(func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("http server on %s: %w", addr, err)
			}
			return nil
		})
	}
	return nil
}
