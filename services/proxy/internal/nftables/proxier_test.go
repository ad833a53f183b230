package nftables

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/knftables"

	"github.com/gantry-dev/gantry/services/proxy/internal/iptables"
	"github.com/gantry-dev/gantry/services/proxy/internal/metrics"
	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

// flakyNFT is the fake nft, whose transactions fail while fail is set.
type flakyNFT struct {
	*knftables.Fake
	fail error
	runs int
}

func (f *flakyNFT) Run(ctx context.Context, tx *knftables.Transaction) error {
	f.runs++
	if f.fail != nil {
		return f.fail
	}
	return f.Fake.Run(ctx, tx)
}

// dumpAfterFull is the table a fresh proxier makes from final in one
// full sync.
func dumpAfterFull(t *testing.T, rc RuleConfig, final []proxy.ServiceState) string {
	t.Helper()
	fake := knftables.NewFake(knftables.IPv4Family, rc.Table)
	syncNow(t, newTestProxier(fake, rc), true, final...)
	return dump(fake)
}

// dump is the fake's table with set and map elements sorted (their
// order means nothing; that of rules does).
func dump(fake *knftables.Fake) string {
	var other, elements []string
	for _, l := range strings.Split(fake.Dump(), "\n") {
		if strings.HasPrefix(l, "add element ") {
			elements = append(elements, l)
		} else {
			other = append(other, l)
		}
	}
	slices.Sort(elements)
	return strings.Join(append(other, elements...), "\n")
}

// After any sequence of incremental syncs (and the sync deleting the
// emptied chains), the table is what one full sync of the final state
// makes.
func TestIncrementalMatchesFull(t *testing.T) {
	rc := baseConfig()
	web := func(eps ...proxy.Endpoint) portCase {
		return portCase{svcPort("default", "web", "http", corev1.ProtocolTCP, "10.96.0.20", 80, func(sp *proxy.ServicePort) {
			sp.AffinitySeconds = 60
			sp.NodePort = 30080
		}), eps}
	}
	lb := func(local bool, eps ...proxy.Endpoint) portCase {
		return portCase{svcPort("shop", "lb", "", corev1.ProtocolTCP, "10.96.0.23", 80, func(sp *proxy.ServicePort) {
			sp.LoadBalancerIPs = []netip.Addr{netip.MustParseAddr("192.0.2.20")}
			sp.ExternalPolicyLocal = local
		}), eps}
	}
	dns := func(eps ...proxy.Endpoint) portCase {
		return portCase{svcPort("kube-system", "dns", "dns", corev1.ProtocolUDP, "10.96.0.30", 53), eps}
	}
	// other claims lb's load balancer IP and port: lb, first in name
	// order, keeps them until it goes.
	other := portCase{svcPort("shop", "other", "", corev1.ProtocolTCP, "10.96.0.24", 80, func(sp *proxy.ServicePort) {
		sp.LoadBalancerIPs = []netip.Addr{netip.MustParseAddr("192.0.2.20")}
	}), []proxy.Endpoint{ep("10.244.1.6:80", "r")}}
	steps := [][]proxy.ServiceState{
		states(web(ep("10.244.1.2:8080", "r")), lb(false, ep("10.244.1.5:80", "rl"))),
		states(web(ep("10.244.1.2:8080", "r"), ep("10.244.1.3:8080", "r")), other),
		states(dns()), // a Service without endpoints: rejected
		states(lb(true, ep("10.244.2.5:80", "r"))),     // Local, none here: dropped from outside
		states(dns(ep("10.244.1.9:53", "r"))),          // gets one
		{gone("default", "web")},                       // goes
		states(web(ep("10.244.1.3:8080", "t"))),        // comes back, terminating only
		states(lb(true, ep("10.244.1.5:80", "rl"))),    // a local endpoint again
		append(states(dns()), gone("shop", "lb")),      // two changes at once; other gets the load balancer IP
		states(web(ep("10.244.1.3:8080", "r"))),        // affinity chains rewritten, sets kept
		states(web(ep("10.244.1.3:8080", "r")), dns()), // no change at all
	}
	fake := knftables.NewFake(knftables.IPv4Family, rc.Table)
	p := newTestProxier(fake, rc)
	p.cfg.StaleChainDelay = time.Nanosecond
	all := map[string]proxy.ServiceState{}
	for i, st := range steps {
		syncNow(t, p, i == 0, st...)
		syncNow(t, p, false) // deletes the emptied chains
		for _, s := range st {
			all[s.Name.String()] = s
		}
		var final []proxy.ServiceState
		for _, s := range all {
			final = append(final, s)
		}
		if got, want := dump(fake), dumpAfterFull(t, rc, final); got != want {
			t.Fatalf("step %d: incremental syncs made\n%s\nbut a full sync makes\n%s", i, got, want)
		}
	}
}

