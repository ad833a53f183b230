package nftables

import (
	"context"
	"errors"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/knftables"
)

// listTable is `nft list table ip <table>` in ns.
func listTable(t *testing.T, ns, table string) string {
	t.Helper()
	out, err := nftIn(t, ns, "list", "table", "ip", table)
	if err != nil {
		t.Fatalf("nft list table %s: %v: %s", table, err, out)
	}
	return out
}

var chainRE = regexp.MustCompile(`(?m)^\s*chain (\S+) \{`)

// chains returns the per-service chains of a listing whose names start
// with prefix.
func chains(listing, prefix string) []string {
	var out []string
	for _, m := range chainRE.FindAllStringSubmatch(listing, -1) {
		if strings.HasPrefix(m[1], prefix) && isServiceChain(m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

// newRealInterface is NewInterface run inside ns (knftables runs nft as
// a child of the calling thread).
func newRealInterface(t *testing.T, ns, table string) knftables.Interface {
	t.Helper()
	var nft knftables.Interface
	var err error
	inNetns(t, ns, func() { nft, err = NewInterface(context.Background(), table) })
	if err != nil {
		t.Fatalf("NewInterface: %v", err)
	}
	return nft
}

// Every golden transaction is accepted by the real nft, and applied
// again on top of itself (a restart's first full sync) too.
func TestGoldenApplies(t *testing.T) {
	ns := newNetns(t)
	for name, tc := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			tx := fullTransaction(t, tc.cfg, tc.ports)
			for range 2 {
				cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
				cmd.Stdin = strings.NewReader(tx)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("nft -f: %v: %s", err, out)
				}
			}
			if out, err := nftIn(t, ns, "delete", "table", "ip", tc.cfg.Table); err != nil {
				t.Fatalf("delete table: %v: %s", err, out)
			}
		})
	}
}

// The proxier against the real nft, driven by Service and EndpointSlice
// events: a full sync, incremental syncs adding and removing endpoints
// and Services, a leftover chain removed by a full sync, and Cleanup.
func TestProxierRealNFT(t *testing.T) {
	ns := newNetns(t)
	const table = "gtu-proxy"
	nft := newRealInterface(t, ns, table)
	rc := baseConfig()
	rc.Table = table
	p := newTestProxier(nft, rc)
	p.cfg.StaleChainDelay = time.Nanosecond
	ctx := context.Background()
	syncIn := func(what string) bool {
		var err error
		inNetns(t, ns, func() { err = p.Sync(ctx) })
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
		return err == nil
	}
	// A table of someone else's, which must survive everything.
	if out, err := nftIn(t, ns, "add", "table", "ip", "other"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}

	sh, eh := p.ServiceHandler(), p.SliceHandler()
	web := service("web", "10.251.0.5", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP})
	web.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	sh.OnAdd(web, true)
	eh.OnAdd(slice("web", "web-1", 8080, corev1.ProtocolTCP, "10.250.1.2", "10.250.1.3"), true)
	if !syncIn("full sync") {
		return
	}
	s := listTable(t, ns, table)
	for _, want := range []string{
		"type nat hook prerouting priority dstnat; policy accept;",
		"ip daddr . meta l4proto . th dport vmap @service-ips",
		"10.251.0.5 . tcp . 80 : goto service-",
		"dnat to 10.250.1.3:8080",
		"numgen random mod 2 vmap { 0 : goto endpoint-",
		"update @affinity-",
		"timeout 3h",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("after the full sync, no %q in\n%s", want, s)
		}
	}
	if got := chains(s, "endpoint-"); len(got) != 2 {
		t.Errorf("endpoint chains %v, want 2", got)
	}

	// A Service without endpoints, and one endpoint of web gone and
	// another added: an incremental sync.
	sh.OnAdd(service("empty", "10.251.0.6", corev1.ServicePort{Port: 81, Protocol: corev1.ProtocolUDP}), false)
	eh.OnUpdate(nil, slice("web", "web-1", 8080, corev1.ProtocolTCP, "10.250.1.3", "10.250.1.4"))
	if !syncIn("incremental sync") {
		return
	}
	s = listTable(t, ns, table)
	if !strings.Contains(s, `10.251.0.6 . udp . 81 comment "ns/empty" : goto reject-chain`) {
		t.Errorf("no reject element for the Service without endpoints:\n%s", s)
	}
	if !strings.Contains(s, "dnat to 10.250.1.4:8080") || strings.Contains(s, "dnat to 10.250.1.2:8080") {
		t.Errorf("endpoints not updated:\n%s", s)
	}
	// The removed endpoint's chain was emptied, and goes at the next
	// sync; its affinity set went at once.
	if got := chains(s, "endpoint-"); len(got) != 3 || strings.Count(s, "set affinity-") != 2 {
		t.Errorf("after the change: endpoint chains %v, %d affinity sets, want 3 (one emptied) and 2", got, strings.Count(s, "set affinity-"))
	}
	if !syncIn("sync deleting the emptied chain") {
		return
	}
	if got := chains(listTable(t, ns, table), "endpoint-"); len(got) != 2 {
		t.Errorf("endpoint chains %v, want 2", got)
	}

	// web deleted: its chains, sets and elements go.
	sh.OnDelete(web)
	if !syncIn("incremental sync") || !syncIn("sync deleting the emptied chains") {
		return
	}
	s = listTable(t, ns, table)
	if c := append(chains(s, "service-"), chains(s, "endpoint-")...); len(c) != 0 || strings.Contains(s, "10.251.0.5") ||
		strings.Contains(s, "affinity-") {
		t.Errorf("chains of the deleted Service left: %v\n%s", c, s)
	}

	// A chain of ours that nothing wants (an earlier run's) goes at the
	// next full sync that does not know the table's state (the first
	// one, or one after a failure).
	if out, err := nftIn(t, ns, "add", "chain", "ip", table, "endpoint-LEFTOVER-ns/x/tcp/__10.0.0.1/80"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	p.needFull, p.known = true, false
	if !syncIn("full sync") || !syncIn("sync deleting the emptied chain") {
		return
	}
	if s = listTable(t, ns, table); strings.Contains(s, "LEFTOVER") {
		t.Errorf("the leftover chain survived a full sync:\n%s", s)
	}

	// Cleanup leaves nothing of ours, and the other table.
	var err error
	inNetns(t, ns, func() { err = Cleanup(ctx, nft) })
	if err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	out, _ := nftIn(t, ns, "list", "ruleset")
	if strings.Contains(out, table) || !strings.Contains(out, "table ip other") {
		t.Errorf("after cleanup:\n%s", out)
	}
	// Cleanup of nothing is no error.
	inNetns(t, ns, func() { err = Cleanup(ctx, nft) })
	if err != nil {
		t.Errorf("second cleanup: %v", err)
	}
}

// Without nft (or without the right to use it), the mode says why.
func TestNewInterfaceUnsupported(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := NewInterface(context.Background(), "gtu-proxy")
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "nft") {
		t.Errorf("err %v, want ErrUnsupported", err)
	}
	if _, err := NewInterface(context.Background(), "bad;name"); err == nil {
		t.Error("a bad table name was accepted")
	}
}
