package cluster

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gantry-dev/gantry/services/cli/internal/layout"
)

// Addresses and ranges of a one-host cluster.
const (
	memberName   = "default"
	clientURL    = "http://127.0.0.1:2379"
	peerURL      = "http://127.0.0.1:2380"
	metricsURL   = "http://127.0.0.1:2381"
	apiPort      = 6443
	clusterCIDR  = "10.244.0.0/16"
	podCIDR      = "10.244.0.0/24"
	clusterDNS   = "10.96.0.10:53"
	dnsProbeName = "kubernetes.default.svc.cluster.local."

	systemContainerd  = "/run/containerd/containerd.sock"
	ownContainerdRun  = "/run/gantry/containerd"
	containerdBinary  = "/usr/bin/containerd"
	containerdName    = "containerd"
	agentHealthz      = "http://127.0.0.1:10248/healthz"
	schedulerHealthz  = "http://127.0.0.1:10259/healthz"
	controllerHealthz = "http://127.0.0.1:10257/healthz"
	proxyHealthz      = "http://127.0.0.1:10256/healthz"
	ingressHealthz    = "http://127.0.0.1:10254/healthz"
)

var apiURL = "https://127.0.0.1:" + strconv.Itoa(apiPort)

// Cluster is the one-host cluster described by a Layout.
type Cluster struct {
	l        layout.Layout
	nodeName string
	out      io.Writer
	// wait bounds each wait for a daemon, the node or DNS to be ready.
	wait time.Duration
	// grace is how long a daemon has to exit after SIGTERM.
	grace time.Duration
	// cfg is the host's part in a multi-host cluster; nil for the
	// one-host cluster of gantry up.
	cfg *Config
}

// Options configure a Cluster.
type Options struct {
	Layout   layout.Layout
	NodeName string
	// Out receives the progress lines.
	Out io.Writer
	// Wait bounds each wait for readiness (default 60s).
	Wait time.Duration
	// Grace is how long a daemon has to exit after SIGTERM before it is
	// killed (default 30s).
	Grace time.Duration
}

