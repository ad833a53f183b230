package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/libs/client/leaderelection"
	"github.com/gantry-dev/gantry/libs/sdnotify"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// Main runs gantry-controllers with args and returns its exit code.
func Main(args []string) int {
	cfg, err := ParseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "gantry-controllers:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer sdnotify.StoppingWhenDone(ctx)()
	if err := Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "gantry-controllers:", err)
		return 1
	}
	return 0
}

// Run runs the controllers until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	c, err := client.New(client.Config{
		Endpoints: cfg.APIServers, CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile,
		TokenFile: cfg.TokenFile, UserAgent: "gantry-controllers", Log: cfg.Log,
	})
	if err != nil {
		return fmt.Errorf("API client: %w", err)
	}
	defer c.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var ready atomic.Bool

	g, gctx := errgroup.WithContext(ctx)
	if cfg.MetricsAddress != "" {
		ln, err := net.Listen("tcp", cfg.MetricsAddress)
		if err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		g.Go(func() error { return serveHealth(gctx, ln, reg, &ready, cfg.Profiling) })
	}
	work := func(ctx context.Context) {
		if err := runControllers(ctx, cfg, c, reg, &ready); err != nil {
			cfg.Log.Error("controllers stopped", "err", err)
		}
	}
	// Ready for the service manager: /healthz is served; the Lease may
	// still be another candidate's (a standby is ready too).
	if err := sdnotify.Ready(); err != nil {
		cfg.Log.Warn("notify the service manager", "err", err)
	}
	if !cfg.LeaderElect {
		g.Go(func() error { work(gctx); return nil })
		return g.Wait()
	}
	el, err := leaderelection.New(leaderelection.Config{
		Leases: client.Leases(c), Namespace: cfg.LeaseNS, Name: cfg.LeaseName, Identity: cfg.Identity,
		LeaseDuration: cfg.LeaseDuration, RenewDeadline: cfg.RenewDeadline, RetryPeriod: cfg.RetryPeriod,
		ReleaseOnCancel: true, Log: cfg.Log,
		Callbacks: leaderelection.Callbacks{
			OnStartedLeading: work,
			OnNewLeader: func(id string) {
				cfg.Log.Info("leader", "identity", id, "me", id == cfg.Identity)
			},
		},
	})
	if err != nil {
		return err
	}
	g.Go(func() error {
		err := el.Run(gctx)
		if errors.Is(err, leaderelection.ErrLeadershipLost) {
			// Like kube-controller-manager: exit, and let the supervisor
			// restart a fresh candidate rather than act on stale caches
			// beside the new leader.
			return err
		}
		return nil
	})
	return g.Wait()
}

// runControllers builds every enabled controller, starts the shared
// informers and runs the controllers until ctx ends (as the leader).
func runControllers(ctx context.Context, cfg *Config, c *client.Client, reg *prometheus.Registry, ready *atomic.Bool) error {
	defer ready.Store(false)
	factory := client.NewInformerFactory(c, "", 0)
	// One term as leader per process (losing the Lease ends it), so the
	// controllers' collectors are registered once.
	cctx := controller.NewContext(c, factory, reg, cfg.Log, nil, cfg.Identity, cfg.Options)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	var started []string
	for _, e := range controllers {
		if !cfg.enabled(e.name, e.byDefault) {
			continue
		}
		r, err := e.new(cctx)
		if err != nil {
			return fmt.Errorf("controller %s: %w", e.name, err)
		}
		if r == nil {
			continue // nothing to do with these options
		}
		started = append(started, e.name)
		g.Go(func() error {
			if err := r.Run(gctx); err != nil && gctx.Err() == nil {
				return fmt.Errorf("controller %s: %w", e.name, err)
			}
			return nil
		})
	}
	factory.Start(gctx)
	defer factory.Wait()
	if !factory.WaitForCacheSync(gctx) {
		cancel()
		return g.Wait()
	}
	cfg.Log.Info("caches synced; controllers running", "controllers", started)
	ready.Store(true)
	g.Go(func() error { <-gctx.Done(); return nil })
	return g.Wait()
}

func serveHealth(ctx context.Context, ln net.Listener, reg *prometheus.Registry, ready *atomic.Bool, profiling bool) error {
	mux := http.NewServeMux()
	if profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "not leading, or caches not synced", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics server: %w", err)
	}
	return nil
}
