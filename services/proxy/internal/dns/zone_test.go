package dns

import (
	"net/netip"
	"slices"
	"testing"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

const testSOA = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"

// testCluster is the cluster the zone tests answer from.
func testCluster() []any {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	v4 := discoveryv1.AddressTypeIPv4
	nr := headlessService("default", "nr", svcPort("http", tcp, 80))
	nr.Spec.PublishNotReadyAddresses = true
	return []any{
		clusterIPService("default", "web", []string{"10.96.0.20"}, svcPort("http", tcp, 80), svcPort("dns", udp, 53)),
		slice("default", "web", "web-a", v4, []discoveryv1.EndpointPort{slicePort("http", tcp, 8080)}, ep("10.244.1.9", "", false)),
		clusterIPService("default", "plain", []string{"10.96.0.21"}, svcPort("", tcp, 8080)),
		clusterIPService("default", "dual", []string{"10.96.0.30", "fd00:96::30"}, svcPort("http", tcp, 80)),
		headlessService("default", "db", svcPort("mysql", tcp, 3306)),
		slice("default", "db", "db-a", v4, []discoveryv1.EndpointPort{slicePort("mysql", tcp, 3306)},
			ep("10.244.1.5", "db-0", false), ep("10.244.1.6", "db-1", false),
			ep("10.244.1.7", "", false), ep("10.244.1.8", "db-3", true)),
		slice("default", "db", "db-b", v4, []discoveryv1.EndpointPort{slicePort("mysql", tcp, 3306)},
			ep("10.244.1.5", "db-0", false)),
		nr,
		slice("default", "nr", "nr-a", v4, []discoveryv1.EndpointPort{slicePort("http", tcp, 80)},
			ep("10.244.2.1", "", true), ep("10.244.2.2", "", false)),
		headlessService("default", "empty", svcPort("http", tcp, 80)),
		externalService("default", "ext", "example.com"),
		externalService("default", "alias", "web.default.svc.cluster.local"),
		externalService("default", "loop1", "loop2.default.svc.cluster.local"),
		externalService("default", "loop2", "loop1.default.svc.cluster.local"),
		clusterIPService("kube-system", "kube-dns", []string{"10.96.0.10"}, svcPort("dns", udp, 53), svcPort("dns-tcp", tcp, 53)),
	}
}

func testZone() *zone {
	return &zone{origin: "cluster.local.", ttl: 5, serial: 1, nsAddrs: []netip.Addr{netip.MustParseAddr("10.96.0.10")}}
}

func TestZoneLookup(t *testing.T) {
	v := fakeView(t, testCluster()...)
	nodata := []string{testSOA}
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string
		ns     []string
		extra  []string
		chase  string
	}{
		{name: "ClusterIP", qname: "web.default.svc.cluster.local.", qtype: mdns.TypeA,
			answer: []string{"web.default.svc.cluster.local. 5 IN A 10.96.0.20"}},
		{name: "names are case-insensitive, owner as asked", qname: "Web.DEFAULT.svc.Cluster.Local.", qtype: mdns.TypeA,
			answer: []string{"Web.DEFAULT.svc.Cluster.Local. 5 IN A 10.96.0.20"}},
		{name: "AAAA of an IPv4 Service is NODATA", qname: "web.default.svc.cluster.local.", qtype: mdns.TypeAAAA, ns: nodata},
		{name: "TXT of a Service is NODATA", qname: "web.default.svc.cluster.local.", qtype: mdns.TypeTXT, ns: nodata},
		{name: "dual-stack AAAA", qname: "dual.default.svc.cluster.local.", qtype: mdns.TypeAAAA,
			answer: []string{"dual.default.svc.cluster.local. 5 IN AAAA fd00:96::30"}},
		{name: "dual-stack A", qname: "dual.default.svc.cluster.local.", qtype: mdns.TypeA,
			answer: []string{"dual.default.svc.cluster.local. 5 IN A 10.96.0.30"}},
		{name: "missing Service is NXDOMAIN", qname: "nope.default.svc.cluster.local.", qtype: mdns.TypeA,
			rcode: mdns.RcodeNameError, ns: nodata},
		{name: "search path: <name>.svc.<domain> is a namespace without Services", qname: "web.svc.cluster.local.", qtype: mdns.TypeA,
			rcode: mdns.RcodeNameError, ns: nodata},
		{name: "search path: <name>.<domain>", qname: "web.cluster.local.", qtype: mdns.TypeA,
			rcode: mdns.RcodeNameError, ns: nodata},
		{name: "search path: a Service name under another namespace", qname: "web.kube-system.svc.cluster.local.", qtype: mdns.TypeA,
			rcode: mdns.RcodeNameError, ns: nodata},
		{name: "namespace with Services exists", qname: "default.svc.cluster.local.", qtype: mdns.TypeA, ns: nodata},
		{name: "svc exists", qname: "svc.cluster.local.", qtype: mdns.TypeA, ns: nodata},
		{name: "pod exists", qname: "pod.cluster.local.", qtype: mdns.TypeA, ns: nodata},
		{name: "apex A is NODATA", qname: "cluster.local.", qtype: mdns.TypeA, ns: nodata},
		{name: "apex SOA", qname: "cluster.local.", qtype: mdns.TypeSOA, answer: []string{testSOA}},
		{name: "apex NS", qname: "cluster.local.", qtype: mdns.TypeNS,
			answer: []string{"cluster.local. 5 IN NS ns.dns.cluster.local."},
			extra:  []string{"ns.dns.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "ns.dns", qname: "ns.dns.cluster.local.", qtype: mdns.TypeA,
			answer: []string{"ns.dns.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "unknown top label", qname: "foo.cluster.local.", qtype: mdns.TypeA, rcode: mdns.RcodeNameError, ns: nodata},
		{name: "headless: ready endpoints, once each", qname: "db.default.svc.cluster.local.", qtype: mdns.TypeA,
			answer: []string{
				"db.default.svc.cluster.local. 5 IN A 10.244.1.5",
				"db.default.svc.cluster.local. 5 IN A 10.244.1.6",
				"db.default.svc.cluster.local. 5 IN A 10.244.1.7",
			}},
		{name: "headless publishNotReadyAddresses", qname: "nr.default.svc.cluster.local.", qtype: mdns.TypeA,
			answer: []string{
				"nr.default.svc.cluster.local. 5 IN A 10.244.2.1",
				"nr.default.svc.cluster.local. 5 IN A 10.244.2.2",
			}},
		{name: "headless without endpoints is NODATA", qname: "empty.default.svc.cluster.local.", qtype: mdns.TypeA, ns: nodata},
		{name: "StatefulSet pod by hostname", qname: "db-1.db.default.svc.cluster.local.", qtype: mdns.TypeA,
			answer: []string{"db-1.db.default.svc.cluster.local. 5 IN A 10.244.1.6"}},
		{name: "not-ready pod's hostname is NXDOMAIN", qname: "db-3.db.default.svc.cluster.local.", qtype: mdns.TypeA,
			rcode: mdns.RcodeNameError, ns: nodata},
		{name: "endpoint without hostname by dashed address", qname: "10-244-1-7.db.default.svc.cluster.local.", qtype: mdns.TypeA,
			answer: []string{"10-244-1-7.db.default.svc.cluster.local. 5 IN A 10.244.1.7"}},
		{name: "endpoint with a hostname is not named by address", qname: "10-244-1-5.db.default.svc.cluster.local.", qtype: mdns.TypeA,
			rcode: mdns.RcodeNameError, ns: nodata},
		{name: "no endpoint names under a ClusterIP Service", qname: "10-244-1-9.web.default.svc.cluster.local.", qtype: mdns.TypeA,
			rcode: mdns.RcodeNameError, ns: nodata},
		{name: "SRV of a named port", qname: "_http._tcp.web.default.svc.cluster.local.", qtype: mdns.TypeSRV,
			answer: []string{"_http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local. 5 IN A 10.96.0.20"}},
		{name: "SRV labels are case-insensitive", qname: "_HTTP._TCP.web.default.svc.cluster.local.", qtype: mdns.TypeSRV,
			answer: []string{"_HTTP._TCP.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local. 5 IN A 10.96.0.20"}},
		{name: "SRV of a UDP port", qname: "_dns._udp.kube-dns.kube-system.svc.cluster.local.", qtype: mdns.TypeSRV,
			answer: []string{"_dns._udp.kube-dns.kube-system.svc.cluster.local. 5 IN SRV 0 100 53 kube-dns.kube-system.svc.cluster.local."},
			extra:  []string{"kube-dns.kube-system.svc.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "SRV with the wrong protocol is NXDOMAIN", qname: "_http._udp.web.default.svc.cluster.local.", qtype: mdns.TypeSRV,
			rcode: mdns.RcodeNameError, ns: nodata},
		{name: "A of an SRV name is NODATA", qname: "_http._tcp.web.default.svc.cluster.local.", qtype: mdns.TypeA, ns: nodata},
		{name: "protocol label is an empty non-terminal", qname: "_tcp.web.default.svc.cluster.local.", qtype: mdns.TypeSRV, ns: nodata},
		{name: "SRV of the Service name lists every named port", qname: "web.default.svc.cluster.local.", qtype: mdns.TypeSRV,
			answer: []string{
				"web.default.svc.cluster.local. 5 IN SRV 0 50 53 web.default.svc.cluster.local.",
				"web.default.svc.cluster.local. 5 IN SRV 0 50 80 web.default.svc.cluster.local.",
			},
			extra: []string{"web.default.svc.cluster.local. 5 IN A 10.96.0.20"}},
		{name: "unnamed ports have no SRV", qname: "plain.default.svc.cluster.local.", qtype: mdns.TypeSRV, ns: nodata},
		{name: "headless SRV points at each endpoint", qname: "_mysql._tcp.db.default.svc.cluster.local.", qtype: mdns.TypeSRV,
			answer: []string{
				"_mysql._tcp.db.default.svc.cluster.local. 5 IN SRV 0 33 3306 10-244-1-7.db.default.svc.cluster.local.",
				"_mysql._tcp.db.default.svc.cluster.local. 5 IN SRV 0 33 3306 db-0.db.default.svc.cluster.local.",
				"_mysql._tcp.db.default.svc.cluster.local. 5 IN SRV 0 33 3306 db-1.db.default.svc.cluster.local.",
			},
			extra: []string{
				"10-244-1-7.db.default.svc.cluster.local. 5 IN A 10.244.1.7",
				"db-0.db.default.svc.cluster.local. 5 IN A 10.244.1.5",
				"db-1.db.default.svc.cluster.local. 5 IN A 10.244.1.6",
			}},
		{name: "headless SRV without endpoints is NODATA", qname: "_http._tcp.empty.default.svc.cluster.local.", qtype: mdns.TypeSRV, ns: nodata},
		{name: "ExternalName outside the zone", qname: "ext.default.svc.cluster.local.", qtype: mdns.TypeA,
			answer: []string{"ext.default.svc.cluster.local. 5 IN CNAME example.com."}, chase: "example.com."},
		{name: "ExternalName CNAME query", qname: "ext.default.svc.cluster.local.", qtype: mdns.TypeCNAME,
			answer: []string{"ext.default.svc.cluster.local. 5 IN CNAME example.com."}},
		{name: "ExternalName inside the zone is followed", qname: "alias.default.svc.cluster.local.", qtype: mdns.TypeA,
			answer: []string{
				"alias.default.svc.cluster.local. 5 IN CNAME web.default.svc.cluster.local.",
				"web.default.svc.cluster.local. 5 IN A 10.96.0.20",
			}},
		{name: "ExternalName loop", qname: "loop1.default.svc.cluster.local.", qtype: mdns.TypeA, rcode: mdns.RcodeServerFailure,
			answer: func() []string {
				var out []string
				for i := 0; i <= maxChase; i++ {
					a, b := "loop1", "loop2"
					if i%2 == 1 {
						a, b = b, a
					}
					out = append(out, a+".default.svc.cluster.local. 5 IN CNAME "+b+".default.svc.cluster.local.")
				}
				return out
			}()},
		{name: "pod A", qname: "10-244-1-5.default.pod.cluster.local.", qtype: mdns.TypeA,
			answer: []string{"10-244-1-5.default.pod.cluster.local. 5 IN A 10.244.1.5"}},
		{name: "pod AAAA", qname: "fd00--5.default.pod.cluster.local.", qtype: mdns.TypeAAAA,
			answer: []string{"fd00--5.default.pod.cluster.local. 5 IN AAAA fd00::5"}},
		{name: "pod name that is no address", qname: "web.default.pod.cluster.local.", qtype: mdns.TypeA,
			rcode: mdns.RcodeNameError, ns: nodata},
		{name: "pod namespace exists", qname: "default.pod.cluster.local.", qtype: mdns.TypeA, ns: nodata},
		{name: "too many labels", qname: "a.b._http._tcp.web.default.svc.cluster.local.", qtype: mdns.TypeA,
			rcode: mdns.RcodeNameError, ns: nodata},
		{name: "ANY of a Service", qname: "web.default.svc.cluster.local.", qtype: mdns.TypeANY,
			answer: []string{
				"web.default.svc.cluster.local. 5 IN A 10.96.0.20",
				"web.default.svc.cluster.local. 5 IN SRV 0 50 53 web.default.svc.cluster.local.",
				"web.default.svc.cluster.local. 5 IN SRV 0 50 80 web.default.svc.cluster.local.",
			},
			extra: []string{"web.default.svc.cluster.local. 5 IN A 10.96.0.20"}},
	}
	z := testZone()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := z.lookup(v, tc.qname, tc.qtype)
			if got.rcode != tc.rcode {
				t.Errorf("rcode = %s, want %s", mdns.RcodeToString[got.rcode], mdns.RcodeToString[tc.rcode])
			}
			check(t, "answer", rrStrings(got.answer), tc.answer)
			check(t, "authority", rrStrings(got.ns), tc.ns)
			check(t, "additional", rrStrings(got.extra), tc.extra)
			if got.chase != tc.chase {
				t.Errorf("chase = %q, want %q", got.chase, tc.chase)
			}
		})
	}
}

func TestZoneLookupNotSynced(t *testing.T) {
	v := fakeView(t, testCluster()...)
	v.hasSynced = func() bool { return false }
	if got := testZone().lookup(v, "nope.default.svc.cluster.local.", mdns.TypeA); got.rcode != mdns.RcodeServerFailure {
		t.Errorf("rcode = %s, want SERVFAIL before the caches synced", mdns.RcodeToString[got.rcode])
	}
}

func TestZonePTR(t *testing.T) {
	v := fakeView(t, testCluster()...)
	tests := []struct {
		qname string
		want  []string
	}{
		{"20.0.96.10.in-addr.arpa.", []string{"20.0.96.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local."}},
		{"0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0.d.f.ip6.arpa.",
			[]string{"0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0.d.f.ip6.arpa. 5 IN PTR dual.default.svc.cluster.local."}},
		{"6.1.244.10.in-addr.arpa.", []string{"6.1.244.10.in-addr.arpa. 5 IN PTR db-1.db.default.svc.cluster.local."}},
		{"7.1.244.10.in-addr.arpa.", []string{"7.1.244.10.in-addr.arpa. 5 IN PTR 10-244-1-7.db.default.svc.cluster.local."}},
		{"9.1.244.10.in-addr.arpa.", []string{}},      // endpoint of a ClusterIP Service
		{"8.1.244.10.in-addr.arpa.", []string{}},      // not ready
		{"1.1.1.1.in-addr.arpa.", []string{}},         // not the cluster's
		{"01.0.96.10.in-addr.arpa.", []string{}},      // not an address
		{"1.0.96.10.in-addr.arpa.extra.", []string{}}, // not a reverse name
		{"0.96.10.in-addr.arpa.", []string{}},         // a reverse zone, no address
		{"example.com.", []string{}},
	}
	z := testZone()
	for _, tc := range tests {
		t.Run(tc.qname, func(t *testing.T) {
			check(t, "PTR", rrStrings(z.ptr(v, tc.qname)), tc.want)
		})
	}
}

func TestDashed(t *testing.T) {
	for _, s := range []string{"10.244.1.5", "fd00::5", "2001:db8::1:2"} {
		ip := netip.MustParseAddr(s)
		got, ok := undashed(dashed(ip))
		if !ok || got != ip {
			t.Errorf("undashed(dashed(%s)) = %s, %v", s, got, ok)
		}
	}
	for _, bad := range []string{"10-244-1", "web", "10-244-1-500", "fe80--1%eth0", ""} {
		if ip, ok := undashed(bad); ok {
			t.Errorf("undashed(%q) = %s, want no address", bad, ip)
		}
	}
}

func check(t *testing.T, what string, got, want []string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}
