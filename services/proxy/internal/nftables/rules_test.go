package nftables

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/knftables"

	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenCases are representative Services (the iptables mode's golden
// cases); the full sync's transaction for each is in
// testdata/<name>.golden (go test -run TestGolden -update rewrites them).
func goldenCases() map[string]struct {
	cfg   RuleConfig
	ports []portCase
} {
	npAddrs := baseConfig()
	npAddrs.NodePortAddresses = []netip.Prefix{netip.MustParsePrefix("192.168.0.0/24"), netip.MustParsePrefix("192.168.0.128/25"), netip.MustParsePrefix("10.0.0.0/8")}
	npAddrs.MasqueradeAll = true
	npAddrs.ClusterCIDR = netip.Prefix{}
	return map[string]struct {
		cfg   RuleConfig
		ports []portCase
	}{
		// Two ready endpoints share the traffic; the not-ready one and
		// the terminating one get none.
		"clusterip": {baseConfig(), []portCase{{
			svcPort("default", "web", "http", corev1.ProtocolTCP, "10.96.0.20", 80),
			[]proxy.Endpoint{ep("10.244.1.2:8080", "r"), ep("10.244.1.3:8080", "r"), ep("10.244.1.4:8080", ""), ep("10.244.1.5:8080", "st")},
		}}},
		// No endpoint: rejected, ClusterIP and NodePort alike.
		"no-endpoints": {baseConfig(), []portCase{{
			svcPort("default", "empty", "", corev1.ProtocolTCP, "10.96.0.21", 80, func(sp *proxy.ServicePort) { sp.NodePort = 30080 }),
			[]proxy.Endpoint{ep("10.244.1.4:8080", "")},
		}}},
		// NodePort, external IP, load balancer IP and ClientIP affinity.
		"nodeport-affinity": {baseConfig(), []portCase{{
			svcPort("shop", "front", "https", corev1.ProtocolTCP, "10.96.0.22", 443, func(sp *proxy.ServicePort) {
				sp.NodePort = 30443
				sp.AffinitySeconds = 600
				sp.ExternalIPs = []netip.Addr{netip.MustParseAddr("192.0.2.10")}
				sp.LoadBalancerIPs = []netip.Addr{netip.MustParseAddr("192.0.2.20")}
			}),
			[]proxy.Endpoint{ep("10.244.1.2:8443", "rl"), ep("10.244.2.2:8443", "r")},
		}}},
		// externalTrafficPolicy Local: outside traffic only to the local
		// endpoint, unmasqueraded; pods and the node may use any.
		"external-local": {baseConfig(), []portCase{{
			svcPort("shop", "lb", "", corev1.ProtocolTCP, "10.96.0.23", 80, func(sp *proxy.ServicePort) {
				sp.NodePort = 30081
				sp.ExternalPolicyLocal = true
			}),
			[]proxy.Endpoint{ep("10.244.1.2:80", "rl"), ep("10.244.2.2:80", "r")},
		}}},
		// internalTrafficPolicy Local with no endpoint on this node:
		// dropped (the Service has endpoints, just not here).
		"internal-local-none-here": {baseConfig(), []portCase{{
			svcPort("shop", "node-cache", "", corev1.ProtocolTCP, "10.96.0.24", 80, func(sp *proxy.ServicePort) { sp.InternalPolicyLocal = true }),
			[]proxy.Endpoint{ep("10.244.2.2:80", "r")},
		}}},
		// Only terminating endpoints left: they stand in.
		"terminating-fallback": {baseConfig(), []portCase{{
			svcPort("default", "rolling", "", corev1.ProtocolTCP, "10.96.0.25", 80),
			[]proxy.Endpoint{ep("10.244.1.2:80", "st"), ep("10.244.1.3:80", "t")},
		}}},
		// UDP and SCTP ports of one Service, with --masquerade-all and
		// NodePorts limited to some ranges (overlapping ones merged).
		"udp-sctp-masquerade-all": {npAddrs, []portCase{
			{svcPort("kube-system", "dns", "dns", corev1.ProtocolUDP, "10.96.0.30", 53), []proxy.Endpoint{ep("10.244.1.9:53", "r")}},
			{svcPort("kube-system", "sig", "sctp", corev1.ProtocolSCTP, "10.96.0.31", 9999, func(sp *proxy.ServicePort) { sp.NodePort = 31999 }),
				[]proxy.Endpoint{ep("10.244.1.9:9999", "r")}},
		}},
		// Nothing at all: the fixed chains, maps and sets.
		"empty": {baseConfig(), nil},
	}
}

// fullTransaction is the transaction of a first full sync of ports.
func fullTransaction(t *testing.T, c RuleConfig, ports []portCase) string {
	t.Helper()
	fake := knftables.NewFake(knftables.IPv4Family, c.Table)
	p := newTestProxier(fake, c)
	syncNow(t, p, true, states(ports...)...)
	return fake.LastTransaction.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("transaction differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestGolden(t *testing.T) {
	for name, tc := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			checkGolden(t, name, fullTransaction(t, tc.cfg, tc.ports))
		})
	}
}

