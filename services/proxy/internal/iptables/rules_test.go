package iptables

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// svcPort is a ServicePort of ns/name with defaults for the tests.
func svcPort(ns, name, port string, proto corev1.Protocol, clusterIP string, p int32, mod ...func(*proxy.ServicePort)) *proxy.ServicePort {
	sp := &proxy.ServicePort{
		Name:      proxy.ServicePortName{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}, Port: port, Protocol: proto},
		ClusterIP: netip.MustParseAddr(clusterIP), Port: p, Protocol: proto,
	}
	for _, m := range mod {
		m(sp)
	}
	return sp
}

// ep is an endpoint; flags: r ready, s serving, t terminating, l local.
func ep(addr string, flags string) proxy.Endpoint {
	ap := netip.MustParseAddrPort(addr)
	return proxy.Endpoint{
		IP: ap.Addr(), Port: int32(ap.Port()),
		Ready: strings.Contains(flags, "r"), Serving: strings.Contains(flags, "s") || strings.Contains(flags, "r"),
		Terminating: strings.Contains(flags, "t"), Local: strings.Contains(flags, "l"),
	}
}

type portCase struct {
	sp  *proxy.ServicePort
	eps []proxy.Endpoint
}

// render is the full restore for the given ports, as a full sync writes
// it.
func render(c RuleConfig, ports []portCase) string {
	var all []*ServiceRules
	for _, pc := range ports {
		all = append(all, BuildService(c, pc.sp, pc.eps))
	}
	filter, nat := TopLevel(c, all)
	r := &Restore{Filter: filter, NAT: nat}
	for _, s := range all {
		r.NAT = append(r.NAT, s.Chains...)
	}
	return r.String()
}

func baseConfig() RuleConfig {
	return RuleConfig{
		Names: NewNames("KUBE"), MasqueradeBit: 14, RandomFully: true,
		ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"),
	}
}

// goldenCases are representative Services; their rules are in
// testdata/<name>.golden (go test -run TestGolden -update rewrites them).
func goldenCases() map[string]struct {
	cfg   RuleConfig
	ports []portCase
} {
	npAddrs := baseConfig()
	npAddrs.NodePortAddresses = []netip.Prefix{netip.MustParsePrefix("192.168.0.0/24")}
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
		// No endpoint: REJECTed in the filter table, ClusterIP and
		// NodePort alike.
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
		// DROP (the Service has endpoints, just not here).
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
		// NodePorts limited to one range.
		"udp-sctp-masquerade-all": {npAddrs, []portCase{
			{svcPort("kube-system", "dns", "dns", corev1.ProtocolUDP, "10.96.0.30", 53), []proxy.Endpoint{ep("10.244.1.9:53", "r")}},
			{svcPort("kube-system", "sig", "sctp", corev1.ProtocolSCTP, "10.96.0.31", 9999, func(sp *proxy.ServicePort) { sp.NodePort = 31999 }),
				[]proxy.Endpoint{ep("10.244.1.9:9999", "r")}},
		}},
		// Nothing at all: just the top-level chains.
		"empty": {baseConfig(), nil},
	}
}

func TestGolden(t *testing.T) {
	for name, tc := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			got := render(tc.cfg, tc.ports)
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
				t.Errorf("rules differ from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}

func TestBalanceProbabilities(t *testing.T) {
	var eps []proxy.Endpoint
	for i := range 4 {
		eps = append(eps, ep(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 244, 1, byte(i + 1)}), 80).String(), "r"))
	}
	sp := svcPort("ns", "s", "", corev1.ProtocolTCP, "10.96.0.1", 80)
	rules := balance(baseConfig(), sp, "KUBE-SVC-X", eps)
	want := []string{"0.2500000000", "0.3333333333", "0.5000000000", ""}
	for i, r := range rules {
		has := strings.Contains(r, "--probability")
		if want[i] == "" && has || want[i] != "" && !strings.Contains(r, "--probability "+want[i]) {
			t.Errorf("rule %d: %s, want probability %q", i, r, want[i])
		}
	}
}

// Thousands of endpoints give one chain each and rules that stay valid.
func TestManyEndpoints(t *testing.T) {
	var eps []proxy.Endpoint
	for i := range 5000 {
		eps = append(eps, ep(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 244, byte(i / 250), byte(i%250 + 1)}), 80).String(), "r"))
	}
	sp := svcPort("ns", "big", "", corev1.ProtocolTCP, "10.96.0.1", 80)
	sr := BuildService(baseConfig(), sp, eps)
	if len(sr.Chains) != 1+5000 {
		t.Fatalf("%d chains, want 5001", len(sr.Chains))
	}
	if got := len(sr.Chains[0].Rules); got != 1+5000 {
		t.Fatalf("service chain has %d rules, want 5001", got)
	}
	if !strings.Contains(sr.Chains[0].Rules[1], "--probability 0.0002000000") {
		t.Errorf("first rule: %s", sr.Chains[0].Rules[1])
	}
}
