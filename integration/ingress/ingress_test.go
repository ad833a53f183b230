package ingress_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const ns = "default"

func ptr[T any](v T) *T { return &v }

// TestIngress runs the scenarios against one control plane and one
// gantry-ingress.
func TestIngress(t *testing.T) {
	e := newEnv(t)
	t.Run("DefaultClass", e.testDefaultClass)
	t.Run("HostAndPathRouting", e.testRouting)
	t.Run("TLS", e.testTLS)
	t.Run("WebSocket", e.testWebSocket)
	t.Run("ReadinessDropNoFailedRequests", e.testReadinessDrop)
	t.Run("BadInputEvents", e.testBadInput)
	t.Run("Status", e.testStatus)
	t.Run("Metrics", e.testMetrics)
}

// service makes a selector-less Service with port 80 ("http") and an
// EndpointSlice of the backends, all ready.
func (e *env) service(name string, backends ...*backend) {
	e.t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP,
			TargetPort: intstr.FromInt32(backendPort)}}},
	}
	if _, err := e.kube.CoreV1().Services(ns).Create(e.ctx, svc, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("service %s: %v", name, err)
	}
	ready := map[string]bool{}
	for _, b := range backends {
		ready[b.ip] = true
	}
	e.writeSlice(name, ready)
}

// writeSlice creates or replaces the EndpointSlice <svc>-test: the
// addresses given, ready or not.
func (e *env) writeSlice(svc string, ready map[string]bool) {
	e.t.Helper()
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: svc + "-test", Labels: map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "ingress-e2e"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(backendPort)), Protocol: ptr(corev1.ProtocolTCP)}},
	}
	for ip, r := range ready {
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr(r), Serving: ptr(r), Terminating: ptr(!r)}})
	}
	slices := e.kube.DiscoveryV1().EndpointSlices(ns)
	old, err := slices.Get(e.ctx, sl.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = slices.Create(e.ctx, sl, metav1.CreateOptions{})
	case err == nil:
		sl.ResourceVersion = old.ResourceVersion
		_, err = slices.Update(e.ctx, sl, metav1.UpdateOptions{})
	}
	if err != nil {
		e.t.Fatalf("endpointslice %s: %v", sl.Name, err)
	}
}

// rule is a host with (Prefix unless typ says otherwise) paths to
// services.
type rule struct {
	host  string
	paths []path
}

type path struct {
	path, typ, svc string
}

func (e *env) ingress(name string, tlsEntries []networkingv1.IngressTLS, rules ...rule) *networkingv1.Ingress {
	e.t.Helper()
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: networkingv1.IngressSpec{TLS: tlsEntries}}
	for _, r := range rules {
		ir := networkingv1.IngressRule{Host: r.host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}}
		for _, p := range r.paths {
			typ := p.typ
			if typ == "" {
				typ = string(networkingv1.PathTypePrefix)
			}
			ir.HTTP.Paths = append(ir.HTTP.Paths, networkingv1.HTTPIngressPath{Path: p.path, PathType: ptr(networkingv1.PathType(typ)),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: p.svc,
					Port: networkingv1.ServiceBackendPort{Name: "http"}}}})
		}
		ing.Spec.Rules = append(ing.Spec.Rules, ir)
	}
	out, err := e.kube.NetworkingV1().Ingresses(ns).Create(e.ctx, ing, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("ingress %s: %v", name, err)
	}
	return out
}

func (e *env) testDefaultClass(t *testing.T) {
	ic, err := e.kube.NetworkingV1().IngressClasses().Get(e.ctx, "gantry", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("IngressClass gantry: %v", err)
	}
	if ic.Spec.Controller != "gantry.dev/ingress" || ic.Annotations[networkingv1.AnnotationIsDefaultIngressClass] != "true" {
		t.Errorf("IngressClass gantry: controller %q annotations %v", ic.Spec.Controller, ic.Annotations)
	}
	// The API server gives an Ingress that names no class the default
	// class (DefaultIngressClass admission); the deprecated annotation
	// counts as naming one.
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		want        string
	}{
		{"no-class", nil, "gantry"},
		{"annotated-class", map[string]string{"kubernetes.io/ingress.class": "nginx"}, ""},
	} {
		ing, err := e.kube.NetworkingV1().Ingresses(ns).Create(e.ctx, &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tc.name, Annotations: tc.annotations},
			Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: "none", Port: networkingv1.ServiceBackendPort{Number: 80}}}},
		}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			t.Fatal(err)
		}
		if got := ptrValue(ing.Spec.IngressClassName); got != tc.want {
			t.Errorf("Ingress %s created with annotations %v has ingressClassName %q, want %q", tc.name, tc.annotations, got, tc.want)
		}
	}
}

