// Package agent assembles gantry-agent: the API client, the node's
// registration, the container runtime, pod networking (and the host-gw
// routes to other nodes' pods, kept by a Node informer) and volumes, the
// pod workers fed by an informer of the pods bound to the node, the
// streaming server the API server calls, and the health and metrics
// endpoint. It also runs many simulated nodes in one process.
package agent

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/cgroups"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Config is the agent's configuration; flags follow kubelet's names where
// they mean the same.
type Config struct {
	NodeName string
	NodeIP   string
	Labels   map[string]string

	// API server access (libs/client over gRPC).
	APIServers []string
	// FollowAPIServers adds the API servers the default/kubernetes
	// Endpoints list to APIServers while running (client failover to
	// control-plane hosts that joined later).
	FollowAPIServers bool
	CAFile           string
	CertFile         string
	KeyFile          string
	TokenFile        string

	RootDir   string // agent state: pods, images, network state
	PodLogDir string // /var/log/pods
	// CgroupRoot is the cgroup the pods' cgroups (pod<uid>) go under in
	// every hierarchy ("/gantry"); the agent removes those of pods that
	// are gone, so no two agents on a host should share it.
	CgroupRoot string
	ImagesDir  string // archives dropped here are imported
	Runtime    string // "containerd" or "fake"
	Containerd string // containerd's socket
	CtrdNS     string // containerd namespace of the agent
	// LoggerBinary is each container's log writer (gantry-logger).
	LoggerBinary string
	ClusterCIDR  string
	PodCIDR      string
	ServiceCIDR  string
	ClusterDNS   []string
	ClusterDom   string
	ResolvConf   string
	CNIBinDir    string
	CNIConfDir   string
	BridgeName   string

	// The streaming server (logs, exec, port-forward) for the API server.
	ListenAddress string
	TLSCertFile   string
	TLSKeyFile    string
	ClientCAFile  string
	// CAKeyFile lets a single-host install sign its own serving
	// certificate with the cluster CA (see issueServingCert).
	CAKeyFile      string
	AllowedCallers []string

	HealthzAddress string
	SystemReserved map[string]string
	MaxPods        int
	// SimulateNodes > 0 runs that many simulated nodes with the fake
	// runtime instead of one real node.
	SimulateNodes int
	// Cleanup removes the node's pods and pod networking (see
	// CleanupNode) and exits instead of running the agent.
	Cleanup bool
	// CleanupGrace is how long a container has to exit after its stop
	// signal before Cleanup kills it.
	CleanupGrace time.Duration

	Log      *slog.Logger
	Registry *prometheus.Registry
}

