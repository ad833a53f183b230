package proxy

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/ingress/internal/routes"
)

// snap serves Services named after their keys, each with port 80 "http"
// and one EndpointSlice per endpoint address (so ports may differ).
type snap map[string][]string

func (s snap) Service(ns, name string) *corev1.Service {
	if _, ok := s[name]; !ok {
		return nil
	}
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}}
}

func (s snap) EndpointSlices(ns, name string) []*discoveryv1.EndpointSlice {
	var out []*discoveryv1.EndpointSlice
	for _, addr := range s[name] {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		out = append(out, &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4,
			Ports:     []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(p))}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{host}}}})
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// rule is host, path (Prefix) and service.
type rule struct{ host, path, svc string }

func table(t *testing.T, s snap, rules ...rule) *routes.Table {
	t.Helper()
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}
	for _, r := range rules {
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: r.host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: r.path, PathType: ptr(networkingv1.PathTypePrefix),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: r.svc,
					Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}}})
	}
	tab, _ := routes.Build([]*networkingv1.Ingress{ing}, s)
	return tab
}

// backend is a test HTTP server answering "<name> <method> <path>" and
// echoing the forwarding headers it got.
type backend struct {
	*httptest.Server
	hits atomic.Int64
}

func newBackend(t *testing.T, name string) *backend {
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port", "X-Real-Ip", "X-Request-Id"} {
			w.Header().Set("Seen-"+h, r.Header.Get(h))
		}
		w.Header().Set("Seen-Host", r.Host)
		fmt.Fprintf(w, "%s %s %s %d", name, r.Method, r.URL.RequestURI(), len(body))
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) addr() string { return strings.TrimPrefix(b.URL, "http://") }

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func newProxy(t *testing.T, cfg Config) (*Proxy, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 2 * time.Second
	}
	cfg.Log = slog.New(slog.DiscardHandler)
	if cfg.Tries == 0 {
		cfg.Tries = 3
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, reg
}

// do sends a request to the front server and returns status, body and
// response headers.
func do(t *testing.T, c *http.Client, method, url, host, body string) (int, string, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s (host %s): %v", method, url, host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestRoutingAndPages(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	p, reg := newProxy(t, Config{})
	p.SetTable(table(t, snap{"a": {a.addr()}, "b": {b.addr()}, "empty": nil},
		rule{"a.test", "/", "a"}, rule{"a.test", "/b", "b"}, rule{"b.test", "/", "b"},
		rule{"e.test", "/", "empty"}, rule{"m.test", "/", "missing"}))
	front := httptest.NewServer(p)
	defer front.Close()
	c := front.Client()

	for _, tc := range []struct {
		host, path string
		code       int
		contains   string
	}{
		{"a.test", "/x?q=1", 200, "a GET /x?q=1"},
		{"a.test", "/b/c", 200, "b GET /b/c"},
		{"A.TEST:80", "/bc", 200, "a GET /bc"},
		{"b.test", "/", 200, "b GET /"},
		{"nope.test", "/where", 404, `No Ingress rule matches host "nope.test" and path "/where".`},
		{"e.test", "/", 503, "Ingress ns/web: service ns/empty has no ready endpoints."},
		{"m.test", "/", 503, "Ingress ns/web: service ns/missing not found."},
	} {
		code, body, _ := do(t, c, "GET", front.URL+tc.path, tc.host, "")
		if code != tc.code || !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s%s = %d %q, want %d containing %q", tc.host, tc.path, code, body, tc.code, tc.contains)
		}
	}
	// Browsers get HTML.
	req, _ := http.NewRequest("GET", front.URL+"/", nil)
	req.Host = "nope.test"
	req.Header.Set("Accept", "text/html,*/*")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("404 page for a browser: Content-Type %q", ct)
	}

	if got := testutil.ToFloat64(p.m.requests.WithLabelValues("web", "ns", "a", "200")); got != 2 {
		t.Errorf("requests{service=a,code=200} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(p.m.requests.WithLabelValues("", "", "", "404")); got != 2 {
		t.Errorf("requests{code=404} = %v, want 2", got)
	}
	if n, err := testutil.GatherAndCount(reg, "gantry_ingress_request_duration_seconds"); err != nil || n == 0 {
		t.Errorf("duration series: %d, %v", n, err)
	}
}

func TestRoundRobinAndRetry(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	p, _ := newProxy(t, Config{})
	p.SetTable(table(t, snap{"s": {a.addr(), b.addr(), deadAddr(t)}}, rule{"", "/", "s"}))
	front := httptest.NewServer(p)
	defer front.Close()
	c := front.Client()
	for i := range 30 {
		method, body := "GET", ""
		if i%2 == 1 {
			method, body = "POST", "payload" // not idempotent, but refused connections are retried
		}
		if code, got, _ := do(t, c, method, front.URL+"/", "x", body); code != 200 {
			t.Fatalf("request %d: %d %s", i, code, got)
		}
	}
	if a.hits.Load() == 0 || b.hits.Load() == 0 || a.hits.Load()+b.hits.Load() != 30 {
		t.Errorf("hits a=%d b=%d, want both used, 30 in all", a.hits.Load(), b.hits.Load())
	}
	if got := testutil.ToFloat64(p.m.retries.WithLabelValues("ns", "s")); got < 1 {
		t.Errorf("retries = %v, want some", got)
	}
	// Only dead endpoints: a 502 naming the service.
	p.SetTable(table(t, snap{"s": {deadAddr(t), deadAddr(t)}}, rule{"", "/", "s"}))
	if code, body, _ := do(t, c, "GET", front.URL+"/", "x", ""); code != 502 || !strings.Contains(body, "Service ns/s failed to answer") {
		t.Errorf("all dead: %d %q", code, body)
	}
}

