package app

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

// --cleanup in nftables mode, in a namespace of the test's own: the
// nftables table and the iptables chains of the prefix go, other tables
// and chains stay.
func TestCleanupBothModes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	for _, tool := range []string{"ip", "nft", "iptables", "iptables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	name := fmt.Sprintf("gapp-cleanup-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	in := func(args ...string) string {
		out, err := exec.Command("ip", append([]string{"netns", "exec", name}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
		return string(out)
	}
	in("nft", "add table ip gtc-proxy; add chain ip gtc-proxy services; add table ip other")
	in("iptables", "-t", "nat", "-N", "GTC-SERVICES")
	in("iptables", "-t", "nat", "-A", "PREROUTING", "-j", "GTC-SERVICES")
	in("iptables", "-t", "nat", "-N", "OTHER")

	code := -1
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		h, err := netns.GetFromName(name)
		if err != nil {
			t.Errorf("open netns: %v", err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			t.Errorf("enter netns: %v", err)
			return
		}
		code = Main([]string{"--cleanup", "--proxy-mode", "nftables", "--iptables-chain-prefix", "GTC",
			"--dns-device", "", "--hostname-override", "n1", "--log-level", "error"})
	}()
	<-done
	if code != 0 {
		t.Fatalf("gantry-proxy --cleanup exited %d", code)
	}
	tables := in("nft", "list", "tables")
	if strings.Contains(tables, "gtc-proxy") || !strings.Contains(tables, "table ip other") {
		t.Errorf("nft tables after cleanup:\n%s", tables)
	}
	saved := in("iptables-save", "-t", "nat")
	if strings.Contains(saved, "GTC-") || !strings.Contains(saved, ":OTHER") {
		t.Errorf("iptables after cleanup:\n%s", saved)
	}
}
