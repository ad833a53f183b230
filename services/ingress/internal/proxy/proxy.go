package proxy

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gantry-dev/gantry/services/ingress/internal/routes"
)

// Config of a Proxy.
type Config struct {
	// MaxBodySize is the largest request body accepted (413 beyond);
	// 0 for no limit.
	MaxBodySize int64
	// ConnectTimeout bounds connecting to an endpoint.
	ConnectTimeout time.Duration
	// ReadTimeout bounds the wait for an endpoint's response headers.
	ReadTimeout time.Duration
	// Tries is how many endpoints a request may be tried on (at least 1).
	Tries int
	// Registerer receives the proxy's metrics.
	Registerer prometheus.Registerer
	Log        *slog.Logger
}

// Proxy is the ingress' HTTP handler.
type Proxy struct {
	cfg   Config
	log   *slog.Logger
	table atomic.Pointer[routes.Table]
	rr    sync.Map // upstream key -> *atomic.Uint64
	rp    *httputil.ReverseProxy
	m     *metrics
}

// New returns a Proxy with an empty route table (every request 404s).
func New(cfg Config) (*Proxy, error) {
	if cfg.Tries < 1 {
		cfg.Tries = 1
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("proxy metrics: %w", err)
	}
	p := &Proxy{cfg: cfg, log: cfg.Log, m: m}
	base := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       60 * time.Second,
		ResponseHeaderTimeout: cfg.ReadTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:      p.rewrite,
		Transport:    &retryTransport{base: base, p: p},
		ErrorHandler: p.proxyError,
		ErrorLog:     slog.NewLogLogger(cfg.Log.Handler(), slog.LevelDebug),
	}
	return p, nil
}

// SetTable makes t the route table of new requests.
func (p *Proxy) SetTable(t *routes.Table) {
	p.table.Store(t)
	p.rr.Range(func(k, _ any) bool {
		if _, ok := t.Upstreams[k.(string)]; !ok {
			p.rr.Delete(k)
		}
		return true
	})
}

// Table returns the current route table.
func (p *Proxy) Table() *routes.Table { return p.table.Load() }

// next returns the round-robin position of an upstream.
func (p *Proxy) next(key string) uint64 {
	v, ok := p.rr.Load(key)
	if !ok {
		v, _ = p.rr.LoadOrStore(key, new(atomic.Uint64))
	}
	return v.(*atomic.Uint64).Add(1) - 1
}

// ctxKey keys the state of a request in its context.
type ctxKey struct{}

// reqState is what the transport needs to know about a request.
type reqState struct {
	route    *routes.Route
	endpoint string // the last endpoint tried
}

// ServeHTTP routes and forwards one request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	route := p.table.Load().Match(r.Host, r.URL.Path)
	var ing, ns, svc string
	if route != nil {
		ing, ns, svc = route.Ingress, route.Namespace, route.Upstream.Service
	}
	defer func() {
		code := strconv.Itoa(rec.status())
		p.m.requests.WithLabelValues(ing, ns, svc, code).Inc()
		p.m.duration.WithLabelValues(ing, ns, svc, code).Observe(time.Since(start).Seconds())
		p.m.bytes.WithLabelValues(ing, ns, svc).Add(float64(rec.bytes))
	}()
	switch {
	case route == nil:
		errorPage(rec, r, http.StatusNotFound, fmt.Sprintf("No Ingress rule matches host %q and path %q.",
			routes.NormalizeHost(r.Host), r.URL.Path))
		return
	case route.Upstream.Problem != "":
		errorPage(rec, r, http.StatusServiceUnavailable, fmt.Sprintf("Ingress %s/%s: %s.", ns, ing, route.Upstream.Problem))
		return
	case len(route.Upstream.Endpoints) == 0:
		errorPage(rec, r, http.StatusServiceUnavailable, fmt.Sprintf("Ingress %s/%s: service %s/%s has no ready endpoints.", ns, ing, ns, svc))
		return
	}
	if max := p.cfg.MaxBodySize; max > 0 {
		if r.ContentLength > max {
			errorPage(rec, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", max))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(rec, r.Body, max)
		}
	}
	st := &reqState{route: route}
	p.rp.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), ctxKey{}, st)))
}

// rewrite makes the outbound request: headers only; the transport picks
// the endpoint.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.SetXForwarded()
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = "upstream.invalid"
	pr.Out.Host = pr.In.Host
	h := pr.Out.Header
	if addr, ok := pr.In.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(addr.String()); err == nil {
			h.Set("X-Forwarded-Port", port)
		}
	}
	if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
		h.Set("X-Real-IP", ip)
	}
	if h.Get("X-Request-ID") == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		h.Set("X-Request-ID", hex.EncodeToString(b[:]))
	}
}

// proxyError answers a request the transport could not forward.
func (p *Proxy) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	st, _ := r.Context().Value(ctxKey{}).(*reqState)
	svc := "?"
	if st != nil {
		svc = st.route.Namespace + "/" + st.route.Upstream.Service
	}
	var maxErr *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &maxErr):
		errorPage(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", maxErr.Limit))
	case r.Context().Err() != nil:
		// The client went away: nothing to answer; nginx logs 499.
		if rec, ok := w.(*recorder); ok {
			rec.code = 499
		}
	case errors.As(err, &netErr) && netErr.Timeout():
		p.log.Info("upstream timed out", "service", svc, "endpoint", st.endpoint, "err", err)
		errorPage(w, r, http.StatusGatewayTimeout, fmt.Sprintf("Service %s did not answer in time.", svc))
	default:
		p.log.Info("upstream failed", "service", svc, "endpoint", st.endpoint, "err", err)
		errorPage(w, r, http.StatusBadGateway, fmt.Sprintf("Service %s failed to answer: %v.", svc, err))
	}
}

// recorder remembers the status and size of a response. It unwraps to
// the server's writer, so flushing and hijacking (upgrades) work.
type recorder struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Hijack takes over the connection: the proxy does that only to tunnel
// an upgraded (101) connection.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if r.code == 0 {
		r.code = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

// Unwrap is for http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