func TestNoRetryAfterSend(t *testing.T) {
	var hits atomic.Int64
	// Backends that read the request and drop the connection.
	var addrs []string
	for range 2 {
		drop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			io.ReadAll(r.Body)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}))
		defer drop.Close()
		addrs = append(addrs, strings.TrimPrefix(drop.URL, "http://"))
	}
	p, _ := newProxy(t, Config{})
	p.SetTable(table(t, snap{"s": addrs}, rule{"", "/", "s"}))
	front := httptest.NewServer(p)
	defer front.Close()
	if code, _, _ := do(t, front.Client(), "POST", front.URL+"/", "x", "data"); code != 502 {
		t.Errorf("POST to a dropping backend: %d, want 502", code)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("POST sent %d times, want once", n)
	}
	hits.Store(0)
	if code, _, _ := do(t, front.Client(), "GET", front.URL+"/", "x", ""); code != 502 {
		t.Errorf("GET to a dropping backend: %d, want 502", code)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("GET sent %d times, want 2 (a retry on the other endpoint)", n)
	}
}

func TestForwardedHeaders(t *testing.T) {
	a := newBackend(t, "a")
	p, _ := newProxy(t, Config{})
	p.SetTable(table(t, snap{"a": {a.addr()}}, rule{"", "/", "a"}))
	for _, tlsFront := range []bool{false, true} {
		var front *httptest.Server
		if tlsFront {
			front = httptest.NewTLSServer(p)
		} else {
			front = httptest.NewServer(p)
		}
		_, port, _ := net.SplitHostPort(front.Listener.Addr().String())
		req, _ := http.NewRequest("GET", front.URL+"/", nil)
		req.Host = "app.test:8080"
		req.Header.Set("X-Forwarded-For", "6.6.6.6") // not trusted: replaced
		resp, err := front.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		proto := "http"
		if tlsFront {
			proto = "https"
		}
		for h, want := range map[string]string{
			"Seen-X-Forwarded-For": "127.0.0.1", "Seen-X-Forwarded-Proto": proto, "Seen-X-Forwarded-Host": "app.test:8080",
			"Seen-X-Forwarded-Port": port, "Seen-X-Real-Ip": "127.0.0.1", "Seen-Host": "app.test:8080",
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("tls=%v: %s = %q, want %q", tlsFront, h, got, want)
			}
		}
		if len(resp.Header.Get("Seen-X-Request-Id")) != 32 {
			t.Errorf("X-Request-ID = %q", resp.Header.Get("Seen-X-Request-Id"))
		}
		front.Close()
	}
}

func TestBodyLimitAndTimeout(t *testing.T) {
	a := newBackend(t, "a")
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)
	p, _ := newProxy(t, Config{MaxBodySize: 10, ReadTimeout: 200 * time.Millisecond, Tries: 1})
	p.SetTable(table(t, snap{"a": {a.addr()}, "slow": {strings.TrimPrefix(slow.URL, "http://")}},
		rule{"", "/", "a"}, rule{"slow.test", "/", "slow"}))
	front := httptest.NewServer(p)
	defer front.Close()
	c := front.Client()
	if code, body, _ := do(t, c, "POST", front.URL+"/", "x", "0123456789"); code != 200 || body != "a POST / 10" {
		t.Errorf("10-byte body: %d %q", code, body)
	}
	if code, _, _ := do(t, c, "POST", front.URL+"/", "x", "0123456789A"); code != 413 {
		t.Errorf("11-byte body: %d, want 413", code)
	}
	// Chunked: the size is only known while forwarding.
	req, _ := http.NewRequest("POST", front.URL+"/", io.MultiReader(strings.NewReader("0123456789"), strings.NewReader("0123456789")))
	req.ContentLength = -1
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("chunked 20-byte body: %d, want 413", resp.StatusCode)
	}
	if code, body, _ := do(t, c, "GET", front.URL+"/", "slow.test", ""); code != 504 || !strings.Contains(body, "ns/slow did not answer in time") {
		t.Errorf("slow backend: %d %q, want 504", code, body)
	}
}

func TestWebSocket(t *testing.T) {
	// The backend accepts the upgrade and echoes lines upper-cased.
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			fmt.Fprint(brw, strings.ToUpper(line))
			brw.Flush()
		}
	}))
	defer ws.Close()
	p, reg := newProxy(t, Config{})
	p.SetTable(table(t, snap{"ws": {strings.TrimPrefix(ws.URL, "http://")}}, rule{"", "/", "ws"}))
	front := httptest.NewServer(p)
	defer front.Close()

	conn, err := net.Dial("tcp", front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, "GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	for _, msg := range []string{"hello\n", "again\n"} {
		fmt.Fprint(conn, msg)
		got, err := br.ReadString('\n')
		if err != nil || got != strings.ToUpper(msg) {
			t.Fatalf("echo of %q: %q, %v", msg, got, err)
		}
	}
	conn.Close()
	// The request is counted once the tunnel closes.
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(p.m.requests.WithLabelValues("web", "ns", "ws", "101")) != 1 {
		if time.Now().After(deadline) {
			n, _ := testutil.GatherAndCount(reg, "gantry_ingress_requests_total")
			t.Fatalf("101 not counted (%d series)", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
