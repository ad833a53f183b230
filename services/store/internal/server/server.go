// Package server is a gantry-store member: raft consensus over a bbolt
// MVCC state machine, serving etcd's v3 gRPC API to clients on the client
// URLs and the member-to-member API plus the raft transport on the peer URL.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	rpprof "runtime/pprof"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/libs/connset"
	"github.com/gantry-dev/gantry/libs/sdnotify"
	storev1 "github.com/gantry-dev/gantry/proto/gantry/store/v1"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Server is one gantry-store member.
type Server struct {
	cfg        *Config
	node       *node
	grpcClient *grpc.Server
	clientTLS  *tls.Config
	peerGRPC   *grpc.Server
	clientLns  []clientListener
	grpcLns    []*connset.Listener // what the gRPC servers serve, made by Run
	metricsLns []net.Listener
	metricsSrv *http.Server
	httpSrv    *http.Server
}

type clientListener struct {
	ln  net.Listener
	tls bool
}

// New validates cfg, opens the data directory and starts raft. Call Run to
// serve.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if cfg.DataDir == "" {
		return nil, errors.New("--data-dir is required")
	}
	if _, err := parseCompaction(cfg.AutoCompactionMode, cfg.AutoCompactionRetention); err != nil {
		return nil, err
	}
	if cfg.InitialClusterState != "new" && cfg.InitialClusterState != "existing" {
		return nil, fmt.Errorf("--initial-cluster-state %q: want new or existing", cfg.InitialClusterState)
	}
	s := &Server{cfg: &cfg}
	ok := false
	defer func() {
		if !ok {
			s.closeListeners()
		}
	}()

	meta, _ := readMeta(cfg.DataDir)
	peerURLs := cfg.ListenPeerURLs
	if len(peerURLs) == 0 && meta != nil {
		peerURLs = meta.PeerURLs
	}
	if len(peerURLs) == 0 {
		return nil, errors.New("--listen-peer-urls is required")
	}
	peerLn, err := s.listen(peerURLs[0])
	if err != nil {
		return nil, err
	}
	clientURLs := cfg.ListenClientURLs
	if len(clientURLs) == 0 {
		clientURLs = []string{"http://127.0.0.1:2379"}
	}
	for _, u := range clientURLs {
		ln, err := s.listen(u)
		if err != nil {
			peerLn.Close()
			return nil, err
		}
		s.clientLns = append(s.clientLns, clientListener{ln: ln, tls: isHTTPS(u)})
	}
	// A new member, or one restored from a snapshot that has never
	// advertised client URLs, advertises the ones it listens on.
	if len(cfg.AdvertiseClientURLs) == 0 && (meta == nil || len(meta.ClientURLs) == 0) {
		cfg.AdvertiseClientURLs = clientURLs
	}
	for _, u := range cfg.ListenMetricsURLs {
		ln, err := s.listen(u)
		if err != nil {
			peerLn.Close()
			return nil, err
		}
		s.metricsLns = append(s.metricsLns, ln)
	}

	m := newMetrics(cfg.Registry)
	n, err := openNode(&cfg, peerLn, m)
	if err != nil {
		peerLn.Close()
		return nil, err
	}
	s.node = n
	if err := s.buildServers(); err != nil {
		n.close()
		return nil, err
	}
	ok = true
	return s, nil
}

func isHTTPS(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "https"
}

func (s *Server) listen(u string) (net.Listener, error) {
	addr, err := hostPort(u)
	if err != nil {
		return nil, err
	}
	if ln, ok := s.cfg.Listeners[addr]; ok {
		return ln, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", u, err)
	}
	return ln, nil
}

func (s *Server) closeListeners() {
	for _, l := range s.clientLns {
		l.ln.Close()
	}
	for _, l := range s.metricsLns {
		l.Close()
	}
}

// clientStreamWorkers is the number of goroutines serving client calls;
// more calls than that at once are served on goroutines of their own.
const clientStreamWorkers = 64

