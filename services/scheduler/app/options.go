// Package app is gantry-scheduler's program: flags, the API client and
// informers, leader election, /healthz and /metrics, and the scheduling
// loop. It is public so that a scheduler with extra plugins is a
// ten-line main:
//
//	func main() {
//		os.Exit(app.Main(os.Args[1:], app.WithPlugin(myplugin.Name, myplugin.New)))
//	}
//
// and the plugin is enabled in a profile of the configuration file.
package app

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// flagHelp is returned by ParseFlags after -help printed the usage.
var flagHelp = flag.ErrHelp

// Config is the scheduler's command line.
type Config struct {
	ConfigFile string
	APIServers []string
	CAFile     string
	CertFile   string
	KeyFile    string
	TokenFile  string

	LeaderElect   bool
	LeaseName     string
	LeaseNS       string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	Identity      string

	MetricsAddress string
	// Profiling serves /debug/pprof/ beside /metrics.
	Profiling bool
	Log       *slog.Logger

	// Plugins registered besides the in-tree ones (WithPlugin).
	Plugins framework.Registry
}

// Option adds to the Config of Main.
type Option func(*Config)

// WithPlugin registers an out-of-tree plugin, to be enabled by name in a
// profile of the configuration file.
func WithPlugin(name string, factory framework.PluginFactory) Option {
	return func(c *Config) {
		if c.Plugins == nil {
			c.Plugins = framework.Registry{}
		}
		c.Plugins[name] = factory
	}
}

// ParseFlags reads a Config from the command line.
func ParseFlags(args []string) (*Config, error) {
	fs := flag.NewFlagSet("gantry-scheduler", flag.ContinueOnError)
	c := &Config{}
	var servers, logLevel string
	host, _ := os.Hostname()
	fs.StringVar(&c.ConfigFile, "config", "", "scheduler configuration file (YAML; default: one default-scheduler profile with the default plugins)")
	fs.StringVar(&servers, "api-servers", "https://127.0.0.1:6443", "comma-separated API server URLs (gRPC on the same port)")
	fs.StringVar(&c.CAFile, "ca-file", "", "CA of the API servers' certificates")
	fs.StringVar(&c.CertFile, "cert-file", "", "client certificate (CN system:kube-scheduler)")
	fs.StringVar(&c.KeyFile, "key-file", "", "client key")
	fs.StringVar(&c.TokenFile, "token-file", "", "bearer token file (instead of a client certificate)")
	fs.BoolVar(&c.LeaderElect, "leader-elect", true, "run only while holding the leader Lease (for HA: one active scheduler among several)")
	fs.StringVar(&c.LeaseName, "leader-elect-resource-name", "kube-scheduler", "name of the leader Lease")
	fs.StringVar(&c.LeaseNS, "leader-elect-resource-namespace", "kube-system", "namespace of the leader Lease")
	fs.DurationVar(&c.LeaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long standbys wait before taking over an unrenewed Lease")
	fs.DurationVar(&c.RenewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader tries to renew before giving up")
	fs.DurationVar(&c.RetryPeriod, "leader-elect-retry-period", 2*time.Second, "how often candidates try to acquire, and the leader renews")
	fs.StringVar(&c.Identity, "leader-elect-identity", "", "this candidate's identity (default: host name and a random suffix)")
	fs.StringVar(&c.MetricsAddress, "metrics-address", "127.0.0.1:10259", "where /healthz, /readyz and /metrics are served (empty: nowhere)")
	fs.BoolVar(&c.Profiling, "profiling", false, "serve Go's profiler at /debug/pprof/ on the metrics address")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, flagHelp
		}
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
		return nil, fmt.Errorf("--api-servers: none given")
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
