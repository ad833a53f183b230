package app

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/libs/client/leaderelection"
	"github.com/gantry-dev/gantry/libs/sdnotify"
	"github.com/gantry-dev/gantry/services/ingress/internal/controller"
	"github.com/gantry-dev/gantry/services/ingress/internal/proxy"
	"github.com/gantry-dev/gantry/services/ingress/internal/tlscerts"
)

// Main runs gantry-ingress with args and returns its exit code.
func Main(args []string) int {
	cfg, err := ParseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "gantry-ingress:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer sdnotify.StoppingWhenDone(ctx)()
	if err := Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "gantry-ingress:", err)
		return 1
	}
	return 0
}

// Run serves Ingresses until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	log := cfg.Log
	c, err := client.New(client.Config{
		Endpoints: cfg.APIServers, CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile,
		TokenFile: cfg.TokenFile, UserAgent: "gantry-ingress", Log: log,
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

	// Bind every port first, so a taken port fails the start.
	var httpLn, httpsLn, metricsLn net.Listener
	for _, l := range []struct {
		addr string
		ln   *net.Listener
		what string
	}{{cfg.HTTPAddress, &httpLn, "http"}, {cfg.HTTPSAddress, &httpsLn, "https"}, {cfg.MetricsAddress, &metricsLn, "metrics"}} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			closeAll(httpLn, httpsLn, metricsLn)
			return fmt.Errorf("%s listener: %w", l.what, err)
		}
		*l.ln = ln
	}
	defer closeAll(httpLn, httpsLn, metricsLn)

	px, err := proxy.New(proxy.Config{
		MaxBodySize: cfg.MaxBodySize, ConnectTimeout: cfg.ProxyConnectTimeout, ReadTimeout: cfg.ProxyReadTimeout,
		Tries: cfg.ProxyTries, Registerer: reg, Log: log,
	})
	if err != nil {
		return err
	}
	selfSigned, err := tlscerts.SelfSigned(time.Now())
	if err != nil {
		return err
	}
	var certs tlscerts.Current
	factory := client.NewInformerFactory(c, "", 0)
	host, _ := os.Hostname()
	ctl, err := controller.New(controller.Config{
		Factory: factory, Class: cfg.IngressClass,
		SetTable: px.SetTable, SetCerts: certs.Set,
		SelfSigned: selfSigned, DefaultCertSecret: cfg.DefaultSSLCertificate,
		Recorder:   client.NewEventRecorder(c, "gantry-ingress", host),
		Registerer: reg, Log: log,
	})
	if err != nil {
		return err
	}
	if err := controller.EnsureClass(ctx, client.IngressClasses(c), cfg.IngressClass, log); err != nil {
		// Not fatal: Ingresses naming the class are served without it.
		log.Error("could not ensure the IngressClass", "class", cfg.IngressClass, "err", err)
	}

	var ready atomic.Bool
	g, gctx := errgroup.WithContext(ctx)
	factory.Start(gctx)
	defer factory.Wait()
	if metricsLn != nil {
		g.Go(func() error { return serveMetrics(gctx, metricsLn, reg, &ready) })
	}
	synced := make(chan struct{})
	g.Go(func() error { return ctl.Run(gctx, func() { close(synced) }) })
	g.Go(func() error {
		select {
		case <-gctx.Done():
			return nil
		case <-synced:
		}
		log.Info("configuration loaded; serving", "http", addrOf(httpLn), "https", addrOf(httpsLn), "class", cfg.IngressClass)
		ready.Store(true)
		// The listeners are bound (before Run went on) and the routes loaded.
		if err := sdnotify.Ready(); err != nil {
			log.Warn("notify the service manager", "err", err)
		}
		return serveTraffic(gctx, cfg, px, &certs, httpLn, httpsLn)
	})
	if cfg.UpdateStatus {
		g.Go(func() error { runStatus(gctx, cfg, c, ctl); return nil })
	}
	return g.Wait()
}