func (s *Server) buildServers() error {
	cfg, n := s.cfg, s.node
	// grpc_server_* metrics, as etcd exports them.
	grpcMetrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	if err := cfg.Registry.Register(grpcMetrics); err != nil {
		return fmt.Errorf("register gRPC metrics: %w", err)
	}
	opts := []grpc.ServerOption{
		grpc.ForceServerCodec(gogoCodec{}),
		grpc.ChainUnaryInterceptor(grpcMetrics.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(grpcMetrics.StreamServerInterceptor()),
		grpc.MaxRecvMsgSize(cfg.MaxRequestBytes + grpcOverheadBytes),
		grpc.MaxSendMsgSize(math.MaxInt32),
		grpc.MaxConcurrentStreams(math.MaxUint32),
		// Clients may ping every 2 s (etcd allows 5 s): the API server
		// pings every 6 s to notice a hung member quickly.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 2 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 2 * time.Hour, Timeout: 20 * time.Second}),
	}
	register := func(g *grpc.Server) {
		pb.RegisterKVServer(g, &kvServer{n: n})
		pb.RegisterWatchServer(g, &watchServer{n: n})
		pb.RegisterLeaseServer(g, &leaseServer{n: n})
		pb.RegisterClusterServer(g, &clusterServer{n: n})
		pb.RegisterMaintenanceServer(g, &maintenanceServer{n: n})
		grpcMetrics.InitializeMetrics(g)
	}
	// TLS on client URLs is terminated by the listener (see Run), so one
	// server serves every client URL. Its calls run on long-lived workers:
	// on a goroutine of its own, every call grew its new stack while
	// reading its request (5% of the store's CPU under an API server's
	// writes). A call finding every worker busy (streams hold theirs for
	// their lifetime) gets a goroutine of its own as before.
	s.grpcClient = grpc.NewServer(append(opts, grpc.NumStreamWorkers(clientStreamWorkers))...)
	register(s.grpcClient)
	for _, l := range s.clientLns {
		if !l.tls {
			continue
		}
		tc, err := cfg.ClientTLS.ServerConfig()
		if err != nil {
			return fmt.Errorf("client TLS: %w", err)
		}
		if tc == nil {
			return errors.New("an https client URL needs --cert-file and --key-file")
		}
		s.clientTLS = tc
		break
	}
	s.peerGRPC = grpc.NewServer(opts...)
	register(s.peerGRPC)
	storev1.RegisterPeerServer(s.peerGRPC, &peerServer{n: n})

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/health", s.health)
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"etcdserver": Version, "etcdcluster": Version})
	})
	if cfg.EnablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	s.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return nil
}

// health answers like etcd's /health: healthy when there is a leader and a
// linearizable read goes through.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	reason := ""
	if s.node.leaderID() == 0 {
		reason = "RAFT NO LEADER"
	} else if err := s.node.linearizable(ctx); err != nil {
		reason = "QGET ERROR: " + err.Error()
	}
	code := http.StatusOK
	if reason != "" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]string{"health": fmt.Sprint(reason == ""), "reason": reason})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// ClientAddrs returns the addresses the client API listens on.
func (s *Server) ClientAddrs() []string {
	var out []string
	for _, l := range s.clientLns {
		out = append(out, l.ln.Addr().String())
	}
	return out
}

// MemberID returns this member's ID.
func (s *Server) MemberID() uint64 { return s.node.meta.ID }

// IsLeader reports whether this member leads the cluster.
func (s *Server) IsLeader() bool { return s.node.isLeader() }

// Run serves until ctx is cancelled, then stops gracefully.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	spawn := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && !errors.Is(err, grpc.ErrServerStopped) && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				errc <- err
			}
		}()
	}
	spawn(func() error { s.node.mux.serve(); return nil })
	serveGRPC := func(g *grpc.Server, ln net.Listener) {
		cl := connset.Wrap(ln)
		s.grpcLns = append(s.grpcLns, cl)
		spawn(func() error { return g.Serve(cl) })
	}
	serveGRPC(s.peerGRPC, s.node.mux.grpc())
	for _, l := range s.clientLns {
		ln := l.ln
		if l.tls {
			ln = tls.NewListener(ln, s.clientTLS)
		}
		split := newSplitListener(ln)
		spawn(func() error { split.serve(); return nil })
		serveGRPC(s.grpcClient, split.grpc())
		spawn(func() error { return s.metricsSrv.Serve(split.http()) })
	}
	for _, ln := range s.metricsLns {
		spawn(func() error { return s.metricsSrv.Serve(ln) })
	}
	spawn(func() error { s.node.run(ctx); return nil })
	spawn(func() error {
		// Ready for the service manager once this member has joined (or
		// loaded) the cluster and serves its client URLs, as etcd's is.
		select {
		case <-s.node.published:
			if err := sdnotify.Ready(); err != nil {
				s.node.log.Warn("notify the service manager", "err", err)
			}
		case <-ctx.Done():
		}
		return nil
	})

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	finished := make(chan struct{})
	go func() {
		s.shutdown()
		wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		return err
	case <-time.After(shutdownTimeout):
	}
	// Exiting now loses nothing: the raft log and the state database are
	// crash-safe, and without the clean-shutdown mark the next start
	// rebuilds the state from the log.
	s.node.log.Error("shutdown did not finish; exiting without it, the stacks of every goroutine follow", "after", shutdownTimeout)
	_ = rpprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
	return errors.Join(err, fmt.Errorf("shutdown did not finish within %v", shutdownTimeout))
}

// A stop gives in-flight calls gracefulStop to finish; the whole stop,
// raft's and the databases' closing included, gets shutdownTimeout.
const (
	gracefulStop    = 3 * time.Second
	shutdownTimeout = 15 * time.Second
)

func (s *Server) shutdown() {
	stopped := make(chan struct{})
	go func() {
		for _, g := range []*grpc.Server{s.grpcClient, s.peerGRPC} {
			if g != nil {
				g.GracefulStop()
			}
		}
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(gracefulStop):
		// Stop would wait for connections still in their handshake.
		for _, l := range s.grpcLns {
			l.CloseConns()
		}
		for _, g := range []*grpc.Server{s.grpcClient, s.peerGRPC} {
			if g != nil {
				g.Stop()
			}
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = s.metricsSrv.Shutdown(sctx)
	cancel()
	s.closeListeners()
	s.node.close()
}