func ptrValue(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (e *env) testRouting(t *testing.T) {
	alpha, beta := e.ns.startBackend("alpha"), e.ns.startBackend("beta")
	e.service("alpha", alpha)
	e.service("beta", beta)
	e.ingress("routes", nil,
		rule{"app.test", []path{{"/", "", "alpha"}, {"/api", "", "beta"}, {"/exact", "Exact", "beta"}}},
		rule{"beta.test", []path{{"/", "", "beta"}}},
		rule{"*.wild.test", []path{{"/", "", "alpha"}}})
	// An Ingress of another class is not served.
	other := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "other-class",
		Annotations: map[string]string{"kubernetes.io/ingress.class": "nginx"}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "other.test", IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr(networkingv1.PathTypePrefix),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "alpha", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}},
	}
	if _, err := e.kube.NetworkingV1().Ingresses(ns).Create(e.ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	e.waitRoute("app.test", "/", 200, "alpha /")
	for _, tc := range []struct {
		host, path string
		code       int
		want       string
	}{
		{"app.test", "/index.html", 200, "alpha /index.html"},
		{"app.test", "/api", 200, "beta /api"},
		{"app.test", "/api/v1/items", 200, "beta /api/v1/items"},
		{"app.test", "/apiary", 200, "alpha /apiary"},
		{"app.test", "/exact", 200, "beta /exact"},
		{"app.test", "/exact/more", 200, "alpha /exact/more"},
		{"APP.test:80", "/", 200, "alpha /"},
		{"beta.test", "/anything", 200, "beta /anything"},
		{"x.wild.test", "/", 200, "alpha /"},
		{"x.y.wild.test", "/", 404, `No Ingress rule matches host "x.y.wild.test" and path "/"`},
		{"nope.test", "/some/where", 404, `No Ingress rule matches host "nope.test" and path "/some/where"`},
		{"other.test", "/", 404, "No Ingress rule"},
	} {
		code, body, err := e.get(http.DefaultClient, tc.host, tc.path)
		if err != nil || code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s%s = %d %q (%v), want %d %q", tc.host, tc.path, code, body, err, tc.code, tc.want)
		}
	}

	// Forwarding headers.
	req, _ := http.NewRequestWithContext(e.ctx, "GET", "http://"+e.httpAddr+"/", nil)
	req.Host = "beta.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := net.SplitHostPort(e.httpAddr)
	for h, want := range map[string]string{"Seen-X-Forwarded-For": "127.0.0.1", "Seen-X-Forwarded-Proto": "http",
		"Seen-X-Forwarded-Host": "beta.test", "Seen-X-Forwarded-Port": port} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}

	// A Service with no ready endpoints, and one that does not exist.
	e.service("empty")
	e.ingress("unready", nil, rule{"empty.test", []path{{"/", "", "empty"}}}, rule{"missing.test", []path{{"/", "", "nosuch"}}})
	e.waitRoute("empty.test", "/", 503, "service default/empty has no ready endpoints")
	e.waitRoute("missing.test", "/", 503, "service default/nosuch not found")
}

