package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gantry-dev/gantry/libs/sdnotify"
	"github.com/gantry-dev/gantry/libs/tlsutil"
	"github.com/gantry-dev/gantry/services/apiserver/internal/authn"
	"github.com/gantry-dev/gantry/services/apiserver/internal/grpcapi"
	"github.com/gantry-dev/gantry/services/apiserver/internal/openapi"
	"github.com/gantry-dev/gantry/services/apiserver/internal/registry"
	"github.com/gantry-dev/gantry/services/apiserver/internal/rest"
	"github.com/gantry-dev/gantry/services/apiserver/internal/streams"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
)

// Server is one API server.
type Server struct {
	cfg *Config
	// bootstrapped is closed once the bootstrap objects exist (the
	// namespaces, kubernetes and kube-dns Services, ...): /readyz waits
	// for it, as Kubernetes' waits for its post-start hooks.
	bootstrapped chan struct{}
	log          *slog.Logger
	etcd         *clientv3.Client
	reg          *registry.Registry
	auth         *authn.Authenticator
	metrics      *metrics
	listener     net.Listener // plain TCP; TLS is done by the HTTP server
	tls          *tls.Config
	handler      http.Handler
	// grpc serves the gRPC facade on the same port (see withGRPC).
	grpc *grpc.Server
	// epr keeps the kubernetes Service's endpoints; nil when this server
	// is not published (a loopback address).
	epr *endpointsReconciler
}

// New connects to the store and prepares every part; it listens at once
// so that Addr is known before Run.
func New(cfg *Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.ensureCerts(); err != nil {
		return nil, fmt.Errorf("--cert-dir: %w", err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Registry == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
		cfg.Registry, cfg.Gatherer = r, r
	}
	s := &Server{cfg: cfg, log: cfg.Log.With("component", "apiserver"), bootstrapped: make(chan struct{})}
	var err error
	if s.auth, err = authn.New(cfg.TokenAuthFile); err != nil {
		return nil, err
	}
	if s.etcd, err = s.connectStore(); err != nil {
		return nil, err
	}
	s.reg, err = registry.New(s.etcd, registry.Config{
		ServiceCIDR: cfg.ServiceClusterIPRange, NodePortRange: cfg.ServiceNodePortRange, Log: s.log, Metrics: cfg.Registry,
		NotReadyTolerationSeconds: cfg.DefaultNotReadyTolerationSeconds, UnreachableTolerationSeconds: cfg.DefaultUnreachableTolerationSeconds,
		EventTTL: cfg.EventTTL,
	})
	if err != nil {
		s.etcd.Close()
		return nil, err
	}
	s.enableBootstrapTokens()
	s.metrics = newMetrics(cfg.Registry)
	oapi, err := openapi.NewHandler()
	if err != nil {
		s.etcd.Close()
		return nil, err
	}
	s.grpc = grpc.NewServer(grpc.ChainUnaryInterceptor(growStack, s.metrics.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.metrics.streamInterceptor))
	grpcapi.Register(s.grpc, s.reg, s.auth, s.log)
	restHandler := rest.New(s.reg, s.log)
	if restHandler.Streams, err = s.streams(); err != nil {
		s.etcd.Close()
		return nil, err
	}
	s.handler = withGRPC(s.grpc, s.routes(restHandler, oapi))
	tlsCfg, err := s.tlsConfig()
	if err != nil {
		s.etcd.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.SecurePort)))
	if err != nil {
		s.etcd.Close()
		return nil, err
	}
	s.listener, s.tls = ln, tlsCfg
	s.epr = s.endpoints()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

func (s *Server) connectStore() (*clientv3.Client, error) {
	files := tlsutil.Files{CertFile: s.cfg.EtcdCertFile, KeyFile: s.cfg.EtcdKeyFile, TrustedCAFile: s.cfg.EtcdCAFile}
	var tlsCfg *tls.Config
	if !files.Empty() {
		var err error
		if tlsCfg, err = files.ClientConfig(); err != nil {
			return nil, fmt.Errorf("store TLS: %w", err)
		}
	}
	return clientv3.New(clientv3.Config{
		Endpoints:   s.cfg.EtcdServers,
		DialTimeout: s.cfg.EtcdDialTimeout,
		TLS:         tlsCfg,
		Logger:      zap.NewNop(),
		// A member that hangs (stopped, or cut off with its
		// connections open) is noticed by its missing ping answers
		// within 9 s, less than a leader's default renew deadline
		// (10 s): its connection is closed and requests and watches
		// move to another member. etcd refuses pings more often than
		// every 5 s (gantry-store every 2 s).
		DialKeepAliveTime:    6 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		MaxCallRecvMsgSize:   256 << 20,
		MaxCallSendMsgSize:   8 << 20,
	})
}

func (s *Server) tlsConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSPrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	if s.cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(s.cfg.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA %s: no certificates", s.cfg.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	defer s.etcd.Close()
	g, gctx := errgroup.WithContext(ctx)
	cacheCtx, stopCaches := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCaches()
	g.Go(func() error { return s.reg.Run(cacheCtx) })
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	srv := &http.Server{
		BaseContext: func(net.Listener) context.Context { return reqCtx },
		Handler:     s.handler,
		TLSConfig:   s.tls,
		// Informers and watchers multiplex many watches on one connection.
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: 1000},
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	g.Go(func() error {
		if err := s.bootstrap(gctx); err != nil {
			if gctx.Err() == nil {
				s.log.Error("bootstrap objects", "err", err)
			}
			return nil
		}
		close(s.bootstrapped)
		// Ready for the service manager now that /readyz passes: the
		// bootstrap waited for every watch cache to load from the store
		// and made the bootstrap objects.
		if err := sdnotify.Ready(); err != nil {
			s.log.Warn("notify the service manager", "err", err)
		}
		if s.epr != nil {
			// Until Run ends; the last act withdraws this server.
			s.epr.run(gctx, reconcileInterval)
		}
		return nil
	})
	g.Go(func() error {
		s.log.Info("serving", "addr", s.listener.Addr().String())
		if err := srv.ServeTLS(s.listener, "", ""); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		if s.cfg.ShutdownDelay > 0 && ctx.Err() != nil {
			time.Sleep(s.cfg.ShutdownDelay)
		}
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// Watches are long requests: end them rather than wait.
		cancelRequests()
		s.grpc.Stop()
		err := srv.Shutdown(shutdown)
		if err != nil {
			_ = srv.Close()
		}
		stopCaches()
		return nil
	})
	return g.Wait()
}

// streams builds the proxy of pods' log, exec, attach and portforward to
// node agents, which it reaches with mutual TLS.
func (s *Server) streams() (http.Handler, error) {
	c := s.cfg
	files := tlsutil.Files{
		CertFile:      pick(c.KubeletClientCertificate, c.TLSCertFile),
		KeyFile:       pick(c.KubeletClientKey, c.TLSPrivateKeyFile),
		TrustedCAFile: c.KubeletCertificateAuthority,
	}
	if files.TrustedCAFile == "" {
		files.TrustedCAFile = c.ClientCAFile
	}
	if files.TrustedCAFile == "" && c.CertDir != "" {
		files.TrustedCAFile = filepath.Join(c.CertDir, "ca.crt")
	}
	if files.TrustedCAFile == "" {
		return nil, errors.New("--kubelet-certificate-authority (or --client-ca-file) is needed to verify node agents")
	}
	agentTLS, err := files.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("node agent TLS: %w", err)
	}
	return streams.New(streams.Config{Objects: streams.RegistryObjects(s.reg), AgentTLS: agentTLS, Log: s.log})
}

func pick(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
