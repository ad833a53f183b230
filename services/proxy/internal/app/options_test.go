package app

import (
	"context"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	c, err := ParseFlags([]string{"--hostname-override", "n1", "--cluster-cidr", "10.244.1.7/16", "--nodeport-addresses", "127.0.0.0/8, 192.168.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != ModeIPTables || c.MasqueradeBit != 14 || c.ClusterCIDR.String() != "10.244.0.0/16" ||
		len(c.NodePortAddresses) != 2 || c.ChainPrefix != "KUBE" || len(c.DNSAddresses) != 1 || c.HealthzAddress != "127.0.0.1:10256" {
		t.Errorf("defaults: %+v", c)
	}
	for _, tc := range []struct{ args, err string }{
		{"--proxy-mode userspace", "unknown mode"},
		{"--iptables-masquerade-bit 32", "outside 0..31"},
		{"--cluster-cidr nope", "--cluster-cidr"},
		{"--iptables-sync-period 1s --iptables-min-sync-period 2s", "at least"},
		{"--iptables-chain-prefix TOOLONGX", "--iptables-chain-prefix"},
		{"--cluster-dns fd00::a", "--cluster-dns"},
	} {
		_, err := ParseFlags(strings.Fields(tc.args))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err %v, want %q", tc.args, err, tc.err)
		}
	}
}

func TestModes(t *testing.T) {
	c, err := ParseFlags([]string{"--proxy-mode", "nftables"})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := chooseMode(context.Background(), c); err != nil || m != ModeNFTables {
		t.Errorf("nftables: %s %v", m, err)
	}
	if _, err := ParseFlags([]string{"--proxy-mode", "nftables", "--iptables-chain-prefix", "9X"}); err == nil ||
		!strings.Contains(err.Error(), "names the table") {
		t.Errorf("nftables with a prefix that makes no table name: %v", err)
	}
	c.Mode = ModeIPVS
	if m, err := chooseMode(context.Background(), c); err != nil || m != ModeIPTables {
		t.Errorf("ipvs: %s %v, want a fall back to iptables", m, err)
	}
}
