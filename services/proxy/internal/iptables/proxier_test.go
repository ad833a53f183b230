package iptables

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/proxy/internal/healthz"
	"github.com/gantry-dev/gantry/services/proxy/internal/metrics"
)

// inNetns runs f on a thread inside a fresh network namespace, so that
// the iptables commands it runs see that namespace's tables only.
func inNetns(t *testing.T, f func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, iptables)")
	}
	for _, tool := range []string{"ip", "iptables", "iptables-restore", "iptables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	name := fmt.Sprintf("gproxy-ut-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// The thread is not unlocked: it ends with the goroutine, so it
		// never runs other code in the wrong namespace.
		ns, err := netns.GetFromName(name)
		if err != nil {
			t.Errorf("open netns: %v", err)
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			t.Errorf("enter netns: %v", err)
			return
		}
		f()
	}()
	<-done
}

func save(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Errorf("iptables-save: %v", err)
	}
	return string(out)
}

// Every golden ruleset is accepted by the real iptables-restore.
func TestGoldenRestores(t *testing.T) {
	inNetns(t, func() {
		ex, err := NewExec()
		if err != nil {
			t.Error(err)
			return
		}
		for name, tc := range goldenCases() {
			if err := ex.Restore(context.Background(), []byte(render(tc.cfg, tc.ports))); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}

func newTestProxier(t *testing.T, ex Executor, prefix string) *Proxier {
	return New(Config{
		Rules: RuleConfig{Names: NewNames(prefix), MasqueradeBit: 14, RandomFully: true,
			ClusterCIDR: mustPrefix("10.250.0.0/16")},
		NodeName: "node-a", SyncPeriod: time.Hour, MinSyncPeriod: 0,
		Exec: ex, Metrics: metrics.New(prometheus.NewRegistry()), Health: healthz.New(time.Minute),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

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

func chainsWith(saved, prefix string) []string {
	var out []string
	for _, l := range strings.Split(saved, "\n") {
		if strings.HasPrefix(l, ":"+prefix) {
			out = append(out, strings.Fields(l[1:])[0])
		}
	}
	slices.Sort(out)
	return out
}

// The proxier against real iptables: a full sync, partial syncs that
// add, change and remove a Service, the jumps, and Cleanup.
func TestProxierRealIPTables(t *testing.T) {
	inNetns(t, func() {
		ctx := context.Background()
		ex, err := NewExec()
		if err != nil {
			t.Error(err)
			return
		}
		p := newTestProxier(t, ex, "GTU")
		sh, eh := p.ServiceHandler(), p.SliceHandler()
		web := service("web", "10.251.0.5", corev1.ServicePort{Name: "", Port: 80, Protocol: corev1.ProtocolTCP})
		sh.OnAdd(web, true)
		eh.OnAdd(slice("web", "web-1", 8080, corev1.ProtocolTCP, "10.250.1.2", "10.250.1.3"), true)
		if err := p.Sync(ctx); err != nil {
			t.Errorf("full sync: %v", err)
			return
		}
		s := save(t)
		for _, want := range []string{
			"-A PREROUTING -m comment --comment \"kubernetes service portals\" -j GTU-SERVICES",
			"-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j GTU-POSTROUTING",
			"--to-destination 10.250.1.3:8080",
			"-m tcp --dport 80 -j GTU-SVC-",
		} {
			if !strings.Contains(s, want) {
				t.Errorf("after the full sync, no %q in\n%s", want, s)
			}
		}
		if got := len(chainsWith(s, "GTU-SEP-")); got != 2 {
			t.Errorf("%d endpoint chains, want 2", got)
		}

		// A second Service without endpoints, and one endpoint of web
		// gone: a partial sync.
		sh.OnAdd(service("empty", "10.251.0.6", corev1.ServicePort{Port: 81, Protocol: corev1.ProtocolUDP}), false)
		eh.OnUpdate(nil, slice("web", "web-1", 8080, corev1.ProtocolTCP, "10.250.1.3"))
		if err := p.Sync(ctx); err != nil {
			t.Errorf("partial sync: %v", err)
			return
		}
		s = save(t)
		if strings.Contains(s, "10.250.1.2:8080") || len(chainsWith(s, "GTU-SEP-")) != 1 {
			t.Errorf("the removed endpoint's chain is still there:\n%s", s)
		}
		if !strings.Contains(s, `-A GTU-SERVICES -d 10.251.0.6/32 -p udp -m comment --comment "ns/empty has no endpoints" -m udp --dport 81 -j REJECT`) &&
			!strings.Contains(s, `--comment "ns/empty has no endpoints" -m udp --dport 81 -j REJECT`) {
			t.Errorf("no REJECT for the Service without endpoints:\n%s", s)
		}

		// web deleted: its chains go.
		sh.OnDelete(web)
		if err := p.Sync(ctx); err != nil {
			t.Errorf("partial sync: %v", err)
			return
		}
		s = save(t)
		if c := append(chainsWith(s, "GTU-SVC-"), chainsWith(s, "GTU-SEP-")...); len(c) != 0 {
			t.Errorf("chains of the deleted Service left: %v", c)
		}

		// A chain of ours that nothing wants (a previous run's) goes at
		// the next full sync; someone else's jump above ours is moved
		// below.
		cmds := [][]string{
			{"iptables", "-t", "nat", "-N", "GTU-SEP-LEFTOVER"},
			{"iptables", "-t", "filter", "-I", "FORWARD", "1", "-j", "ACCEPT"},
		}
		for _, c := range cmds {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				t.Errorf("%v: %v: %s", c, err, out)
			}
		}
		p.needFull = true
		if err := p.Sync(ctx); err != nil {
			t.Errorf("full sync: %v", err)
			return
		}
		s = save(t)
		if strings.Contains(s, "GTU-SEP-LEFTOVER") {
			t.Errorf("the leftover chain survived a full sync")
		}
		fwd, _ := exec.Command("iptables", "-S", "FORWARD").Output()
		lines := strings.Split(strings.TrimSpace(string(fwd)), "\n")
		if len(lines) < 5 || !strings.HasSuffix(lines[1], "GTU-SERVICES") || lines[len(lines)-1] != "-A FORWARD -j ACCEPT" {
			t.Errorf("FORWARD should start with our jumps:\n%s", fwd)
		}

		// Cleanup leaves nothing of ours, and the foreign rule.
		if err := Cleanup(ctx, ex, NewNames("GTU")); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		s = save(t)
		if strings.Contains(s, "GTU-") {
			t.Errorf("cleanup left rules behind:\n%s", s)
		}
		if !strings.Contains(s, "-A FORWARD -j ACCEPT") {
			t.Errorf("cleanup removed a rule that was not ours")
		}
	})
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
