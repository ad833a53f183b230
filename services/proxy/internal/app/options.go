package app

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/services/proxy/internal/iptables"
	"github.com/gantry-dev/gantry/services/proxy/internal/nftables"
)

// Proxy modes (--proxy-mode).
const (
	ModeIPTables = "iptables"
	ModeIPVS     = "ipvs"
	ModeNFTables = "nftables"
)

// Config is the command line of gantry-proxy.
type Config struct {
	APIServers []string
	// FollowAPIServers adds the API servers the default/kubernetes
	// Endpoints list to APIServers while running (client failover to
	// control-plane hosts that joined later).
	FollowAPIServers bool
	CAFile           string
	CertFile         string
	KeyFile          string
	TokenFile        string

	NodeName          string
	Mode              string
	ClusterCIDR       netip.Prefix
	MasqueradeAll     bool
	MasqueradeBit     int
	MinSyncPeriod     time.Duration
	SyncPeriod        time.Duration
	NodePortAddresses []netip.Prefix
	ChainPrefix       string
	Cleanup           bool

	// Cluster DNS: served on DNSAddresses (port 53) unless empty.
	DNSAddresses  []netip.Addr
	ClusterDomain string
	DNSUpstreams  []string
	ResolvConf    string
	DNSDevice     string

	MetricsAddress string
	HealthzAddress string
	Log            *slog.Logger
}

