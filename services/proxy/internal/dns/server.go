package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"
)

// ednsSize is the UDP payload size the server advertises (the 2020 DNS
// flag day's value, which avoids IP fragmentation).
const ednsSize = 1232

// shutdownGrace bounds the wait for TCP connections when Run stops.
const shutdownGrace = 2 * time.Second

// Server is the cluster DNS server.
type Server struct {
	s    settings
	zone *zone
	view view
	fwd  *forwarder
	loop *loopProbe
	m    *metrics
	log  *slog.Logger

	mu      sync.Mutex
	bound   []net.Addr
	serving bool
}

// New returns a server answering from cfg.Informers' Service and
// EndpointSlice informers, which it registers (with its indexes) on the
// factory: start the factory after New.
func New(cfg Config) (*Server, error) {
	if cfg.Informers == nil {
		return nil, errors.New("dns: no informer factory")
	}
	v, err := informerView(cfg.Informers)
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	return newServer(cfg, v)
}

func newServer(cfg Config, v view) (*Server, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("dns: register metrics: %w", err)
	}
	z := &zone{origin: s.zone, ttl: s.ttl, serial: uint32(time.Now().Unix())}
	for _, l := range s.listen {
		if a := l.Addr().Unmap(); !a.IsUnspecified() && !a.IsLoopback() {
			z.nsAddrs = append(z.nsAddrs, a)
		}
	}
	return &Server{
		s: s, zone: z, view: v, m: m, log: s.log,
		fwd:  newForwarder(s.upstreams, s.fwdTimeout, s.maxForwards, m),
		loop: newLoopProbe(),
	}, nil
}

// Run puts the listen addresses on Config.Device (when set), binds them
// over UDP and TCP and serves until ctx ends.
func (srv *Server) Run(ctx context.Context) error {
	if srv.s.device != "" {
		var local []netip.Addr
		for _, l := range srv.s.listen {
			if a := l.Addr().Unmap(); !a.IsUnspecified() && !a.IsLoopback() {
				local = append(local, a)
			}
		}
		if err := EnsureDevice(srv.s.device, local); err != nil {
			return fmt.Errorf("dns: %w", err)
		}
	}
	servers, err := srv.listen(ctx)
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	type running struct {
		ds            *mdns.Server
		started, done chan struct{}
		err           error
	}
	anyDone := make(chan struct{}, len(servers))
	rs := make([]*running, len(servers))
	for i, ds := range servers {
		r := &running{ds: ds, started: make(chan struct{}), done: make(chan struct{})}
		ds.NotifyStartedFunc = func() { close(r.started) }
		rs[i] = r
		go func() {
			defer close(r.done)
			defer func() { anyDone <- struct{}{} }()
			if err := ds.ActivateAndServe(); err != nil {
				r.err = fmt.Errorf("dns: serve %s/%s: %w", ds.Net, ds.Addr, err)
			}
		}()
	}
	// Shutdown only stops a server that has started: wait for each to
	// start (or fail).
	for _, r := range rs {
		select {
		case <-r.started:
		case <-r.done:
		}
	}
	probeCtx, stopProbe := context.WithCancel(ctx)
	var probing sync.WaitGroup
	srv.setServing(true)
	srv.log.Info("serving cluster DNS", "addresses", srv.boundStrings(), "domain", srv.s.zone, "upstreams", srv.s.upstreams)
	if len(srv.s.upstreams) > 0 {
		probing.Go(func() {
			srv.loop.send(probeCtx, srv.fwd)
			if srv.loop.detected.Load() {
				srv.log.Error("forwarding loop: an upstream resolver sends queries back to cluster DNS; "+
					"names outside the cluster domain get SERVFAIL until the upstreams are fixed and gantry-proxy restarted",
					"upstreams", srv.s.upstreams)
			}
		})
	}
	select {
	case <-ctx.Done():
	case <-anyDone:
	}
	srv.setServing(false)
	stopProbe()
	probing.Wait()
	var errs []error
	for _, r := range rs {
		select {
		case <-r.done:
		default:
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
			if err := r.ds.ShutdownContext(sctx); err != nil {
				errs = append(errs, fmt.Errorf("dns: stop %s/%s: %w", r.ds.Net, r.ds.Addr, err))
			}
			cancel()
			<-r.done
		}
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	return errors.Join(errs...)
}

// listen binds every listen address over UDP then TCP (on the port UDP
// got, for port 0).
func (srv *Server) listen(ctx context.Context) ([]*mdns.Server, error) {
	var (
		servers []*mdns.Server
		closers []func() error
		bound   []net.Addr
	)
	fail := func(err error) ([]*mdns.Server, error) {
		for _, c := range closers {
			_ = c()
		}
		return nil, err
	}
	for _, l := range srv.s.listen {
		pc, ln, err := listenPair(ctx, l)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, pc.Close, ln.Close)
		label := "dns://" + ln.Addr().String()
		servers = append(servers,
			&mdns.Server{PacketConn: pc, Addr: pc.LocalAddr().String(), Net: "udp", Handler: srv.handler(ctx, label)},
			&mdns.Server{Listener: ln, Addr: ln.Addr().String(), Net: "tcp", Handler: srv.handler(ctx, label)})
		bound = append(bound, pc.LocalAddr(), ln.Addr())
	}
	srv.mu.Lock()
	srv.bound = bound
	srv.mu.Unlock()
	return servers, nil
}