// A failed transaction changes nothing, leaves health waiting, and makes
// the next sync a full one; a sync with nothing to do runs no nft.
func TestFailureAndNoop(t *testing.T) {
	f := &flakyNFT{Fake: knftables.NewFake(knftables.IPv4Family, "kube-proxy")}
	p := newTestProxier(f, baseConfig())
	reg := prometheus.NewRegistry()
	p.cfg.Metrics = metrics.New(reg)
	// programmed is how many network programming latencies were
	// observed.
	programmed := func() uint64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "kubeproxy_network_programming_duration_seconds" {
				return mf.GetMetric()[0].GetHistogram().GetSampleCount()
			}
		}
		return 0
	}
	// sliceAt is a slice changed by the EndpointSlice controller now.
	sliceAt := func(addr string) *discoveryv1.EndpointSlice {
		s := slice("a", "a-1", 8080, corev1.ProtocolTCP, addr)
		s.Annotations = map[string]string{corev1.EndpointsLastChangeTriggerTime: time.Now().Format(time.RFC3339Nano)}
		return s
	}
	ctx := context.Background()
	sh, eh := p.ServiceHandler(), p.SliceHandler()
	sh.OnAdd(service("a", "10.251.0.5", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP}), true)
	eh.OnAdd(sliceAt("10.250.1.2"), true)
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := programmed(); n != 1 {
		t.Errorf("%d network programming latencies after the first sync, want 1", n)
	}
	if !p.cfg.Health.Status().Healthy {
		t.Error("unhealthy after a successful sync")
	}
	runs := f.runs
	if err := p.Sync(ctx); err != nil || f.runs != runs {
		t.Fatalf("a sync without changes: err %v, %d nft runs", err, f.runs-runs)
	}

	f.fail = errors.New("nft: Error: Could not process rule")
	eh.OnUpdate(nil, sliceAt("10.250.1.3"))
	if err := p.Sync(ctx); err == nil {
		t.Fatal("a sync with a failing nft succeeded")
	}
	if n := programmed(); n != 1 {
		t.Errorf("a failed sync observed a network programming latency")
	}
	if strings.Contains(f.Dump(), "10.250.1.3") {
		t.Error("the failed transaction was applied")
	}
	f.fail = nil
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got := f.LastTransaction.String()
	if !strings.Contains(got, "add table ip kube-proxy") || !strings.Contains(got, ": 10.250.1.3 . 8080 }") {
		t.Errorf("the sync after a failure was not full:\n%s", got)
	}
	if n := programmed(); n != 2 {
		t.Errorf("%d network programming latencies, want 2 (the failed sync's change measured by the next)", n)
	}
}

// Two Services claiming one external IP and port: the first keeps it,
// and the transaction is still valid.
func TestConflictingElements(t *testing.T) {
	ext := func(sp *proxy.ServicePort) { sp.ExternalIPs = []netip.Addr{netip.MustParseAddr("192.0.2.1")} }
	fake := knftables.NewFake(knftables.IPv4Family, "kube-proxy")
	syncNow(t, newTestProxier(fake, baseConfig()), true, states(
		portCase{svcPort("a", "one", "", corev1.ProtocolTCP, "10.96.0.1", 80, ext), []proxy.Endpoint{ep("10.244.0.1:80", "r")}},
		portCase{svcPort("b", "two", "", corev1.ProtocolTCP, "10.96.0.2", 80, ext), []proxy.Endpoint{ep("10.244.0.2:80", "r")}},
	)...)
	el := fake.Table.Maps[mapServiceIPs].FindElement("192.0.2.1", "tcp", "80")
	if el == nil || !strings.Contains(el.Value[0], "a/one") {
		t.Errorf("element %+v, want a/one's", el)
	}
}

func TestStaleUDPFlows(t *testing.T) {
	udp := func(eps ...proxy.Endpoint) *entry {
		sp := svcPort("ns", "dns", "", corev1.ProtocolUDP, "10.96.0.10", 53, func(sp *proxy.ServicePort) { sp.NodePort = 30053 })
		return &entry{ports: []*proxy.ServicePort{sp}, eps: proxy.EndpointsMap{sp.Name: eps}}
	}
	a, b := ep("10.244.1.2:53", "r"), ep("10.244.1.3:53", "r")
	str := func(fs []iptables.Flow) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.String())
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		old, new *entry
		want     []string
	}{
		{"endpoint gone", udp(a, b), udp(b), []string{
			"-p udp --orig-dst 10.96.0.10 --orig-port-dst 53 --dst-nat 10.244.1.2",
			"-p udp --orig-port-dst 30053 --dst-nat 10.244.1.2",
		}},
		{"first endpoint", udp(), udp(a), []string{
			"-p udp --orig-dst 10.96.0.10 --orig-port-dst 53",
			"-p udp --orig-port-dst 30053",
		}},
		{"service gone", udp(a), nil, []string{
			"-p udp --orig-dst 10.96.0.10 --orig-port-dst 53 --dst-nat 10.244.1.2",
			"-p udp --orig-port-dst 30053 --dst-nat 10.244.1.2",
		}},
		{"tcp", &entry{ports: []*proxy.ServicePort{svcPort("ns", "w", "", corev1.ProtocolTCP, "10.96.0.11", 80)}}, nil, nil},
	} {
		got := str(staleFlows(tc.old, tc.new))
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