// incrementalSteps are a first state and a change to it: web gets a
// third endpoint and loses one, empty (no endpoints) goes away, api is
// new, front's affinity and endpoints stay as they were.
func incrementalSteps() (before, after []proxy.ServiceState) {
	web := func(eps ...proxy.Endpoint) portCase {
		return portCase{svcPort("default", "web", "http", corev1.ProtocolTCP, "10.96.0.20", 80), eps}
	}
	front := portCase{svcPort("shop", "front", "", corev1.ProtocolTCP, "10.96.0.22", 443, func(sp *proxy.ServicePort) {
		sp.AffinitySeconds = 600
		sp.NodePort = 30443
	}), []proxy.Endpoint{ep("10.244.1.7:8443", "r")}}
	empty := portCase{svcPort("default", "empty", "", corev1.ProtocolUDP, "10.96.0.21", 53), nil}
	api := portCase{svcPort("default", "api", "", corev1.ProtocolTCP, "10.96.0.26", 443, func(sp *proxy.ServicePort) { sp.NodePort = 30444 }),
		[]proxy.Endpoint{ep("10.244.3.3:6443", "r")}}
	before = states(web(ep("10.244.1.2:8080", "r"), ep("10.244.1.3:8080", "r")), empty, front)
	after = append(states(web(ep("10.244.1.3:8080", "r"), ep("10.244.1.4:8080", "r")), api), gone("default", "empty"))
	return before, after
}

// The incremental transaction holds only the change: web's endpoint map
// refilled (its chain's rules stay as they are); api's chains, map and
// elements added; empty's reject element removed; nothing of front, of
// the fixed chains or of the shared maps' other elements.
func TestGoldenIncremental(t *testing.T) {
	before, after := incrementalSteps()
	fake := knftables.NewFake(knftables.IPv4Family, "kube-proxy")
	p := newTestProxier(fake, baseConfig())
	syncNow(t, p, true, before...)
	syncNow(t, p, false, after...)
	got := fake.LastTransaction.String()
	checkGolden(t, "incremental", got)
	for _, absent := range []string{"front", "flush map ip kube-proxy service-ips", "flush set", "add table",
		"rule ip kube-proxy service-SUSTUHLJ-default/web"} {
		if strings.Contains(got, absent) {
			t.Errorf("the incremental transaction mentions %q", absent)
		}
	}
}

// Names are kube-proxy's: the same hash of the same string.
func TestNames(t *testing.T) {
	sp := svcPort("ns1", "svc1", "p80", corev1.ProtocolTCP, "10.0.0.1", 80)
	if got := portBase(sp.Name); got != "ULMVA6XW-ns1/svc1/tcp/p80" {
		t.Errorf("service chain base %q", got)
	}
	if got := endpointBase(sp.Name, ep("10.180.0.1:80", "r")); got != "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80" {
		t.Errorf("endpoint chain base %q", got)
	}
	if TableName("KUBE") != "kube-proxy" || !ValidTableName("gt12-proxy") || ValidTableName("a;b-proxy") {
		t.Error("table names")
	}
	long := strings.Repeat("a", 63)
	sp = svcPort(long, long, long, corev1.ProtocolSCTP, "10.0.0.1", 80)
	if n := kindEndpoint + endpointBase(sp.Name, ep("10.180.0.1:65535", "r")); len(n) > knftables.NameLengthMax {
		t.Errorf("name of %d characters", len(n))
	}
}

// Thousands of endpoints: one chain, and one endpoint map whose runs
// cover every random number once, each endpoint getting its share.
func TestManyEndpoints(t *testing.T) {
	var eps []proxy.Endpoint
	for i := range 5000 {
		eps = append(eps, ep(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 244, byte(i / 250), byte(i%250 + 1)}), 80).String(), "r"))
	}
	so := BuildService(baseConfig(), svcPort("ns", "big", "", corev1.ProtocolTCP, "10.96.0.1", 80), eps)
	if len(so.Chains) != 1 || len(so.Maps) != 1 || len(so.Maps[0].Entries) != 5000 {
		t.Fatalf("%d chains, %d maps, want 1 and 1 of 5000 entries", len(so.Chains), len(so.Maps))
	}
	lb := so.Chains[0].Rules[len(so.Chains[0].Rules)-1].Rule
	if lb != "meta l4proto tcp dnat ip to numgen random mod 1048576 map @"+so.Maps[0].Name {
		t.Errorf("balancing rule: %s", lb)
	}
	next := uint32(0)
	for i, e := range so.Maps[0].Entries {
		if e.First != next || e.Last < e.First || (e.Last-e.First+1) < endpointSlots/5000 || (e.Last-e.First+1) > endpointSlots/5000+1 {
			t.Fatalf("entry %d: %d-%d after %d", i, e.First, e.Last, next)
		}
		if e.To != netip.AddrPortFrom(eps[i].IP, uint16(eps[i].Port)) {
			t.Fatalf("entry %d goes to %v", i, e.To)
		}
		next = e.Last + 1
	}
	if next != endpointSlots {
		t.Errorf("the runs end at %d, want %d", next, endpointSlots)
	}
}
