package iptables

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
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

func TestStaleFlows(t *testing.T) {
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
	sameFlows(t, "udp", got, want)
	// First endpoint: entries made while rejected go.
	got = staleFlows(udp(), udp(a))
	if len(got) != 2 || got[0].String() != "-p udp --orig-dst 10.96.0.10 --orig-port-dst 53" {
		t.Errorf("newly active: %v", got)
	}
	// TCP: only the unanswered connections to an endpoint that went
	// away; nothing for a first endpoint.
	tcp := func(eps ...proxy.Endpoint) *entry {
		sp := svcPort("ns", "w", "", corev1.ProtocolTCP, "10.96.0.11", 80, func(sp *proxy.ServicePort) { sp.NodePort = 30080 })
		return &entry{ports: []*proxy.ServicePort{sp}, eps: proxy.EndpointsMap{sp.Name: eps}}
	}
	c, d := ep("10.244.1.4:8080", "r"), ep("10.244.1.5:8080", "r")
	got = staleFlows(tcp(c, d), tcp(d))
	want = []string{
		"-p tcp --state SYN_SENT --orig-dst 10.96.0.11 --orig-port-dst 80 --reply-src 10.244.1.4",
		"-p tcp --state SYN_SENT --orig-port-dst 30080 --reply-src 10.244.1.4",
	}
	sameFlows(t, "tcp", got, want)
	if got := staleFlows(tcp(), tcp(c)); len(got) != 0 {
		t.Errorf("tcp, first endpoint: %v", got)
	}
}

// sameFlows fails t unless got are the flows want, in order.
func sameFlows(t *testing.T, what string, got []Flow, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("%s flow %d: %s, want %s", what, i, got[i], want[i])
		}
	}
}

// TestUnrepliedTCPFlowsDeleted: the flow of a TCP endpoint that went away
// deletes, with the real conntrack tool, the connections to it that never
// got an answer and nothing else: not an established one, not one to
// another endpoint.
func TestUnrepliedTCPFlowsDeleted(t *testing.T) {
	tool, err := NewTool()
	if err != nil {
		t.Fatal(err)
	}
	inNetns(t, func() {
		insert := func(sport int, pod, state, status string) {
			out, err := exec.Command(tool.Path, "-I", "-p", "tcp", "-s", "10.9.0.1", "-d", "10.96.0.11",
				"--sport", fmt.Sprint(sport), "--dport", "80", "-r", pod, "-q", "10.9.0.1",
				"--reply-port-src", "8080", "--reply-port-dst", fmt.Sprint(sport),
				"--state", state, "-u", status, "-t", "100").CombinedOutput()
			if err != nil {
				t.Errorf("conntrack -I: %v: %s", err, out)
			}
		}
		insert(40000, "10.244.1.4", "SYN_SENT", "UNSET")
		insert(40001, "10.244.1.4", "ESTABLISHED", "SEEN_REPLY,ASSURED")
		insert(40002, "10.244.1.5", "SYN_SENT", "UNSET")
		flows := StaleFlows(tcpPorts(), proxy.EndpointsMap{tcpPorts()[0].Name: {ep("10.244.1.4:8080", "r")}}, nil, nil)
		for _, f := range flows {
			if err := tool.Delete(context.Background(), f); err != nil {
				t.Errorf("delete %s: %v", f, err)
			}
		}
		out, err := exec.Command(tool.Path, "-L", "-p", "tcp").CombinedOutput()
		if err != nil {
			t.Fatalf("conntrack -L: %v: %s", err, out)
		}
		left := string(out)
		if strings.Contains(left, "sport=40000") {
			t.Errorf("the unanswered connection to the lost endpoint is left:\n%s", left)
		}
		if !strings.Contains(left, "sport=40001") || !strings.Contains(left, "sport=40002") {
			t.Errorf("an established connection or one to another endpoint was deleted:\n%s", left)
		}
	})
}

func tcpPorts() []*proxy.ServicePort {
	return []*proxy.ServicePort{svcPort("ns", "w", "", corev1.ProtocolTCP, "10.96.0.11", 80)}
}
