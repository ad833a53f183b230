package multihost

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
)

// startProxy runs gantry-proxy (iptables mode, cluster DNS on
// ClusterDNS) in the host's namespace and waits until its /healthz says
// it has synced. Names outside the cluster domain are forwarded to a
// closed port of the host's own loopback: the test network reaches no
// real resolver.
func (h *Host) startProxy(ctx context.Context, tb testing.TB, c *Cluster, extra []string) {
	tb.Helper()
	bin, err := cluster.Binary("proxy", "gantry-proxy")
	if err != nil {
		tb.Fatal(err)
	}
	ports, err := cluster.FreePorts(2)
	if err != nil {
		tb.Fatal(err)
	}
	healthz := netip.AddrPortFrom(h.IP, uint16(ports[0])).String()
	h.ProxyMetricsURL = "http://" + netip.AddrPortFrom(h.IP, uint16(ports[1])).String() + "/metrics"
	args := append([]string{
		"--hostname-override", h.Name,
		"--api-servers", c.APIServers, "--ca-file", c.CP.CAFile, "--token-file", c.TokenFile,
		"--cluster-cidr", ClusterCIDR, "--cluster-dns", ClusterDNS,
		"--dns-upstreams", "127.0.0.1:1",
		"--iptables-min-sync-period", "200ms",
		"--healthz-bind-address", healthz,
		"--metrics-bind-address", netip.AddrPortFrom(h.IP, uint16(ports[1])).String(),
	}, extra...)
	h.Proxy = h.StartProcess(tb, "proxy", bin, args)
	var last error
	for {
		if err := h.Proxy.Crashed(); err != nil {
			tb.Fatalf("%v\n%s", err, h.Proxy.LogTail(30))
		}
		if last = httpOK(ctx, "http://"+healthz+"/healthz"); last == nil {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("gantry-proxy on %s not healthy: %v\n%s", h.Name, last, h.Proxy.LogTail(30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ProxyLogTail returns the last lines of the host's gantry-proxy log
// (empty without Options.Proxy).
func (h *Host) ProxyLogTail(lines int) string {
	if h.Proxy == nil {
		return ""
	}
	return h.Proxy.LogTail(lines)
}
