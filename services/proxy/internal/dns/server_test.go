package dns

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// TestServerAnswers asks the in-process server over UDP and TCP.
func TestServerAnswers(t *testing.T) {
	_, addr := startServer(t, fakeView(t, testCluster()...), Config{})
	tests := []struct {
		qname  string
		qtype  uint16
		rcode  int
		answer []string
		authNS bool
	}{
		{qname: "web.default.svc.cluster.local.", qtype: mdns.TypeA,
			answer: []string{"web.default.svc.cluster.local. 5 IN A 10.96.0.20"}},
		{qname: "web.default.svc.cluster.local.", qtype: mdns.TypeAAAA, authNS: true},
		{qname: "nope.default.svc.cluster.local.", qtype: mdns.TypeA, rcode: mdns.RcodeNameError, authNS: true},
		{qname: "_http._tcp.web.default.svc.cluster.local.", qtype: mdns.TypeSRV,
			answer: []string{"_http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local."}},
		{qname: "20.0.96.10.in-addr.arpa.", qtype: mdns.TypePTR,
			answer: []string{"20.0.96.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local."}},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, edns := range []bool{false, true} {
			for _, tc := range tests {
				t.Run(fmt.Sprintf("%s/edns=%v/%s/%s", network, edns, tc.qname, mdns.TypeToString[tc.qtype]), func(t *testing.T) {
					resp := query(t, network, addr, tc.qname, tc.qtype, edns)
					if resp.Rcode != tc.rcode {
						t.Errorf("rcode = %s, want %s", mdns.RcodeToString[resp.Rcode], mdns.RcodeToString[tc.rcode])
					}
					if !resp.Authoritative || !resp.RecursionAvailable || resp.Truncated {
						t.Errorf("flags: aa=%v ra=%v tc=%v, want aa ra !tc", resp.Authoritative, resp.RecursionAvailable, resp.Truncated)
					}
					check(t, "answer", rrStrings(resp.Answer), tc.answer)
					if wantNS := tc.authNS; wantNS != (len(resp.Ns) == 1 && resp.Ns[0].Header().Rrtype == mdns.TypeSOA) {
						t.Errorf("authority = %v, want the SOA: %v", rrStrings(resp.Ns), wantNS)
					}
					if (resp.IsEdns0() != nil) != edns {
						t.Errorf("OPT in the answer = %v, want %v", resp.IsEdns0() != nil, edns)
					}
				})
			}
		}
	}
}

// TestServerTruncates: a headless Service with more addresses than fit
// in 512 bytes is truncated over UDP and whole over TCP.
func TestServerTruncates(t *testing.T) {
	var eps []discoveryv1.Endpoint
	for i := range 200 {
		eps = append(eps, ep(fmt.Sprintf("10.244.%d.%d", i/250, i%250+1), "", false))
	}
	objs := []any{
		headlessService("default", "big", svcPort("http", corev1.ProtocolTCP, 80)),
		slice("default", "big", "big-a", discoveryv1.AddressTypeIPv4, nil, eps...),
	}
	_, addr := startServer(t, fakeView(t, objs...), Config{})
	const name = "big.default.svc.cluster.local."

	udp := query(t, "udp", addr, name, mdns.TypeA, false)
	udp.Compress = true
	if !udp.Truncated || len(udp.Answer) >= 200 || udp.Len() > mdns.MinMsgSize {
		t.Errorf("UDP without EDNS: tc=%v answers=%d size=%d, want TC, fewer than 200 answers, <= 512 bytes", udp.Truncated, len(udp.Answer), udp.Len())
	}
	udpEDNS := query(t, "udp", addr, name, mdns.TypeA, true)
	if udpEDNS.Truncated || len(udpEDNS.Answer) != 200 {
		t.Errorf("UDP with a 4096-byte EDNS buffer: tc=%v answers=%d, want all 200", udpEDNS.Truncated, len(udpEDNS.Answer))
	}
	tcp := query(t, "tcp", addr, name, mdns.TypeA, false)
	if tcp.Truncated || len(tcp.Answer) != 200 {
		t.Errorf("TCP: tc=%v answers=%d, want all 200", tcp.Truncated, len(tcp.Answer))
	}
}