// ParseFlags reads a Config from the command line (kube-proxy's flags).
func ParseFlags(args []string) (*Config, error) {
	fs := flag.NewFlagSet("gantry-proxy", flag.ContinueOnError)
	c := &Config{}
	var servers, clusterCIDR, nodePortAddrs, dnsAddrs, upstreams, logLevel string
	host, _ := os.Hostname()
	fs.StringVar(&servers, "api-servers", "https://127.0.0.1:6443", "comma-separated API server URLs (gRPC on the same port)")
	fs.BoolVar(&c.FollowAPIServers, "follow-api-servers", true, "also use the API servers the default/kubernetes Endpoints list, read every 30s")
	fs.StringVar(&c.CAFile, "ca-file", "", "CA of the API servers' certificates")
	fs.StringVar(&c.CertFile, "cert-file", "", "client certificate (CN system:kube-proxy)")
	fs.StringVar(&c.KeyFile, "key-file", "", "client key")
	fs.StringVar(&c.TokenFile, "token-file", "", "bearer token file (instead of a client certificate)")
	fs.StringVar(&c.NodeName, "hostname-override", host, "this node's name (which endpoints are local)")
	fs.StringVar(&c.Mode, "proxy-mode", ModeIPTables, "iptables, nftables, or ipvs (falls back to iptables: the IPVS proxier is not written yet)")
	fs.StringVar(&clusterCIDR, "cluster-cidr", "", "the pod network: traffic to a ClusterIP from outside it is masqueraded (empty: none is)")
	fs.BoolVar(&c.MasqueradeAll, "masquerade-all", false, "masquerade all traffic sent to ClusterIPs")
	fs.IntVar(&c.MasqueradeBit, "iptables-masquerade-bit", 14, "the fwmark bit (0..31) marking packets to masquerade")
	fs.DurationVar(&c.MinSyncPeriod, "iptables-min-sync-period", time.Second, "least time between two rule syncs (changes in between are applied together)")
	fs.DurationVar(&c.SyncPeriod, "iptables-sync-period", 30*time.Second, "how often every rule is rewritten (full resync)")
	fs.StringVar(&nodePortAddrs, "nodeport-addresses", "", "comma-separated CIDRs of the local addresses NodePorts answer on (empty: all)")
	fs.StringVar(&c.ChainPrefix, "iptables-chain-prefix", "KUBE", "first word of every chain name (KUBE-SERVICES, KUBE-SVC-...), at most 6 characters; the nftables mode's table is it lower-cased with -proxy (kube-proxy)")
	fs.BoolVar(&c.Cleanup, "cleanup", false, "remove every chain and rule gantry-proxy owns (and the DNS device), then exit")
	fs.StringVar(&dnsAddrs, "cluster-dns", "10.96.0.10", "comma-separated ClusterIPs served as cluster DNS on port 53 by this process (empty: no DNS)")
	fs.StringVar(&c.ClusterDomain, "cluster-domain", "cluster.local", "the cluster's DNS domain")
	fs.StringVar(&upstreams, "dns-upstreams", "", "comma-separated resolvers (ip or ip:port) for names outside the cluster domain (default: those of --resolv-conf)")
	fs.StringVar(&c.ResolvConf, "resolv-conf", "/etc/resolv.conf", "where the node's resolvers are read from")
	fs.StringVar(&c.DNSDevice, "dns-device", "gantry-dns", "local dummy device holding the cluster DNS addresses")
	fs.StringVar(&c.MetricsAddress, "metrics-bind-address", "127.0.0.1:10249", "where /metrics is served (empty: nowhere)")
	fs.StringVar(&c.HealthzAddress, "healthz-bind-address", "127.0.0.1:10256", "where /healthz is served (empty: nowhere)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	c.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	c.APIServers = splitList(servers)
	c.DNSUpstreams = splitList(upstreams)
	if len(c.APIServers) == 0 && !c.Cleanup {
		return nil, errors.New("--api-servers: none given")
	}
	if c.NodeName == "" {
		return nil, errors.New("--hostname-override: no node name (and no host name)")
	}
	switch c.Mode {
	case ModeIPTables, ModeIPVS, ModeNFTables:
	case "":
		c.Mode = ModeIPTables
	default:
		return nil, fmt.Errorf("--proxy-mode: unknown mode %q (iptables, ipvs or nftables)", c.Mode)
	}
	if clusterCIDR != "" {
		p, err := netip.ParsePrefix(clusterCIDR)
		if err != nil || !p.Addr().Is4() {
			return nil, fmt.Errorf("--cluster-cidr: %q is not an IPv4 CIDR", clusterCIDR)
		}
		c.ClusterCIDR = p.Masked()
	}
	for _, s := range splitList(nodePortAddrs) {
		p, err := netip.ParsePrefix(s)
		if err != nil || !p.Addr().Is4() {
			return nil, fmt.Errorf("--nodeport-addresses: %q is not an IPv4 CIDR", s)
		}
		c.NodePortAddresses = append(c.NodePortAddresses, p.Masked())
	}
	for _, s := range splitList(dnsAddrs) {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("--cluster-dns: %q is not an IPv4 address", s)
		}
		c.DNSAddresses = append(c.DNSAddresses, a)
	}
	if c.MasqueradeBit < 0 || c.MasqueradeBit > 31 {
		return nil, fmt.Errorf("--iptables-masquerade-bit: %d is outside 0..31", c.MasqueradeBit)
	}
	if c.MinSyncPeriod < 0 {
		return nil, errors.New("--iptables-min-sync-period must not be negative")
	}
	if c.SyncPeriod <= 0 || c.SyncPeriod < c.MinSyncPeriod {
		return nil, errors.New("--iptables-sync-period must be positive and at least --iptables-min-sync-period")
	}
	if c.ChainPrefix == "" || len(c.ChainPrefix) > iptables.MaxPrefixLen || strings.ContainsAny(c.ChainPrefix, " -\t\"'") {
		return nil, fmt.Errorf("--iptables-chain-prefix: %q must be 1 to %d characters without spaces, quotes or dashes", c.ChainPrefix, iptables.MaxPrefixLen)
	}
	if c.Mode == ModeNFTables && !nftables.ValidTableName(nftables.TableName(c.ChainPrefix)) {
		return nil, fmt.Errorf("--iptables-chain-prefix: %q must be letters, digits and underscores, starting with a letter, in nftables mode (it names the table)", c.ChainPrefix)
	}
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