// ParseFlags reads a Config from command line arguments.
func ParseFlags(args []string) (*Config, error) {
	fs := flag.NewFlagSet("gantry-agent", flag.ContinueOnError)
	c := &Config{}
	host, _ := os.Hostname()
	var servers, dns, reserved, labels, callers, logLevel string
	fs.StringVar(&c.NodeName, "hostname-override", strings.ToLower(host), "name of this node")
	fs.StringVar(&c.NodeIP, "node-ip", "", "this node's InternalIP (default: the address of the default route)")
	fs.StringVar(&labels, "node-labels", "", "extra labels for the Node, k=v,k=v")
	fs.StringVar(&servers, "api-servers", "https://127.0.0.1:6443", "comma-separated API server URLs (gRPC on the same port)")
	fs.BoolVar(&c.FollowAPIServers, "follow-api-servers", true, "also use the API servers the default/kubernetes Endpoints list, read every 30s")
	fs.StringVar(&c.CAFile, "ca-file", "", "CA of the API servers' certificates")
	fs.StringVar(&c.CertFile, "cert-file", "", "client certificate for the API server (CN system:node:<name>)")
	fs.StringVar(&c.KeyFile, "key-file", "", "client key for the API server")
	fs.StringVar(&c.TokenFile, "token-file", "", "bearer token for the API server (instead of a client certificate)")
	fs.StringVar(&c.RootDir, "root-dir", "/var/lib/gantry/agent", "the agent's state directory")
	fs.StringVar(&c.PodLogDir, "pod-log-dir", "/var/log/pods", "where containers' logs are kept")
	fs.StringVar(&c.CgroupRoot, "cgroup-root", cgroups.DefaultParent, "the cgroup the pods' cgroups go under (cgroupfs path); the agent removes pod<uid> cgroups under it of pods not on this node, so give each agent on a host its own")
	fs.StringVar(&c.ImagesDir, "images-dir", "", "directory whose image archives are imported (default <root-dir>/images)")
	fs.StringVar(&c.Runtime, "runtime", "containerd", `"containerd" or "fake"`)
	fs.StringVar(&c.Containerd, "containerd", "/run/containerd/containerd.sock", "containerd's socket")
	fs.StringVar(&c.CtrdNS, "containerd-namespace", "gantry", "containerd namespace of the agent's images and containers")
	fs.StringVar(&c.LoggerBinary, "logger-binary", "", "the log writer containerd's shim starts per container (default: gantry-logger beside this executable if there, else this executable)")
	fs.StringVar(&c.ClusterCIDR, "cluster-cidr", "10.244.0.0/16", "the cluster's pod network")
	fs.StringVar(&c.PodCIDR, "pod-cidr", "", "this node's pod range until the node IPAM controller sets spec.podCIDR")
	fs.StringVar(&c.ServiceCIDR, "service-cidr", "10.96.0.0/12", "the cluster's Service range")
	fs.StringVar(&dns, "cluster-dns", "10.96.0.10", "cluster DNS servers, comma-separated")
	fs.StringVar(&c.ClusterDom, "cluster-domain", "cluster.local", "the cluster's DNS domain")
	fs.StringVar(&c.ResolvConf, "resolv-conf", "/etc/resolv.conf", "the node's resolver file pods with dnsPolicy Default get")
	fs.StringVar(&c.CNIBinDir, "cni-bin-dir", "/usr/lib/cni", "where the CNI plugins are")
	fs.StringVar(&c.CNIConfDir, "cni-conf-dir", "", "where the agent writes its CNI network list (default <root-dir>/cni)")
	fs.StringVar(&c.BridgeName, "bridge", "gantry0", "the pods' bridge")
	fs.StringVar(&c.ListenAddress, "address", "0.0.0.0:10250", "where the streaming server (logs, exec, port-forward) listens")
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", "", "the streaming server's certificate (its DNS name must be the node name)")
	fs.StringVar(&c.TLSKeyFile, "tls-private-key-file", "", "the streaming server's key")
	fs.StringVar(&c.ClientCAFile, "client-ca-file", "", "CA of the API server's client certificate")
	fs.StringVar(&c.CAKeyFile, "ca-key-file", "", "without --tls-cert-file: the cluster CA's key, to sign this node's own serving certificate (single-host installs)")
	fs.StringVar(&callers, "allowed-callers", "gantry-apiserver", "client certificate names allowed to call the streaming server")
	fs.StringVar(&c.HealthzAddress, "healthz-address", "127.0.0.1:10248", "where /healthz and /metrics are served (empty: nowhere)")
	fs.StringVar(&reserved, "system-reserved", "", "resources kept from pods, cpu=500m,memory=512Mi")
	fs.IntVar(&c.MaxPods, "max-pods", 110, "pods this node takes")
	fs.IntVar(&c.SimulateNodes, "simulate-nodes", 0, "run this many simulated nodes (fake runtime) instead of one real node")
	fs.BoolVar(&c.Cleanup, "cleanup", false, "stop and delete the containers of --containerd-namespace, remove the pods' sandboxes (volumes, namespaces) under --root-dir, their cgroups under --cgroup-root and the pod networking an agent with these flags set up on this host (bridge, service route, iptables chains, pods' CNI state), then exit")
	fs.DurationVar(&c.CleanupGrace, "cleanup-grace", 10*time.Second, "with --cleanup: how long a container has to exit after its stop signal before it is killed")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.APIServers = splitList(servers)
	c.ClusterDNS = splitList(dns)
	c.AllowedCallers = splitList(callers)
	var err error
	if c.SystemReserved, err = keyValues(reserved); err != nil {
		return nil, fmt.Errorf("--system-reserved: %w", err)
	}
	if c.Labels, err = keyValues(labels); err != nil {
		return nil, fmt.Errorf("--node-labels: %w", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	c.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	return c, c.Validate()
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.NodeName == "" && c.SimulateNodes == 0 {
		errs = append(errs, errors.New("no node name: set --hostname-override"))
	}
	if len(c.APIServers) == 0 {
		errs = append(errs, errors.New("--api-servers is required"))
	}
	if c.CleanupGrace < 0 {
		errs = append(errs, fmt.Errorf("--cleanup-grace %s: must not be negative", c.CleanupGrace))
	}
	if c.CgroupRoot != "" {
		if err := cgroups.ValidateParent(c.CgroupRoot); err != nil {
			errs = append(errs, fmt.Errorf("--cgroup-root: %w", err))
		}
	}
	if c.Runtime != "containerd" && c.Runtime != "fake" {
		errs = append(errs, fmt.Errorf("--runtime %q: want containerd or fake", c.Runtime))
	}
	for k, v := range c.SystemReserved {
		if _, err := resource.ParseQuantity(v); err != nil {
			errs = append(errs, fmt.Errorf("--system-reserved %s=%s: %v", k, v, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) withDefaults() {
	if c.ImagesDir == "" {
		c.ImagesDir = c.RootDir + "/images"
	}
	if c.CgroupRoot == "" {
		c.CgroupRoot = cgroups.DefaultParent
	}
	if c.CNIConfDir == "" {
		c.CNIConfDir = c.RootDir + "/cni"
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
		c.Registry.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	}
	if c.MaxPods == 0 {
		c.MaxPods = 110
	}
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

func keyValues(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range splitList(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}