func closeAll(lns ...net.Listener) {
	for _, ln := range lns {
		if ln != nil {
			ln.Close()
		}
	}
}

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// serveTraffic serves the proxy on the HTTP and HTTPS listeners until ctx
// ends, then lets requests in flight finish within the grace period.
func serveTraffic(ctx context.Context, cfg *Config, h http.Handler, certs *tlscerts.Current, httpLn, httpsLn net.Listener) error {
	newServer := func() *http.Server {
		return &http.Server{
			Handler: h, ReadHeaderTimeout: cfg.ClientHeaderTimeout, IdleTimeout: cfg.KeepaliveTimeout,
			ErrorLog: nil, MaxHeaderBytes: 1 << 20,
		}
	}
	var servers []*http.Server
	g := new(errgroup.Group)
	if httpLn != nil {
		srv := newServer()
		servers = append(servers, srv)
		g.Go(func() error { return serveErr("http", srv.Serve(httpLn)) })
	}
	if httpsLn != nil {
		srv := newServer()
		srv.TLSConfig = &tls.Config{GetCertificate: certs.GetCertificate, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
		servers = append(servers, srv)
		g.Go(func() error { return serveErr("https", srv.ServeTLS(httpsLn, "", "")) })
	}
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		defer cancel()
		for _, srv := range servers {
			if err := srv.Shutdown(sctx); err != nil {
				srv.Close()
			}
		}
		return nil
	})
	return g.Wait()
}

func serveErr(what string, err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("%s server: %w", what, err)
}

// runStatus writes the published address to the Ingresses' status,
// under leader election when asked.
func runStatus(ctx context.Context, cfg *Config, c *client.Client, ctl *controller.Controller) {
	addr := cfg.PublishAddress
	if addr == "" {
		addr = nodeAddress(ctx, c, cfg.NodeName)
	}
	if addr == "" {
		cfg.Log.Warn("no address to publish in Ingress status; set --publish-address")
		return
	}
	cfg.Log.Info("publishing address in Ingress status", "address", addr, "leaderElect", cfg.LeaderElect)
	work := func(ctx context.Context) { ctl.RunStatus(ctx, client.Ingresses(c), addr, 5*time.Second) }
	if !cfg.LeaderElect {
		work(ctx)
		return
	}
	for ctx.Err() == nil {
		el, err := leaderelection.New(leaderelection.Config{
			Leases: client.Leases(c), Namespace: cfg.LeaseNS, Name: "gantry-ingress-" + cfg.IngressClass, Identity: cfg.Identity,
			LeaseDuration: cfg.LeaseDuration, RenewDeadline: cfg.RenewDeadline, RetryPeriod: cfg.RetryPeriod,
			ReleaseOnCancel: true, Log: cfg.Log,
			Callbacks: leaderelection.Callbacks{OnStartedLeading: work},
		})
		if err != nil {
			cfg.Log.Error("leader election", "err", err)
			return
		}
		if err := el.Run(ctx); err != nil && ctx.Err() == nil {
			cfg.Log.Warn("status writer lost its Lease; campaigning again", "err", err)
		}
	}
}

// nodeAddress is the InternalIP of the node (else its first address),
// or the host's first global unicast address.
func nodeAddress(ctx context.Context, c *client.Client, nodeName string) string {
	if nodeName != "" {
		gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		node, err := client.Nodes(c).Get(gctx, "", nodeName, metav1.GetOptions{})
		cancel()
		if err == nil {
			for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP} {
				for _, a := range node.Status.Addresses {
					if a.Type == t && a.Address != "" {
						return a.Address
					}
				}
			}
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.IsGlobalUnicast() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	return ""
}

func serveMetrics(ctx context.Context, ln net.Listener, reg *prometheus.Registry, ready *atomic.Bool) error {
	mux := http.NewServeMux()
	health := func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "configuration not loaded yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	}
	mux.HandleFunc("GET /healthz", health)
	mux.HandleFunc("GET /readyz", health)
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