// TestServerForwards: names outside the zone go to the upstream over
// the client's transport; truncated UDP answers are asked again over
// TCP; a dead upstream is skipped; none answering gives SERVFAIL.
func TestServerForwards(t *testing.T) {
	var udpQueries, tcpQueries atomic.Int32
	up := fakeUpstream(t, func(network string, req *mdns.Msg) *mdns.Msg {
		q := req.Question[0]
		if q.Name == "example.com." && network == "udp" {
			udpQueries.Add(1)
		} else if q.Name == "example.com." {
			tcpQueries.Add(1)
		}
		resp := new(mdns.Msg).SetReply(req)
		resp.RecursionAvailable = true
		switch q.Name {
		case "example.com.":
			resp.Answer = append(resp.Answer, mustRR(t, "example.com. 60 IN A 192.0.2.1"))
		case "big.example.com.":
			if network == "udp" {
				resp.Truncated = true
				return resp
			}
			for i := range 100 {
				resp.Answer = append(resp.Answer, mustRR(t, fmt.Sprintf("big.example.com. 60 IN A 192.0.2.%d", i+1)))
			}
		default:
			resp.Rcode = mdns.RcodeNameError
		}
		return resp
	})
	// A first upstream that never answers: the server must move on.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	reg := prometheus.NewRegistry()
	_, addr := startServer(t, fakeView(t, testCluster()...), Config{
		Upstreams: []string{silent.LocalAddr().String(), up}, ForwardTimeout: 300 * time.Millisecond, Registerer: reg,
	})

	resp := query(t, "udp", addr, "example.com.", mdns.TypeA, false)
	check(t, "answer", rrStrings(resp.Answer), []string{"example.com. 60 IN A 192.0.2.1"})
	if resp.Authoritative {
		t.Error("forwarded answer marked authoritative")
	}
	if udpQueries.Load() != 1 {
		t.Errorf("upstream got %d UDP queries, want 1", udpQueries.Load())
	}

	resp = query(t, "tcp", addr, "example.com.", mdns.TypeA, false)
	check(t, "answer over TCP", rrStrings(resp.Answer), []string{"example.com. 60 IN A 192.0.2.1"})
	if tcpQueries.Load() != 1 {
		t.Errorf("upstream got %d TCP queries, want 1 (the client asked over TCP)", tcpQueries.Load())
	}

	resp = query(t, "udp", addr, "missing.example.com.", mdns.TypeA, false)
	if resp.Rcode != mdns.RcodeNameError {
		t.Errorf("rcode = %s, want the upstream's NXDOMAIN", mdns.RcodeToString[resp.Rcode])
	}

	// Truncated upstream answer: retried over TCP, then truncated again
	// for a UDP client without EDNS, and whole for a TCP client.
	resp = query(t, "udp", addr, "big.example.com.", mdns.TypeA, false)
	if !resp.Truncated || len(resp.Answer) >= 100 {
		t.Errorf("UDP client: tc=%v answers=%d, want TC and fewer than 100", resp.Truncated, len(resp.Answer))
	}
	resp = query(t, "tcp", addr, "big.example.com.", mdns.TypeA, false)
	if resp.Truncated || len(resp.Answer) != 100 {
		t.Errorf("TCP client: tc=%v answers=%d, want all 100", resp.Truncated, len(resp.Answer))
	}
	resp = query(t, "udp", addr, "big.example.com.", mdns.TypeA, true)
	if resp.Truncated || len(resp.Answer) != 100 {
		t.Errorf("UDP client with EDNS: tc=%v answers=%d, want all 100 (upstream asked over TCP)", resp.Truncated, len(resp.Answer))
	}

	// ExternalName outside the zone: CNAME plus the upstream's records.
	resp = query(t, "udp", addr, "ext.default.svc.cluster.local.", mdns.TypeA, false)
	check(t, "ExternalName answer", rrStrings(resp.Answer), []string{
		"ext.default.svc.cluster.local. 5 IN CNAME example.com.",
		"example.com. 60 IN A 192.0.2.1",
	})

	// At least missing.example.com. (the loop probe may be counted too).
	if got := testutil.ToFloat64(mustVec(t, reg, "coredns_forward_responses_total", map[string]string{"to": up, "rcode": "NXDOMAIN"})); got < 1 {
		t.Errorf("coredns_forward_responses_total{rcode=NXDOMAIN} = %v, want at least 1", got)
	}
}

func TestServerForwardFailure(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	_, addr := startServer(t, fakeView(t), Config{Upstreams: []string{silent.LocalAddr().String()}, ForwardTimeout: 200 * time.Millisecond})
	resp := query(t, "udp", addr, "example.com.", mdns.TypeA, false)
	if resp.Rcode != mdns.RcodeServerFailure {
		t.Errorf("rcode = %s, want SERVFAIL", mdns.RcodeToString[resp.Rcode])
	}

	_, noUp := startServer(t, fakeView(t), Config{})
	if resp := query(t, "udp", noUp, "example.com.", mdns.TypeA, false); resp.Rcode != mdns.RcodeServerFailure {
		t.Errorf("without upstreams: rcode = %s, want SERVFAIL", mdns.RcodeToString[resp.Rcode])
	}
}

