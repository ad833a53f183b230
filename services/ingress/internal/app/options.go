// Package app is gantry-ingress' program: flags, the API client and
// informers, the HTTP and HTTPS listeners in front of the proxy, the
// IngressClass, the status writer (under leader election), and /healthz
// and /metrics.
package app

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the command line of gantry-ingress.
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

	HTTPAddress    string
	HTTPSAddress   string
	MetricsAddress string

	IngressClass string
	// PublishAddress goes to the Ingresses' status; default: the
	// node's InternalIP (NodeName), else the host's first address.
	PublishAddress string
	NodeName       string
	UpdateStatus   bool

	DefaultSSLCertificate string // namespace/name

	MaxBodySize         int64
	ProxyConnectTimeout time.Duration
	ProxyReadTimeout    time.Duration
	ProxyTries          int
	ClientHeaderTimeout time.Duration
	KeepaliveTimeout    time.Duration
	ShutdownGrace       time.Duration

	LeaderElect   bool
	LeaseNS       string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	Identity      string

	Log *slog.Logger
}

// ParseFlags reads a Config from the command line.
func ParseFlags(args []string) (*Config, error) {
	fs := flag.NewFlagSet("gantry-ingress", flag.ContinueOnError)
	c := &Config{}
	var servers, bodySize, logLevel string
	host, _ := os.Hostname()
	fs.StringVar(&servers, "api-servers", "https://127.0.0.1:6443", "comma-separated API server URLs (gRPC on the same port)")
	fs.BoolVar(&c.FollowAPIServers, "follow-api-servers", true, "also use the API servers the default/kubernetes Endpoints list, read every 30s")
	fs.StringVar(&c.CAFile, "ca-file", "", "CA of the API servers' certificates")
	fs.StringVar(&c.CertFile, "cert-file", "", "client certificate")
	fs.StringVar(&c.KeyFile, "key-file", "", "client key")
	fs.StringVar(&c.TokenFile, "token-file", "", "bearer token file (instead of a client certificate)")
	fs.StringVar(&c.HTTPAddress, "http-address", "0.0.0.0:80", "where plain HTTP is served (empty: nowhere)")
	fs.StringVar(&c.HTTPSAddress, "https-address", "0.0.0.0:443", "where HTTPS is served (empty: nowhere)")
	fs.StringVar(&c.MetricsAddress, "metrics-address", "127.0.0.1:10254", "where /healthz and /metrics are served (empty: nowhere)")
	fs.StringVar(&c.IngressClass, "ingress-class", "gantry", "the IngressClass served; created (as the default class, controller gantry.dev/ingress) if missing")
	fs.StringVar(&c.PublishAddress, "publish-address", "", "IP or host name written to status.loadBalancer of the Ingresses served (default: the node's InternalIP, else the host's first address)")
	fs.StringVar(&c.NodeName, "node-name", host, "the node this runs on, for the default --publish-address")
	fs.BoolVar(&c.UpdateStatus, "update-status", true, "write the published address to the Ingresses' status")
	fs.StringVar(&c.DefaultSSLCertificate, "default-ssl-certificate", "", "namespace/name of a kubernetes.io/tls Secret for hosts without a certificate of their own (default: a self-signed one)")
	fs.StringVar(&bodySize, "max-body-size", "1m", "largest request body accepted, bytes or with a k, m or g suffix (nginx' client_max_body_size); 0 for no limit")
	fs.DurationVar(&c.ProxyConnectTimeout, "proxy-connect-timeout", 5*time.Second, "how long connecting to an endpoint may take")
	fs.DurationVar(&c.ProxyReadTimeout, "proxy-read-timeout", 60*time.Second, "how long an endpoint may take to send its response headers (0: no limit)")
	fs.IntVar(&c.ProxyTries, "proxy-next-upstream-tries", 3, "endpoints a request may be tried on when connections fail")
	fs.DurationVar(&c.ClientHeaderTimeout, "client-header-timeout", 60*time.Second, "how long a client may take to send request headers")
	fs.DurationVar(&c.KeepaliveTimeout, "keepalive-timeout", 75*time.Second, "how long an idle client connection is kept open")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace-period", 10*time.Second, "how long requests in flight may finish on SIGTERM")
	fs.BoolVar(&c.LeaderElect, "leader-elect", true, "write Ingress status only while holding the leader Lease (one writer among replicas)")
	fs.StringVar(&c.LeaseNS, "leader-elect-resource-namespace", "kube-system", "namespace of the leader Lease (named gantry-ingress-<class>)")
	fs.DurationVar(&c.LeaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long standbys wait before taking over an unrenewed Lease")
	fs.DurationVar(&c.RenewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader tries to renew before giving up")
	fs.DurationVar(&c.RetryPeriod, "leader-elect-retry-period", 2*time.Second, "how often candidates try to acquire, and the leader renews")
	fs.StringVar(&c.Identity, "leader-elect-identity", "", "this candidate's identity (default: host name and a random suffix)")
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
	if c.IngressClass == "" {
		return nil, errors.New("--ingress-class must not be empty")
	}
	if c.HTTPAddress == "" && c.HTTPSAddress == "" {
		return nil, errors.New("--http-address and --https-address are both empty: nothing to serve")
	}
	if c.DefaultSSLCertificate != "" {
		if ns, name, ok := strings.Cut(c.DefaultSSLCertificate, "/"); !ok || ns == "" || name == "" {
			return nil, fmt.Errorf("--default-ssl-certificate %q: want namespace/name", c.DefaultSSLCertificate)
		}
	}
	size, err := ParseSize(bodySize)
	if err != nil {
		return nil, fmt.Errorf("--max-body-size: %w", err)
	}
	c.MaxBodySize = size
	if c.ProxyTries < 1 {
		return nil, errors.New("--proxy-next-upstream-tries must be at least 1")
	}
	if c.ProxyConnectTimeout <= 0 {
		return nil, errors.New("--proxy-connect-timeout must be positive")
	}
	if c.Identity == "" {
		c.Identity = fmt.Sprintf("%s_%x", host, time.Now().UnixNano()&0xffffff)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	c.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("component", "gantry-ingress")
	return c, nil
}

// ParseSize reads a size as nginx writes it: bytes, or a number with a
// k, m or g suffix (binary units).
func ParseSize(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k':
			mult, s = 1<<10, s[:n-1]
		case 'm':
			mult, s = 1<<20, s[:n-1]
		case 'g':
			mult, s = 1<<30, s[:n-1]
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return v * mult, nil
}
