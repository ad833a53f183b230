package iptables

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

// fakeExec records restores and can fail them.
type fakeExec struct {
	restores []string
	fail     error
	chains   []string
}

func (f *fakeExec) Restore(_ context.Context, data []byte) error {
	if f.fail != nil {
		return f.fail
	}
	f.restores = append(f.restores, string(data))
	return nil
}
func (f *fakeExec) Chains(context.Context, string) ([]string, error) { return f.chains, nil }
func (f *fakeExec) EnsureJumps(context.Context, []Jump, func(string) bool) error {
	return nil
}
func (f *fakeExec) RemoveJumps(context.Context, string, func(string) bool) error { return nil }

func (f *fakeExec) last() string { return f.restores[len(f.restores)-1] }

// A partial sync writes only the chains that changed; a failed restore
// changes nothing, turns health bad once it waits too long, and makes
// the next sync a full one.
func TestPartialSyncAndFailure(t *testing.T) {
	ctx := context.Background()
	fx := &fakeExec{chains: []string{"KUBE-SEP-STALEONE"}}
	p := newTestProxier(t, fx, "KUBE")
	sh, eh := p.ServiceHandler(), p.SliceHandler()
	sh.OnAdd(service("a", "10.251.0.5", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP}), true)
	sh.OnAdd(service("b", "10.251.0.6", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP}), true)
	eh.OnAdd(slice("a", "a-1", 8080, corev1.ProtocolTCP, "10.250.1.2"), true)
	eh.OnAdd(slice("b", "b-1", 8080, corev1.ProtocolTCP, "10.250.1.3"), true)
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	full := fx.last()
	if !strings.Contains(full, "-X KUBE-SEP-STALEONE") || strings.Count(full, ":KUBE-SEP-") != 3 {
		t.Fatalf("full sync should write both services and delete the stale chain:\n%s", full)
	}
	if !p.cfg.Health.Status().Healthy {
		t.Error("unhealthy after a successful sync")
	}

	// b's endpoint moves: only b's chains are written.
	eh.OnUpdate(nil, slice("b", "b-1", 8080, corev1.ProtocolTCP, "10.250.1.4"))
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	part := fx.last()
	if strings.Contains(part, "10.250.1.2:8080") || !strings.Contains(part, "10.250.1.4:8080") ||
		!strings.Contains(part, "-X KUBE-SEP-") || strings.Contains(part, "STALEONE") {
		t.Fatalf("partial sync wrote the wrong chains:\n%s", part)
	}

	// A failing restore: an error, and the next sync is full.
	fx.fail = errors.New("iptables-restore: line 3 failed")
	sh.OnUpdate(nil, service("a", "10.251.0.5", corev1.ServicePort{Port: 81, Protocol: corev1.ProtocolTCP}))
	if err := p.Sync(ctx); err == nil {
		t.Fatal("sync with a failing restore succeeded")
	}
	fx.fail = nil
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := fx.last(); !strings.Contains(got, "10.250.1.2:8080") || !strings.Contains(got, "--dport 81") {
		t.Fatalf("the sync after a failure was not full:\n%s", got)
	}
}

func TestStaleUDPFlows(t *testing.T) {
	udp := func(eps ...proxy.Endpoint) *entry {
		sp := svcPort("ns", "dns", "", corev1.ProtocolUDP, "10.96.0.10", 53, func(sp *proxy.ServicePort) { sp.NodePort = 30053 })
		return &entry{ports: []*proxy.ServicePort{sp}, eps: proxy.EndpointsMap{sp.Name: eps}}
	}
	a, b := ep("10.244.1.2:53", "r"), ep("10.244.1.3:53", "r")
	got := staleFlows(udp(a, b), udp(b))
	want := []string{
		"-p udp --orig-dst 10.96.0.10 --orig-port-dst 53 --dst-nat 10.244.1.2",
		"-p udp --orig-port-dst 30053 --dst-nat 10.244.1.2",
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("flow %d: %s, want %s", i, got[i], want[i])
		}
	}
	// First endpoint: entries made while rejected go.
	got = staleFlows(udp(), udp(a))
	if len(got) != 2 || got[0].String() != "-p udp --orig-dst 10.96.0.10 --orig-port-dst 53" {
		t.Errorf("newly active: %v", got)
	}
	// TCP needs nothing.
	tcp := &entry{ports: []*proxy.ServicePort{svcPort("ns", "w", "", corev1.ProtocolTCP, "10.96.0.11", 80)}}
	if got := staleFlows(tcp, nil); len(got) != 0 {
		t.Errorf("tcp: %v", got)
	}
}
