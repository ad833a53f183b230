package controllers_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ipamNode creates a bare Node (no status: the IPAM controller does not
// look at it, and a status update could race its spec patch).
func (e *env) ipamNode(name string) {
	e.t.Helper()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	if _, err := e.kube.CoreV1().Nodes().Create(e.ctx, node, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// ipamAwaitCIDR waits until node has a pod CIDR and returns it.
func (e *env) ipamAwaitCIDR(node string) string {
	e.t.Helper()
	var cidr string
	e.eventually(30*time.Second, "a pod CIDR for "+node, func() (bool, error) {
		n, err := e.kube.CoreV1().Nodes().Get(e.ctx, node, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cidr = n.Spec.PodCIDR
		if cidr != "" && !slices.Equal(n.Spec.PodCIDRs, []string{cidr}) {
			return false, fmt.Errorf("podCIDR %s, podCIDRs %v", cidr, n.Spec.PodCIDRs)
		}
		return cidr != "", nil
	})
	return cidr
}

// TestNodeIPAM: nodes get distinct /24s out of the cluster CIDR; a
// restarted controller knows which are taken; an exhausted range is
// reported, and a deleted node's range goes to the next node.
func TestNodeIPAM(t *testing.T) {
	e := newEnv(t)
	flags := []string{"--controllers=nodeipam", "--cluster-cidr=10.100.0.0/22", "--node-cidr-mask-size=24"}
	d := e.startControllers(flags...)
	cluster := netip.MustParsePrefix("10.100.0.0/22")

	seen := map[string]string{}
	check := func(node string) string {
		t.Helper()
		cidr := e.ipamAwaitCIDR(node)
		p, err := netip.ParsePrefix(cidr)
		if err != nil || p.Bits() != 24 || !cluster.Contains(p.Addr()) {
			t.Errorf("node %s: pod CIDR %s is not a /24 of %s", node, cidr, cluster)
		}
		for other, c := range seen {
			if c == cidr && other != node {
				t.Errorf("nodes %s and %s share %s", node, other, cidr)
			}
		}
		seen[node] = cidr
		return cidr
	}
	for _, n := range []string{"ipam-a", "ipam-b", "ipam-c"} {
		e.ipamNode(n)
		check(n)
	}

	// Restart: a node added meanwhile gets the one range left, not one
	// of the three taken.
	if err := d.proc.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	e.ipamNode("ipam-d")
	e.startControllers(flags...)
	check("ipam-d")
	for n, cidr := range seen {
		if got := e.ipamAwaitCIDR(n); got != cidr {
			t.Errorf("node %s changed its pod CIDR from %s to %s", n, cidr, got)
		}
	}

	// Exhausted: the next node waits, with an event.
	e.ipamNode("ipam-e")
	e.eventually(30*time.Second, "a CIDRNotAvailable event", func() (bool, error) {
		return e.nlEvent("default", "ipam-e", "CIDRNotAvailable", "Node ipam-e status is now: CIDRNotAvailable")
	})
	// A deleted node's range goes to it.
	if err := e.kube.CoreV1().Nodes().Delete(e.ctx, "ipam-b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	freed := seen["ipam-b"]
	delete(seen, "ipam-b")
	if got := check("ipam-e"); got != freed {
		t.Errorf("ipam-e got %s, want the released %s", got, freed)
	}
}