// listenPair binds l over UDP and TCP. For port 0 both get the same
// port, which UDP picks; a few ports are tried if TCP has it taken.
func listenPair(ctx context.Context, l netip.AddrPort) (net.PacketConn, net.Listener, error) {
	var lc net.ListenConfig
	for attempt := 0; ; attempt++ {
		pc, err := lc.ListenPacket(ctx, "udp", l.String())
		if err != nil {
			return nil, nil, fmt.Errorf("listen on udp %s: %w", l, err)
		}
		tcpAt := netip.AddrPortFrom(l.Addr(), uint16(pc.LocalAddr().(*net.UDPAddr).Port))
		ln, err := lc.Listen(ctx, "tcp", tcpAt.String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if l.Port() != 0 || attempt >= 10 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, fmt.Errorf("listen on tcp %s: %w", tcpAt, err)
		}
	}
}

// Addrs returns the bound UDP and TCP addresses once Run is serving.
func (srv *Server) Addrs() []net.Addr {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if !srv.serving {
		return nil
	}
	return append([]net.Addr(nil), srv.bound...)
}

func (srv *Server) boundStrings() []string {
	var out []string
	for _, a := range srv.Addrs() {
		out = append(out, a.Network()+"/"+a.String())
	}
	return out
}

func (srv *Server) setServing(b bool) {
	srv.mu.Lock()
	srv.serving = b
	srv.mu.Unlock()
}

// Healthy returns nil when the server is serving with synced caches.
func (srv *Server) Healthy() error {
	srv.mu.Lock()
	serving := srv.serving
	srv.mu.Unlock()
	switch {
	case !serving:
		return errors.New("dns: not serving")
	case !srv.view.synced():
		return errors.New("dns: Service and EndpointSlice caches not synced")
	case srv.loop.detected.Load():
		return fmt.Errorf("dns: forwarding loop through the upstreams %v", srv.s.upstreams)
	}
	return nil
}

// handler answers the queries of one listen address.
func (srv *Server) handler(ctx context.Context, label string) mdns.HandlerFunc {
	return func(w mdns.ResponseWriter, req *mdns.Msg) {
		start := time.Now()
		network := "udp"
		if _, ok := w.LocalAddr().(*net.TCPAddr); ok {
			network = "tcp"
		}
		family := "1"
		if ap := addrPort(w.RemoteAddr()); ap.Addr().Unmap().Is6() {
			family = "2"
		}
		qtype := "other"
		if len(req.Question) == 1 {
			qtype = typeLabel(req.Question[0].Qtype)
		}
		resp, zoneLabel, plugin := srv.answer(ctx, req, network)
		srv.m.requests.WithLabelValues(label, zoneLabel, network, family, qtype).Inc()
		if err := srv.write(w, req, resp, network); err != nil {
			srv.log.Debug("dns: write response", "err", err, "client", w.RemoteAddr().String())
		}
		srv.m.responses.WithLabelValues(label, zoneLabel, rcodeLabel(resp.Rcode), plugin).Inc()
		srv.m.duration.WithLabelValues(label, zoneLabel, qtype).Observe(time.Since(start).Seconds())
	}
}

func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	case *net.TCPAddr:
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

