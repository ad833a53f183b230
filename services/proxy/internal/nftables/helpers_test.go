package nftables

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/knftables"

	"github.com/gantry-dev/gantry/services/proxy/internal/healthz"
	"github.com/gantry-dev/gantry/services/proxy/internal/metrics"
	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

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

// states turns ports into Tracker output: one Service per namespace and
// name.
func states(ports ...portCase) []proxy.ServiceState {
	var out []proxy.ServiceState
	idx := map[types.NamespacedName]int{}
	for _, pc := range ports {
		n := pc.sp.Name.NamespacedName
		i, ok := idx[n]
		if !ok {
			i = len(out)
			idx[n] = i
			out = append(out, proxy.ServiceState{Name: n, Endpoints: proxy.EndpointsMap{}})
		}
		out[i].Ports = append(out[i].Ports, pc.sp)
		out[i].Endpoints[pc.sp.Name] = pc.eps
	}
	return out
}

// gone is the Tracker's word for a deleted Service.
func gone(ns, name string) proxy.ServiceState {
	return proxy.ServiceState{Name: types.NamespacedName{Namespace: ns, Name: name}}
}

func baseConfig() RuleConfig {
	return RuleConfig{Table: "kube-proxy", MasqueradeBit: 14, ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16")}
}

func newTestProxier(nft knftables.Interface, rc RuleConfig) *Proxier {
	return New(Config{
		Rules: rc, NodeName: "node-a", SyncPeriod: time.Hour, StaleChainDelay: time.Hour,
		NFT: nft, Metrics: metrics.New(prometheus.NewRegistry()), Health: healthz.New(time.Minute),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

// syncNow applies changes as a sync would after taking them from the
// tracker.
func syncNow(t *testing.T, p *Proxier, full bool, st ...proxy.ServiceState) {
	t.Helper()
	if err := p.sync(context.Background(), time.Now(), full, proxy.Changes{Services: st}); err != nil {
		t.Fatalf("sync (full %v): %v", full, err)
	}
}

// Objects for the informer-driven tests.

func service(name, ip string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: "1"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ip, Ports: ports},
	}
}

func slice(svc, name string, port int32, proto corev1.Protocol, addrs ...string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Port: &port, Protocol: &proto, Name: ptr("")}},
	}
	for _, a := range addrs {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, NodeName: ptr("node-a")})
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// Network namespaces.

var nsSeq atomic.Int32

// needRoot skips unless the test can make namespaces and run nft.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, nft)")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
}

// newNetns creates a network namespace that is deleted when the test
// ends (with everything in it: links, routes, the nft ruleset).
func newNetns(t testing.TB) string {
	t.Helper()
	needRoot(t)
	name := fmt.Sprintf("gnft-%d-%d", os.Getpid(), nsSeq.Add(1))
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// inNetns runs f on a thread of its own inside namespace ns, so that the
// sockets it opens and the commands it runs (nft) are that namespace's.
// The thread is never unlocked: it ends with the goroutine.
func inNetns(t testing.TB, ns string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		h, err := netns.GetFromName(ns)
		if err != nil {
			t.Errorf("open netns %s: %v", ns, err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			t.Errorf("enter netns %s: %v", ns, err)
			return
		}
		f()
	}()
	<-done
}

// run runs a command in the test's own namespace and fails the test
// if it fails.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// nftIn runs nft in namespace ns.
func nftIn(t testing.TB, ns string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns, "nft"}, args...)...).CombinedOutput()
	return string(out), err
}
