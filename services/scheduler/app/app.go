package app

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/cache"
	"github.com/gantry-dev/gantry/services/scheduler/internal/config"
	"github.com/gantry-dev/gantry/services/scheduler/internal/extender"
	"github.com/gantry-dev/gantry/services/scheduler/internal/metrics"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins"
	"github.com/gantry-dev/gantry/services/scheduler/internal/queue"
	"github.com/gantry-dev/gantry/services/scheduler/internal/runtime"
	"github.com/gantry-dev/gantry/services/scheduler/internal/scheduler"
)

// Main runs gantry-scheduler with args and returns its exit code.
func Main(args []string, opts ...Option) int {
	cfg, err := ParseFlags(args)
	if err != nil {
		if errors.Is(err, flagHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "gantry-scheduler:", err)
		return 2
	}
	for _, o := range opts {
		o(cfg)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer sdnotify.StoppingWhenDone(ctx)()
	if err := Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "gantry-scheduler:", err)
		return 1
	}
	return 0
}

// Run runs the scheduler until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	conf := config.Default()
	if cfg.ConfigFile != "" {
		var err error
		if conf, err = config.Load(cfg.ConfigFile); err != nil {
			return err
		}
	}
	registry := plugins.InTree()
	if err := registry.Merge(cfg.Plugins); err != nil {
		return err
	}
	var exts []runtime.Extender
	for i, raw := range conf.Extenders {
		var ec extender.Config
		if err := json.Unmarshal(raw, &ec); err != nil {
			return fmt.Errorf("extenders[%d]: %w", i, err)
		}
		e, err := extender.New(ec)
		if err != nil {
			return fmt.Errorf("extenders[%d]: %w", i, err)
		}
		exts = append(exts, e)
	}

	c, err := client.New(client.Config{
		Endpoints: cfg.APIServers, CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile,
		TokenFile: cfg.TokenFile, UserAgent: "gantry-scheduler", Log: cfg.Log,
	})
	if err != nil {
		return fmt.Errorf("API client: %w", err)
	}
	defer c.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
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
		if err := schedule(ctx, cfg, conf, registry, exts, c, m, &ready); err != nil {
			cfg.Log.Error("scheduler stopped", "err", err)
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
			// Like kube-scheduler: exit, and let the supervisor restart a
			// fresh candidate rather than risk a stale cache.
			return err
		}
		return nil
	})
	return g.Wait()
}

// schedule runs the informers and the scheduling loop (as the leader).
func schedule(ctx context.Context, cfg *Config, conf *config.Configuration, registry framework.Registry,
	exts []runtime.Extender, c *client.Client, m *metrics.Metrics, ready *atomic.Bool) error {
	defer ready.Store(false)
	q := queue.New(queue.Config{
		InitialBackoff: time.Duration(conf.PodInitialBackoffSeconds) * time.Second,
		MaxBackoff:     time.Duration(conf.PodMaxBackoffSeconds) * time.Second,
	})
	api := &scheduler.ClientAPI{C: c, Queue: q, Recorders: map[string]*client.EventRecorder{}}
	for _, p := range conf.Profiles {
		api.Recorders[p.SchedulerName] = client.NewEventRecorder(c, p.SchedulerName, cfg.Identity)
	}
	factory := client.NewInformerFactory(c, "", 0)
	pcInformer := client.InformerFor(factory, client.PriorityClasses)
	pcLister := client.Lister(client.PriorityClasses(c), pcInformer)
	priorityValue := func(name string) (int32, bool) {
		pc, err := pcLister.Get(name)
		if err != nil {
			return 0, false
		}
		return pc.Value, true
	}

	volumes, err := newVolumeLister(c, factory, q)
	if err != nil {
		return err
	}

	profiles := map[string]*runtime.Framework{}
	pluginEvents := map[string][]framework.ClusterEvent{}
	for _, p := range conf.Profiles {
		var refs []runtime.PluginRef
		for _, r := range p.EnabledPlugins() {
			refs = append(refs, runtime.PluginRef{Name: r.Name, Weight: r.Weight})
		}
		fwk, err := runtime.New(runtime.Options{
			SchedulerName: p.SchedulerName, Plugins: refs, PluginArgs: p.Args(), Registry: registry,
			Client: api, Parallelism: conf.Parallelism, PercentageOfNodesToScore: conf.PercentageOfNodesToScore,
			PriorityClassValue: priorityValue, Volumes: volumes, Extenders: exts, Observe: m.ObservePlugin,
		})
		if err != nil {
			return err
		}
		profiles[p.SchedulerName] = fwk
		for k, v := range fwk.PluginEvents() {
			pluginEvents[k] = append(pluginEvents[k], v...)
		}
	}
	q.SetPluginEvents(pluginEvents)
	cch := cache.New()
	sched := scheduler.New(scheduler.Config{Profiles: profiles, Queue: q, Cache: cch, API: api, Metrics: m, Log: cfg.Log.With("component", "scheduler")})

	podInformer := client.InformerFor(factory, client.Pods)
	nodeInformer := client.InformerFor(factory, client.Nodes)
	if _, err := podInformer.AddEventHandler(sched.PodHandler()); err != nil {
		return err
	}
	if _, err := nodeInformer.AddEventHandler(sched.NodeHandler()); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	factory.Start(ctx)
	defer factory.Wait()
	if !factory.WaitForCacheSync(ctx) {
		return ctx.Err()
	}
	cfg.Log.Info("caches synced; scheduling", "profiles", len(profiles))
	ready.Store(true)
	go q.Run(ctx)
	go reportQueue(ctx, q, m)
	sched.Run(ctx)
	return nil
}

func reportQueue(ctx context.Context, q *queue.Queue, m *metrics.Metrics) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a, b, u := q.Lengths()
			m.PendingPods.WithLabelValues("active").Set(float64(a))
			m.PendingPods.WithLabelValues("backoff").Set(float64(b))
			m.PendingPods.WithLabelValues("unschedulable").Set(float64(u))
		}
	}
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