// write sends resp, truncated to what the client can take over UDP (its
// EDNS0 buffer, or 512 bytes); a response that cannot be packed becomes
// SERVFAIL.
func (srv *Server) write(w mdns.ResponseWriter, req, resp *mdns.Msg, network string) error {
	size := mdns.MaxMsgSize
	if network == "udp" {
		size = mdns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = max(int(opt.UDPSize()), mdns.MinMsgSize)
		}
	}
	resp.Truncate(size)
	if err := w.WriteMsg(resp); err != nil {
		fail := new(mdns.Msg).SetRcode(req, mdns.RcodeServerFailure)
		resp.Rcode = fail.Rcode
		if err2 := w.WriteMsg(fail); err2 != nil {
			return errors.Join(err, err2)
		}
		return err
	}
	return nil
}

// answer computes the response to req, with the zone and plugin labels
// of the metrics.
func (srv *Server) answer(ctx context.Context, req *mdns.Msg, network string) (*mdns.Msg, string, string) {
	if req.Opcode != mdns.OpcodeQuery || len(req.Question) != 1 {
		rc := mdns.RcodeNotImplemented
		if len(req.Question) != 1 {
			rc = mdns.RcodeFormatError
		}
		return new(mdns.Msg).SetRcode(req, rc), ".", "kubernetes"
	}
	q := req.Question[0]
	if srv.zone.contains(q.Name) {
		return srv.answerZone(ctx, req, network), srv.zone.origin, "kubernetes"
	}
	if q.Qtype == mdns.TypePTR && q.Qclass == mdns.ClassINET {
		if rrs := srv.zone.ptr(srv.view, q.Name); len(rrs) > 0 {
			resp := srv.reply(req)
			resp.Answer = rrs
			return resp, reverseZone(q.Name), "kubernetes"
		}
	}
	if srv.loop.is(q) || srv.loop.detected.Load() {
		return new(mdns.Msg).SetRcode(req, mdns.RcodeServerFailure), ".", "loop"
	}
	resp, err := srv.fwd.exchange(ctx, req, network)
	if err != nil {
		rc := mdns.RcodeServerFailure
		if errors.Is(err, errBusy) {
			rc = mdns.RcodeRefused
		}
		srv.log.Debug("dns: forward", "name", q.Name, "type", mdns.TypeToString[q.Qtype], "err", err)
		return new(mdns.Msg).SetRcode(req, rc), ".", "forward"
	}
	return resp, ".", "forward"
}

func reverseZone(name string) string {
	if strings.HasSuffix(strings.ToLower(name), ".ip6.arpa.") {
		return "ip6.arpa."
	}
	return "in-addr.arpa."
}

// reply starts an authoritative answer to req.
func (srv *Server) reply(req *mdns.Msg) *mdns.Msg {
	resp := new(mdns.Msg).SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = true
	if opt := req.IsEdns0(); opt != nil {
		resp.SetEdns0(ednsSize, opt.Do())
	}
	return resp
}

// answerZone answers a question in the cluster domain, adding the
// records of an ExternalName target outside it from the upstreams.
func (srv *Server) answerZone(ctx context.Context, req *mdns.Msg, network string) *mdns.Msg {
	q := req.Question[0]
	switch {
	case q.Qclass != mdns.ClassINET && q.Qclass != mdns.ClassANY,
		q.Qtype == mdns.TypeAXFR, q.Qtype == mdns.TypeIXFR:
		return new(mdns.Msg).SetRcode(req, mdns.RcodeRefused)
	}
	res := srv.zone.lookup(srv.view, q.Name, q.Qtype)
	resp := srv.reply(req)
	resp.Rcode = res.rcode
	resp.Answer, resp.Ns = res.answer, res.ns
	resp.Extra = append(res.extra, resp.Extra...) // OPT stays last
	if res.chase == "" {
		return resp
	}
	if srv.loop.detected.Load() {
		resp.Rcode = mdns.RcodeServerFailure
		return resp
	}
	sub := new(mdns.Msg).SetQuestion(res.chase, q.Qtype)
	sub.SetEdns0(ednsSize, false)
	up, err := srv.fwd.exchange(ctx, sub, network)
	if err != nil {
		srv.log.Debug("dns: follow ExternalName", "name", q.Name, "target", res.chase, "err", err)
		resp.Rcode = mdns.RcodeServerFailure
		return resp
	}
	resp.Rcode = up.Rcode
	resp.Answer = append(resp.Answer, up.Answer...)
	resp.Ns = up.Ns
	return resp
}
