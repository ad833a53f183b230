// Package app is gantry-controllers' program: flags, the API client and
// shared informers, leader election, /healthz, /readyz and /metrics, and
// the control loops, all in one process as kube-controller-manager.
package app

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// Config is the command line of gantry-controllers.
type Config struct {
	APIServers []string
	CAFile     string
	CertFile   string
	KeyFile    string
	TokenFile  string

	// Controllers are the names from --controllers: "*" (every default
	// one), "name" (enable), "-name" (disable).
	Controllers []string

	LeaderElect   bool
	LeaseName     string
	LeaseNS       string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	Identity      string

	Options controller.Options

	MetricsAddress string
	Profiling      bool
	Log            *slog.Logger
}

// ParseFlags reads a Config from the command line.
func ParseFlags(args []string) (*Config, error) {
	fs := flag.NewFlagSet("gantry-controllers", flag.ContinueOnError)
	c := &Config{}
	var servers, controllers, logLevel string
	allocate := true
	host, _ := os.Hostname()
	o := &c.Options
	fs.StringVar(&servers, "api-servers", "https://127.0.0.1:6443", "comma-separated API server URLs (gRPC on the same port)")
	fs.StringVar(&c.CAFile, "ca-file", "", "CA of the API servers' certificates")
	fs.StringVar(&c.CertFile, "cert-file", "", "client certificate (CN system:kube-controller-manager)")
	fs.StringVar(&c.KeyFile, "key-file", "", "client key")
	fs.StringVar(&c.TokenFile, "token-file", "", "bearer token file (instead of a client certificate)")
	fs.StringVar(&controllers, "controllers", "*", "controllers to run: '*' runs every default one, 'foo' enables foo, '-foo' disables it; known: "+strings.Join(knownNames(), ", "))
	fs.BoolVar(&c.LeaderElect, "leader-elect", true, "run the controllers only while holding the leader Lease (for HA: one active process among several)")
	fs.StringVar(&c.LeaseName, "leader-elect-resource-name", "kube-controller-manager", "name of the leader Lease")
	fs.StringVar(&c.LeaseNS, "leader-elect-resource-namespace", "kube-system", "namespace of the leader Lease")
	fs.DurationVar(&c.LeaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long standbys wait before taking over an unrenewed Lease")
	fs.DurationVar(&c.RenewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader tries to renew before giving up")
	fs.DurationVar(&c.RetryPeriod, "leader-elect-retry-period", 2*time.Second, "how often candidates try to acquire, and the leader renews")
	fs.StringVar(&c.Identity, "leader-elect-identity", "", "this candidate's identity (default: host name and a random suffix)")
	fs.IntVar(&o.Workers, "concurrent-syncs", 5, "keys each controller syncs at once")
	fs.DurationVar(&o.NodeMonitorGracePeriod, "node-monitor-grace-period", 40*time.Second, "how long a node may go without renewing its Lease or status before it is marked Unknown and tainted unreachable")
	fs.DurationVar(&o.NodeMonitorPeriod, "node-monitor-period", 5*time.Second, "how often nodes' health is checked")
	fs.Float64Var(&o.NodeEvictionRate, "node-eviction-rate", 0.1, "nodes per second whose pods may be evicted while the zone is healthy")
	fs.Float64Var(&o.SecondaryNodeEvictionRate, "secondary-node-eviction-rate", 0.01, "nodes per second whose pods may be evicted when the zone is unhealthy (0 in small clusters)")
	fs.Float64Var(&o.UnhealthyZoneThreshold, "unhealthy-zone-threshold", 0.55, "fraction of not-ready nodes (at least 3) that makes a zone unhealthy")
	fs.IntVar(&o.LargeClusterSizeThreshold, "large-cluster-size-threshold", 50, "zones with more nodes than this count as large for eviction")
	fs.BoolVar(&allocate, "allocate-node-cidrs", true, "give every node a spec.podCIDR from --cluster-cidr")
	fs.StringVar(&o.ClusterCIDR, "cluster-cidr", "10.244.0.0/16", "the pod network")
	fs.IntVar(&o.NodeCIDRMaskSize, "node-cidr-mask-size", 24, "prefix length of each node's pod CIDR")
	fs.StringVar(&o.LocalPathDir, "local-path-dir", "/var/lib/gantry/storage", "directory on nodes where the local-path provisioner creates volumes")
	fs.IntVar(&o.TerminatedPodGCThreshold, "terminated-pod-gc-threshold", 12500, "terminated pods kept before the oldest are deleted")
	fs.StringVar(&o.ClusterSigningCertFile, "cluster-signing-cert-file", "", "PEM CA certificate the csrsigning controller issues certificates with (empty: no signing)")
	fs.StringVar(&o.ClusterSigningKeyFile, "cluster-signing-key-file", "", "PEM private key (ECDSA or RSA) of --cluster-signing-cert-file")
	fs.DurationVar(&o.ClusterSigningDuration, "cluster-signing-duration", 365*24*time.Hour, "longest validity of signed certificates (spec.expirationSeconds may ask for less)")
	fs.StringVar(&c.MetricsAddress, "metrics-address", "127.0.0.1:10257", "where /healthz, /readyz and /metrics are served (empty: nowhere)")
	fs.BoolVar(&c.Profiling, "profiling", false, "serve Go's profiler at /debug/pprof/ on the metrics address")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, s := range strings.Split(servers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.APIServers = append(c.APIServers, s)
		}
	}
	if len(c.APIServers) == 0 {
		return nil, errors.New("--api-servers: none given")
	}
	for _, s := range strings.Split(controllers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.Controllers = append(c.Controllers, s)
		}
	}
	for _, name := range c.Controllers {
		n := strings.TrimPrefix(name, "-")
		if n != "*" && !slices.Contains(knownNames(), n) {
			return nil, fmt.Errorf("--controllers: unknown controller %q (known: %s)", n, strings.Join(knownNames(), ", "))
		}
	}
	if !allocate {
		o.ClusterCIDR = ""
	}
	if (o.ClusterSigningCertFile == "") != (o.ClusterSigningKeyFile == "") {
		return nil, errors.New("--cluster-signing-cert-file and --cluster-signing-key-file go together: give both or neither")
	}
	if o.ClusterSigningDuration <= 0 {
		return nil, errors.New("--cluster-signing-duration must be positive")
	}
	if o.Workers < 1 {
		return nil, errors.New("--concurrent-syncs must be at least 1")
	}
	if c.Identity == "" {
		c.Identity = fmt.Sprintf("%s_%x", host, time.Now().UnixNano()&0xffffff)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	c.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	return c, nil
}

// enabled reports whether the controller name runs under --controllers.
func (c *Config) enabled(name string, byDefault bool) bool {
	on := false
	for _, s := range c.Controllers {
		switch s {
		case name:
			return true
		case "-" + name:
			return false
		case "*":
			on = byDefault
		}
	}
	return on
}