// cert makes a self-signed certificate for host with subject cn, as a
// kubernetes.io/tls Secret's data.
func cert(t *testing.T, cn string, hosts ...string) (crtPEM, keyPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		DNSNames: hosts, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

// handshake connects to the HTTPS port naming sni and returns the
// subject CN of the certificate presented.
func (e *env) handshake(sni string) (string, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", e.httpsAddr,
		&tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

func (e *env) testTLS(t *testing.T) {
	crt, key := cert(t, "secure-v1", "secure.test")
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "secure-tls"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": crt, "tls.key": key}}
	if _, err := e.kube.CoreV1().Secrets(ns).Create(e.ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gamma := e.ns.startBackend("gamma")
	e.service("gamma", gamma)
	e.ingress("secure", []networkingv1.IngressTLS{{Hosts: []string{"secure.test"}, SecretName: "secure-tls"}},
		rule{"secure.test", []path{{"/", "", "gamma"}}})

	e.eventually(time.Minute, "certificate secure-v1 for SNI secure.test", func() (bool, error) {
		cn, err := e.handshake("secure.test")
		return cn == "secure-v1", fmt.Errorf("cn %q, %v", cn, err)
	})
	if cn, err := e.handshake("other.test"); err != nil || cn != "Gantry Ingress Controller Fake Certificate" {
		t.Errorf("SNI other.test: %q, %v; want the fake certificate", cn, err)
	}

	// A verified request with the Secret's certificate as the root.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(crt)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "secure.test"}}}
	req, _ := http.NewRequestWithContext(e.ctx, "GET", "https://"+e.httpsAddr+"/hello", nil)
	req.Host = "secure.test"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("HTTPS request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Backend") != "gamma" || resp.Header.Get("Seen-X-Forwarded-Proto") != "https" {
		t.Errorf("HTTPS: %s backend %q proto %q", resp.Status, resp.Header.Get("X-Backend"), resp.Header.Get("Seen-X-Forwarded-Proto"))
	}

	// Rotation: the new certificate is served without a restart.
	crt2, key2 := cert(t, "secure-v2", "secure.test")
	sec.Data = map[string][]byte{"tls.crt": crt2, "tls.key": key2}
	if _, err := e.kube.CoreV1().Secrets(ns).Update(e.ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually(time.Minute, "rotated certificate secure-v2", func() (bool, error) {
		cn, err := e.handshake("secure.test")
		return cn == "secure-v2", fmt.Errorf("cn %q, %v", cn, err)
	})
}

// wsAccept is RFC 6455's Sec-WebSocket-Accept of a key.
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

func (e *env) testWebSocket(t *testing.T) {
	ws := e.ns.startBackend("ws")
	e.service("ws", ws)
	e.ingress("ws", nil, rule{"ws.test", []path{{"/", "", "ws"}}})
	e.waitRoute("ws.test", "/", 200, "ws /")

	conn, err := net.DialTimeout("tcp", e.httpAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	fmt.Fprintf(conn, "GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", key)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wsAccept(key) {
		t.Fatalf("upgrade: %s accept %q", resp.Status, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	for _, msg := range []string{"hello\n", "over the tunnel\n"} {
		fmt.Fprint(conn, msg)
		got, err := br.ReadString('\n')
		if want := "ws: " + strings.ToUpper(msg); err != nil || got != want {
			t.Fatalf("echo: %q, %v; want %q", got, err, want)
		}
	}
}

// testReadinessDrop runs requests continuously while one of two
// endpoints is marked not ready and then stopped, and while a dead
// endpoint is listed as ready: no request may fail.
func (e *env) testReadinessDrop(t *testing.T) {
	d1, d2 := e.ns.startBackend("delta-1"), e.ns.startBackend("delta-2")
	e.service("delta", d1, d2)
	e.ingress("delta", nil, rule{"delta.test", []path{{"/", "", "delta"}}})
	e.waitRoute("delta.test", "/", 200, "delta-")

	var ok, failed atomic.Int64
	var mu sync.Mutex
	var failures []string
	seen := map[string]*atomic.Int64{"delta-1": {}, "delta-2": {}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, body, err := e.get(c, "delta.test", "/")
				if err != nil || code != 200 {
					failed.Add(1)
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%d %q %v", code, body, err))
					mu.Unlock()
					continue
				}
				ok.Add(1)
				if n, found := seen[strings.Fields(body)[0]]; found {
					n.Add(1)
				}
			}
		}()
	}
	waitMore := func(what string, n int64) {
		target := ok.Load() + n
		e.eventually(time.Minute, what, func() (bool, error) { return ok.Load() >= target, nil })
	}
	waitMore("traffic to both endpoints", 50)
	if seen["delta-1"].Load() == 0 || seen["delta-2"].Load() == 0 {
		t.Errorf("round robin: delta-1 %d, delta-2 %d", seen["delta-1"].Load(), seen["delta-2"].Load())
	}

	// Readiness drops, then the backend goes away.
	e.writeSlice("delta", map[string]bool{d1.ip: false, d2.ip: true})
	// The gauge is set once the new table is in use.
	e.eventually(time.Minute, "delta-1 out of rotation", func() (bool, error) {
		return strings.Contains(e.metrics(e.ingressd), `gantry_ingress_upstream_endpoints{namespace="default",port="http",service="delta"} 1`), nil
	})
	d1.stop()
	waitMore("traffic after delta-1 stopped", 500)

	// An endpoint that is listed ready but refuses connections: the
	// proxy retries on the next one.
	dead := e.ns.ip()
	e.writeSlice("delta", map[string]bool{dead: true, d2.ip: true})
	e.eventually(time.Minute, "dead endpoint in the slice", func() (bool, error) {
		return strings.Contains(e.metrics(e.ingressd), `gantry_ingress_upstream_retries_total{namespace="default",service="delta"}`), nil
	})
	waitMore("traffic with a dead endpoint", 200)
	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d requests failed; first: %s", n, n+ok.Load(), failures[0])
	}
	t.Logf("%d requests, none failed", ok.Load())
}

func (e *env) testBadInput(t *testing.T) {
	eps := e.ns.startBackend("epsilon")
	e.service("epsilon", eps)
	// ImplementationSpecific paths pass API validation; "/a/../b" is
	// rejected by the controller, as is the missing TLS Secret: the rest
	// of the Ingress is served.
	e.ingress("broken", []networkingv1.IngressTLS{{Hosts: []string{"broken.test"}, SecretName: "no-such-secret"}},
		rule{"broken.test", []path{{"/a/../b", "ImplementationSpecific", "epsilon"}, {"/ok", "", "epsilon"}}})
	e.waitRoute("broken.test", "/ok", 200, "epsilon /ok")
	e.waitRoute("broken.test", "/b", 404, "No Ingress rule")
	want := map[string]string{
		"Rejected":      `spec.rules[0].http.paths[0].path "/a/../b": must not contain "/../"; path skipped`,
		"MissingSecret": "spec.tls[0]: secret default/no-such-secret not found; its hosts get the default certificate",
	}
	e.eventually(time.Minute, "Warning events on Ingress broken", func() (bool, error) {
		evs, err := e.kube.CoreV1().Events(ns).List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		found := 0
		var got []string
		for _, ev := range evs.Items {
			if ev.InvolvedObject.Kind != "Ingress" || ev.InvolvedObject.Name != "broken" {
				continue
			}
			got = append(got, ev.Type+" "+ev.Reason+": "+ev.Message)
			if msg, ok := want[ev.Reason]; ok && ev.Type == corev1.EventTypeWarning && ev.Message == msg {
				found++
			}
		}
		return found == len(want), fmt.Errorf("events: %q", got)
	})
	if cn, err := e.handshake("broken.test"); err != nil || cn != "Gantry Ingress Controller Fake Certificate" {
		t.Errorf("SNI broken.test: %q, %v; want the fake certificate", cn, err)
	}
	if err := e.ingressd.proc.Crashed(); err != nil {
		t.Fatalf("gantry-ingress crashed: %v", err)
	}
}

func (e *env) testStatus(t *testing.T) {
	e.eventually(time.Minute, "status.loadBalancer of Ingress routes", func() (bool, error) {
		ing, err := e.kube.NetworkingV1().Ingresses(ns).Get(e.ctx, "routes", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		lb := ing.Status.LoadBalancer.Ingress
		return len(lb) == 1 && lb[0].IP == publishAddress, fmt.Errorf("status %+v", lb)
	})
	ing, err := e.kube.NetworkingV1().Ingresses(ns).Get(e.ctx, "other-class", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ing.Status.LoadBalancer.Ingress) != 0 {
		t.Errorf("Ingress of another class got status %+v", ing.Status.LoadBalancer.Ingress)
	}
}

func (e *env) testMetrics(t *testing.T) {
	m := e.metrics(e.ingressd)
	for _, want := range []string{
		`gantry_ingress_requests_total{code="200",ingress="routes",namespace="default",service="alpha"}`,
		`gantry_ingress_requests_total{code="404",ingress="",namespace="",service=""}`,
		`gantry_ingress_requests_total{code="503",ingress="unready",namespace="default",service="empty"}`,
		`gantry_ingress_request_duration_seconds_bucket{code="200",ingress="routes",namespace="default",service="beta",le=`,
		`gantry_ingress_upstream_endpoints{namespace="default",port="http",service="delta"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
