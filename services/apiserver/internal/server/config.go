// Package server assembles the API server: the store client, the
// registry, the REST facade behind TLS and authentication, metrics and
// health endpoints, and the bootstrap objects every cluster has.
package server

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config is everything the API server needs; flags follow kube-apiserver's
// names.
type Config struct {
	BindAddress string
	SecurePort  int

	TLSCertFile       string
	TLSPrivateKeyFile string
	// CertDir holds a generated CA and serving certificate when
	// TLSCertFile is not given.
	CertDir string
	// ClientCAFile verifies client certificates (optional).
	ClientCAFile string
	// TokenAuthFile holds bearer tokens (optional).
	TokenAuthFile string
	// EnableBootstrapTokenAuth accepts bootstrap tokens: Secrets of type
	// bootstrap.kubernetes.io/token in kube-system (the flag defaults to
	// true, as kubeadm sets it).
	EnableBootstrapTokenAuth bool

	// KubeletClientCertificate/Key authenticate the API server to node
	// agents (default: the serving certificate); KubeletCertificateAuthority
	// verifies the agents (default: the client CA, or --cert-dir's CA).
	KubeletClientCertificate    string
	KubeletClientKey            string
	KubeletCertificateAuthority string

	EtcdServers  []string
	EtcdCAFile   string
	EtcdCertFile string
	EtcdKeyFile  string
	// EtcdDialTimeout bounds connecting to the store at start.
	EtcdDialTimeout time.Duration

	ServiceClusterIPRange string
	ServiceNodePortRange  string
	// DefaultNotReadyTolerationSeconds and DefaultUnreachableTolerationSeconds
	// are the tolerations admission gives pods of the not-ready and
	// unreachable NoExecute taints (300).
	DefaultNotReadyTolerationSeconds, DefaultUnreachableTolerationSeconds int64
	// EventTTL is how long events are kept after their last write (the
	// flag's default is Kubernetes' hour); 0 keeps them until deleted.
	EventTTL time.Duration
	// AdvertiseAddress is published in the "kubernetes" Service's
	// endpoints.
	AdvertiseAddress string

	ShutdownDelay time.Duration
	// Profiling serves Go's profiles under /debug/pprof/ (authenticated).
	Profiling bool

	Log      *slog.Logger
	Registry prometheus.Registerer
	Gatherer prometheus.Gatherer
}

// ParseFlags reads a Config from command line arguments.
func ParseFlags(args []string) (*Config, error) {
	fs := flag.NewFlagSet("gantry-apiserver", flag.ContinueOnError)
	cfg := &Config{}
	var etcd, logLevel string
	fs.StringVar(&cfg.BindAddress, "bind-address", "0.0.0.0", "address to serve HTTPS on")
	fs.IntVar(&cfg.SecurePort, "secure-port", 6443, "port to serve HTTPS on")
	fs.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "serving certificate (PEM)")
	fs.StringVar(&cfg.TLSPrivateKeyFile, "tls-private-key-file", "", "serving key (PEM)")
	fs.StringVar(&cfg.CertDir, "cert-dir", "", "without --tls-cert-file: directory where a cluster CA (ca.crt) and a serving certificate signed by it are created and kept")
	fs.StringVar(&cfg.ClientCAFile, "client-ca-file", "", "CA that signs client certificates: CN is the user, O the groups")
	fs.StringVar(&cfg.TokenAuthFile, "token-auth-file", "", "bearer tokens, CSV lines token,user,uid,\"group1,group2\"")
	fs.BoolVar(&cfg.EnableBootstrapTokenAuth, "enable-bootstrap-token-auth", true, "accept bootstrap tokens (<id>.<secret>, kept in kube-system Secrets of type bootstrap.kubernetes.io/token) as bearer tokens of the user system:bootstrap:<id>")
	fs.StringVar(&cfg.KubeletClientCertificate, "kubelet-client-certificate", "", "client certificate for node agents (default: the serving certificate)")
	fs.StringVar(&cfg.KubeletClientKey, "kubelet-client-key", "", "client key for node agents (default: the serving key)")
	fs.StringVar(&cfg.KubeletCertificateAuthority, "kubelet-certificate-authority", "", "CA of the node agents' serving certificates (default: --client-ca-file, or --cert-dir's ca.crt)")
	fs.StringVar(&etcd, "etcd-servers", "http://127.0.0.1:2379", "comma-separated store client URLs")
	fs.StringVar(&cfg.EtcdCAFile, "etcd-cafile", "", "CA of the store's certificates")
	fs.StringVar(&cfg.EtcdCertFile, "etcd-certfile", "", "client certificate for the store")
	fs.StringVar(&cfg.EtcdKeyFile, "etcd-keyfile", "", "client key for the store")
	fs.DurationVar(&cfg.EtcdDialTimeout, "etcd-dial-timeout", 20*time.Second, "how long to wait for the store at start")
	fs.StringVar(&cfg.ServiceClusterIPRange, "service-cluster-ip-range", "10.96.0.0/12", "CIDR ClusterIPs come from")
	fs.StringVar(&cfg.ServiceNodePortRange, "service-node-port-range", "30000-32767", "range of NodePorts")
	fs.Int64Var(&cfg.DefaultNotReadyTolerationSeconds, "default-not-ready-toleration-seconds", 300, "tolerationSeconds of the node.kubernetes.io/not-ready:NoExecute toleration admission adds to pods that have none")
	fs.Int64Var(&cfg.DefaultUnreachableTolerationSeconds, "default-unreachable-toleration-seconds", 300, "tolerationSeconds of the node.kubernetes.io/unreachable:NoExecute toleration admission adds to pods that have none")
	fs.DurationVar(&cfg.EventTTL, "event-ttl", time.Hour, "how long events are kept after their last write (0: until deleted)")
	fs.StringVar(&cfg.AdvertiseAddress, "advertise-address", "", "address published in the kubernetes Service endpoints (default: bind address, or 127.0.0.1)")
	fs.DurationVar(&cfg.ShutdownDelay, "shutdown-delay-duration", 0, "how long to keep serving after SIGTERM before closing listeners")
	fs.BoolVar(&cfg.Profiling, "profiling", true, "serve Go's profiles under /debug/pprof/ to authenticated callers")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	for _, s := range strings.Split(etcd, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.EtcdServers = append(cfg.EtcdServers, s)
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	cfg.Log = slog.New(slog.NewTextHandler(logWriter, &slog.HandlerOptions{Level: level}))
	return cfg, cfg.Validate()
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if (c.TLSCertFile == "" || c.TLSPrivateKeyFile == "") && c.CertDir == "" {
		errs = append(errs, errors.New("--tls-cert-file and --tls-private-key-file, or --cert-dir, are required: the API server serves only HTTPS"))
	}
	if len(c.EtcdServers) == 0 {
		errs = append(errs, errors.New("--etcd-servers is required"))
	}
	if c.SecurePort < 0 || c.SecurePort > 65535 {
		errs = append(errs, fmt.Errorf("--secure-port %d out of range", c.SecurePort))
	}
	return errors.Join(errs...)
}