// New returns the cluster described by opts.
func New(opts Options) (*Cluster, error) {
	if !filepath.IsAbs(opts.Layout.StateDir) {
		return nil, fmt.Errorf("state directory %q is not an absolute path", opts.Layout.StateDir)
	}
	if opts.NodeName == "" {
		return nil, fmt.Errorf("no node name")
	}
	if opts.Wait <= 0 {
		opts.Wait = 60 * time.Second
	}
	if opts.Grace <= 0 {
		opts.Grace = 30 * time.Second
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	cfg, err := loadConfig(opts.Layout.StateDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{l: opts.Layout, nodeName: opts.NodeName, out: opts.Out, wait: opts.Wait, grace: opts.Grace, cfg: cfg}
	if cfg != nil {
		c.nodeName = cfg.NodeName
	}
	return c, nil
}

// controlPlane reports whether this host runs the store, the API server,
// the scheduler and the controllers.
func (c *Cluster) controlPlane() bool { return c.cfg == nil || c.cfg.Role == RoleControlPlane }

// daemon is one background process of the cluster.
type daemon struct {
	name   string
	binary string
	// ports must be free before the daemon starts.
	ports []int
	// health is the address its readiness check asks, for people.
	health string
	// ready returns nil once the daemon serves.
	ready func() error
}

// daemons returns this host's daemons in start order; containerd is
// not among them (see ensureContainerd).
func (c *Cluster) daemons() []daemon {
	var out []daemon
	for _, d := range c.allDaemons() {
		switch d.name {
		case "gantry-store", "gantry-apiserver", "gantry-scheduler", "gantry-controllers":
			if !c.controlPlane() {
				continue
			}
		case "gantry-ingress":
			if c.cfg != nil && !c.cfg.Ingress {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

func (c *Cluster) allDaemons() []daemon {
	return []daemon{
		{name: "gantry-store", ports: []int{2379, 2380, 2381}, health: metricsURL + "/health",
			ready: func() error { return httpOK(metricsURL+"/health", "") }},
		{name: "gantry-apiserver", ports: []int{apiPort}, health: apiURL + "/readyz",
			ready: func() error { return httpOK(apiURL+"/readyz", c.l.CAFile()) }},
		{name: "gantry-scheduler", ports: []int{10259}, health: schedulerHealthz,
			ready: func() error { return httpOK(schedulerHealthz, "") }},
		{name: "gantry-controllers", ports: []int{10257}, health: controllerHealthz,
			ready: func() error { return httpOK(controllerHealthz, "") }},
		{name: "gantry-agent", ports: []int{10250}, health: agentHealthz,
			ready: func() error { return httpOK(agentHealthz, "") }},
		{name: "gantry-proxy", ports: []int{10249, 10256}, health: proxyHealthz,
			ready: func() error { return httpOK(proxyHealthz, "") }},
		{name: "gantry-ingress", ports: []int{80, 443, 10254}, health: ingressHealthz,
			ready: func() error { return httpOK(ingressHealthz, "") }},
	}
}

func (c *Cluster) daemon(name string) daemon {
	for _, d := range c.allDaemons() {
		if d.name == name {
			d.binary = c.l.Binary(name)
			return d
		}
	}
	panic("cluster: unknown daemon " + name) // a programming error
}

// args returns a daemon's command line arguments.
func (c *Cluster) args(name, containerdSock string) []string {
	if c.cfg != nil {
		return c.multiHostArgs(name, containerdSock)
	}
	pki := c.l.PKIDir()
	ca := c.l.CAFile()
	switch name {
	case "gantry-apiserver":
		return []string{"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(apiPort),
			"--cert-dir", pki, "--client-ca-file", ca,
			"--token-auth-file", c.l.TokensFile(),
			"--etcd-servers", clientURL}
	case "gantry-scheduler":
		return []string{"--api-servers", apiURL, "--ca-file", ca, "--token-file", c.l.TokenFile("scheduler")}
	case "gantry-controllers":
		return []string{"--api-servers", apiURL, "--ca-file", ca, "--token-file", c.l.TokenFile("controllers"),
			"--cluster-cidr", clusterCIDR, "--local-path-dir", filepath.Join(c.l.StateDir, "storage"),
			// The cluster CA signs approved CertificateSigningRequests.
			"--cluster-signing-cert-file", ca, "--cluster-signing-key-file", c.l.CAKeyFile()}
	case "gantry-agent":
		return []string{"--hostname-override", c.nodeName,
			"--api-servers", apiURL, "--ca-file", ca, "--token-file", c.l.TokenFile("agent"),
			"--ca-key-file", c.l.CAKeyFile(), "--client-ca-file", ca,
			"--pod-cidr", podCIDR, "--containerd", containerdSock,
			"--root-dir", c.agentRoot()}
	case "gantry-proxy":
		return []string{"--hostname-override", c.nodeName,
			"--api-servers", apiURL, "--ca-file", ca, "--token-file", c.l.TokenFile("proxy"),
			"--cluster-cidr", clusterCIDR}
	case "gantry-ingress":
		return []string{"--node-name", c.nodeName,
			"--api-servers", apiURL, "--ca-file", ca, "--token-file", c.l.TokenFile("ingress")}
	}
	return nil
}

// storeArgs returns gantry-store's arguments; a new member (no member/
// in its data directory yet) also gets its name and the cluster to
// bootstrap or join, which the data directory remembers afterwards.
func (c *Cluster) storeArgs(newMember bool) []string {
	if c.cfg != nil {
		return c.multiHostStoreArgs(newMember)
	}
	args := []string{"--data-dir", c.l.StoreDir(),
		"--listen-client-urls", clientURL,
		"--listen-peer-urls", peerURL,
		"--listen-metrics-urls", metricsURL}
	if newMember {
		args = append(args, "--name", memberName,
			"--advertise-client-urls", clientURL,
			"--initial-advertise-peer-urls", peerURL,
			"--initial-cluster", memberName+"="+peerURL,
			"--initial-cluster-state", "new")
	}
	return args
}

// agentRoot is the agent's state directory.
func (c *Cluster) agentRoot() string { return filepath.Join(c.l.StateDir, "agent") }

// agentCleanupArgs are the arguments of `gantry-agent --cleanup` that
// match the agent's containerd (at containerdSock), state and networking:
// it stops and deletes the pods' containers, removes their sandboxes and
// the pod networking.
func (c *Cluster) agentCleanupArgs(containerdSock string) []string {
	args := []string{"--cleanup", "--hostname-override", c.nodeName,
		"--cluster-cidr", clusterCIDR, "--containerd", containerdSock, "--root-dir", c.agentRoot()}
	if c.cfg == nil {
		return append(args, "--pod-cidr", podCIDR)
	}
	return append(args, c.sharedMachineAgentArgs()...)
}

// containerdSocket is the socket of the containerd the agent uses: our
// own while it runs, else the system's.
func (c *Cluster) containerdSocket() string {
	if c.status(containerdName).Running {
		return c.ownContainerdSocket()
	}
	return systemContainerd
}

// ownContainerdRun is the run directory (socket, state) of the
// containerd Gantry starts: under /run for the host's one cluster, under
// the state directory when several nodes share the machine.
func (c *Cluster) ownContainerdRun() string {
	if c.cfg != nil && c.cfg.SharedMachine {
		return filepath.Join(c.l.StateDir, "containerd", "run")
	}
	return ownContainerdRun
}

func (c *Cluster) ownContainerdSocket() string {
	return filepath.Join(c.ownContainerdRun(), "containerd.sock")
}
