package dns

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// fakeView is an indexView over stores the test fills.
func fakeView(t *testing.T, objs ...any) *indexView {
	t.Helper()
	ns := cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}
	svcs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, ns)
	sls := cache.NewIndexer(cache.MetaNamespaceKeyFunc, ns)
	if err := svcs.AddIndexers(serviceIndexers()); err != nil {
		t.Fatal(err)
	}
	if err := sls.AddIndexers(sliceIndexers()); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *corev1.Service:
			err = svcs.Add(o)
		case *discoveryv1.EndpointSlice:
			err = sls.Add(o)
		default:
			t.Fatalf("fakeView: unexpected %T", o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return &indexView{svcStore: svcs, sliceStore: sls}
}

func clusterIPService(ns, name string, ips []string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ips[0], ClusterIPs: ips, Ports: ports},
	}
}

func headlessService(ns, name string, ports ...corev1.ServicePort) *corev1.Service {
	return clusterIPService(ns, name, []string{corev1.ClusterIPNone}, ports...)
}

func externalService(ns, name, target string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target},
	}
}

func svcPort(name string, proto corev1.Protocol, port int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: proto, Port: port}
}

func slicePort(name string, proto corev1.Protocol, port int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: ptr.To(name), Protocol: ptr.To(proto), Port: ptr.To(port)}
}

// ep is an endpoint: ready unless notReady, with hostname when set.
func ep(addr, hostname string, notReady bool) discoveryv1.Endpoint {
	e := discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(!notReady)}}
	if hostname != "" {
		e.Hostname = ptr.To(hostname)
	}
	return e
}

func slice(ns, svc, name string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: family, Ports: ports, Endpoints: eps,
	}
}

// rrStrings renders records as zone-file lines with single spaces.
func rrStrings(rrs []mdns.RR) []string {
	out := []string{}
	for _, rr := range rrs {
		if rr.Header().Rrtype == mdns.TypeOPT {
			continue
		}
		out = append(out, strings.Join(strings.Fields(rr.String()), " "))
	}
	return out
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startServer runs a server over v on 127.0.0.1:0 and returns it with
// its UDP address.
func startServer(t *testing.T, v view, cfg Config) (*Server, string) {
	t.Helper()
	cfg.Listen = []string{"127.0.0.1:0"}
	if cfg.Log == nil {
		cfg.Log = quietLog()
	}
	if cfg.ResolvConf == "" {
		// Never the machine's resolvers: tests talk to loopback only.
		cfg.ResolvConf = writeFile(t, "resolv.conf", "")
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	srv, err := newServer(cfg, v)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	addrs := waitFor(t, func() []net.Addr { return srv.Addrs() })
	return srv, addrs[0].String()
}

// waitFor polls f until it returns a non-empty result, or fails the test
// after a deadline.
func waitFor[T any](t *testing.T, f func() []T) []T {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if v := f(); len(v) > 0 {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the deadline")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := t.TempDir() + "/" + name
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// query asks addr over network ("udp" or "tcp").
func query(t *testing.T, network, addr, name string, qtype uint16, edns bool) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg).SetQuestion(name, qtype)
	if edns {
		m.SetEdns0(4096, false)
	}
	c := &mdns.Client{Net: network, Timeout: 10 * time.Second}
	resp, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, mdns.TypeToString[qtype], network, err)
	}
	return resp
}

// fakeUpstream is a DNS server on loopback answering with handle, over
// UDP and TCP on the same port.
func fakeUpstream(t *testing.T, handle func(network string, req *mdns.Msg) *mdns.Msg) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	for _, s := range []*mdns.Server{
		{PacketConn: pc, Handler: upstreamHandler("udp", handle)},
		{Listener: ln, Handler: upstreamHandler("tcp", handle)},
	} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		done := make(chan error, 1)
		go func() { done <- s.ActivateAndServe() }()
		<-started
		t.Cleanup(func() {
			if err := s.Shutdown(); err != nil {
				t.Errorf("shut fake upstream down: %v", err)
			}
			if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
				t.Errorf("fake upstream: %v", err)
			}
		})
	}
	return pc.LocalAddr().String()
}

func upstreamHandler(network string, handle func(string, *mdns.Msg) *mdns.Msg) mdns.HandlerFunc {
	return func(w mdns.ResponseWriter, req *mdns.Msg) {
		if resp := handle(network, req); resp != nil {
			_ = w.WriteMsg(resp)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