func TestServerRefusesTransfers(t *testing.T) {
	_, addr := startServer(t, fakeView(t, testCluster()...), Config{})
	resp := query(t, "tcp", addr, "cluster.local.", mdns.TypeAXFR, false)
	if resp.Rcode != mdns.RcodeRefused {
		t.Errorf("AXFR: rcode = %s, want REFUSED", mdns.RcodeToString[resp.Rcode])
	}
	m := new(mdns.Msg).SetQuestion("web.default.svc.cluster.local.", mdns.TypeA)
	m.Question[0].Qclass = mdns.ClassCHAOS
	c := &mdns.Client{Net: "udp", Timeout: 10 * time.Second}
	resp, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rcode != mdns.RcodeRefused {
		t.Errorf("CHAOS class: rcode = %s, want REFUSED", mdns.RcodeToString[resp.Rcode])
	}
}

func TestServerMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv, addr := startServer(t, fakeView(t, testCluster()...), Config{Registerer: reg})
	query(t, "udp", addr, "web.default.svc.cluster.local.", mdns.TypeA, false)
	query(t, "tcp", addr, "nope.default.svc.cluster.local.", mdns.TypeAAAA, false)
	// The handler counts a response after writing it: the client can
	// have its answer first. The duration is observed last; wait for
	// both queries' before reading the counters.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if n, _ := testutil.GatherAndCount(reg, "coredns_dns_request_duration_seconds"); n == 2 {
			break
		}
	}
	server := "dns://" + addr
	for _, tc := range []struct {
		name   string
		labels map[string]string
	}{
		{"coredns_dns_requests_total", map[string]string{"server": server, "zone": "cluster.local.", "proto": "udp", "family": "1", "type": "A"}},
		{"coredns_dns_requests_total", map[string]string{"server": server, "zone": "cluster.local.", "proto": "tcp", "family": "1", "type": "AAAA"}},
		{"coredns_dns_responses_total", map[string]string{"server": server, "zone": "cluster.local.", "rcode": "NOERROR", "plugin": "kubernetes"}},
		{"coredns_dns_responses_total", map[string]string{"server": server, "zone": "cluster.local.", "rcode": "NXDOMAIN", "plugin": "kubernetes"}},
	} {
		if got := testutil.ToFloat64(mustVec(t, reg, tc.name, tc.labels)); got != 1 {
			t.Errorf("%s%v = %v, want 1", tc.name, tc.labels, got)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "coredns_dns_request_duration_seconds"); err != nil || n != 2 {
		t.Errorf("coredns_dns_request_duration_seconds series = %d, %v; want 2", n, err)
	}
	if err := srv.Healthy(); err != nil {
		t.Errorf("Healthy() = %v", err)
	}
}

// mustVec finds the series of metric name with labels in reg and
// returns it as a collector testutil can read.
func mustVec(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue series
				}
			}
			v := m.GetCounter().GetValue()
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 { return v })
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return nil
}

func mustRR(t *testing.T, s string) mdns.RR {
	t.Helper()
	rr, err := mdns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// TestServerDetectsLoop: an upstream that sends queries back to the
// server makes it stop forwarding and report itself unhealthy.
func TestServerDetectsLoop(t *testing.T) {
	var self atomic.Pointer[Server]
	relay := fakeUpstream(t, func(network string, req *mdns.Msg) *mdns.Msg {
		// The server's address, once startServer has returned it.
		addrs := waitFor(t, func() []net.Addr {
			if srv := self.Load(); srv != nil {
				return srv.Addrs()
			}
			return nil
		})
		c := &mdns.Client{Net: network, Timeout: 5 * time.Second}
		resp, _, err := c.Exchange(req, addrs[0].String())
		if err != nil {
			return new(mdns.Msg).SetRcode(req, mdns.RcodeServerFailure)
		}
		return resp
	})
	srv, addr := startServer(t, fakeView(t, testCluster()...), Config{Upstreams: []string{relay}, ForwardTimeout: 5 * time.Second})
	self.Store(srv)
	waitFor(t, func() []error {
		if err := srv.Healthy(); err != nil && strings.Contains(err.Error(), "loop") {
			return []error{err}
		}
		return nil
	})
	if resp := query(t, "udp", addr, "example.com.", mdns.TypeA, false); resp.Rcode != mdns.RcodeServerFailure {
		t.Errorf("after the loop: rcode = %s, want SERVFAIL", mdns.RcodeToString[resp.Rcode])
	}
	if resp := query(t, "udp", addr, "web.default.svc.cluster.local.", mdns.TypeA, false); len(resp.Answer) != 1 {
		t.Errorf("after the loop, cluster names still answer: got %v", resp.Answer)
	}
}
