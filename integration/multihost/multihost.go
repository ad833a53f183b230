package multihost

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/controlplane"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The test network, far from Gantry's defaults. The hosts' pod CIDRs are
// /24s of ClusterCIDR given by node IPAM.
const (
	ClusterCIDR = "10.250.0.0/16"
	ServiceCIDR = "10.251.0.0/16"
	ClusterDNS  = "10.251.0.10"
)

// RouteProtocol is the protocol number of the agents' host-gw routes
// ("ip -n <netns> route show proto 158").
const RouteProtocol = 158

// Options configure a cluster.
type Options struct {
	// Workers is the number of worker hosts (default 2), named
	// gmh-<id>-a, -b, ... at addresses .1, .2, ... of the link.
	Workers int
	// ControlPlaneHosts, if set, runs the control plane on that many
	// hosts of its own (gmh-<id>-cp1, ... at .101, .102, ...), each with a
	// store member, an API server, gantry-controllers and
	// gantry-scheduler; the controllers and schedulers elect their
	// leaders through Leases. Otherwise one API server, one store member
	// and gantry-controllers run in the root namespace.
	ControlPlaneHosts int
	// AgentArgs are extra flags for every agent.
	AgentArgs []string
	// ControllerArgs are extra flags for gantry-controllers.
	ControllerArgs []string
	// APIServerArgs are extra flags for the API servers.
	APIServerArgs []string
	// Proxy also starts gantry-proxy on each worker (services and
	// cluster DNS at ClusterDNS), with ProxyArgs as extra flags.
	Proxy     bool
	ProxyArgs []string
	// Scheduler also starts gantry-scheduler (otherwise pods name their
	// node in spec.nodeName); always true with ControlPlaneHosts.
	Scheduler bool
	// ReadyTimeout bounds the wait for the cluster (default 3m).
	ReadyTimeout time.Duration
}

// Leader election timings of the control plane hosts' controllers and
// schedulers: shorter than the defaults so that failover tests are
// quick, with the defaults' proportions.
const (
	LeaseDuration = 6 * time.Second
	RenewDeadline = 4 * time.Second
	RetryPeriod   = time.Second
)

// Cluster is a control plane and its worker hosts.
type Cluster struct {
	CP *controlplane.ControlPlane
	// ControlHosts are the control plane hosts (with
	// Options.ControlPlaneHosts).
	ControlHosts []*ControlHost
	// Hosts are the workers, A, B, ...
	Hosts []*Host
	// Controllers and Scheduler run in the root namespace without
	// Options.ControlPlaneHosts (Scheduler only with Options.Scheduler).
	Controllers, Scheduler *Daemon
	// Kube is an admin client-go clientset; RestConfig its configuration
	// (for the first API server).
	Kube       kubernetes.Interface
	RestConfig *rest.Config
	// Subnet is the hosts' shared link; RootIP the root namespace's
	// address on it.
	Subnet netip.Prefix
	RootIP netip.Addr
	// APIServers are the API servers' URLs (comma-separated), valid in
	// the root namespace and in the hosts.
	APIServers string
	// TokenFile holds the admin token, for daemons a test starts.
	TokenFile string
	// Dir is the cluster's temporary directory.
	Dir string

	lan *lan
}

// Start starts a control plane, gantry-controllers and the worker hosts
// for tb, waits until every Node is Ready with its pod CIDR and each host
// has its routes to the others' pods, and takes everything down when tb
// ends (printing the logs first if tb failed).
func Start(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	if reason := unavailable(); reason != "" {
		tb.Fatalf("multihost: %s", reason)
	}
	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	id := cluster.RandomHex(3)
	c := &Cluster{}
	var tokens []string
	for i := range cmp.Or(opts.Workers, 2) {
		name := "gmh-" + id + "-" + string(rune('a'+i))
		h := &Host{Machine: Machine{Name: name, Netns: name}, Token: cluster.RandomHex(16)}
		c.Hosts = append(c.Hosts, h)
		tokens = append(tokens, fmt.Sprintf("%s,system:node:%s,node-%s,\"system:nodes\"", h.Token, h.Name, h.Name))
	}
	// The link comes first: the control plane hosts live on it.
	var err error
	c.lan, err = newLAN(ctx, id)
	if c.lan != nil {
		tb.Cleanup(func() {
			if err := c.lan.close(); err != nil {
				tb.Errorf("multihost: remove the namespaces: %v", err)
			}
		})
	}
	if err != nil {
		tb.Fatalf("multihost: %v", err)
	}
	c.Subnet, c.RootIP = c.lan.subnet, c.lan.rootIP
	var placements []cluster.Placement
	for i := range opts.ControlPlaneHosts {
		name := fmt.Sprintf("gmh-%s-cp%d", id, i+1)
		ch := &ControlHost{Machine: Machine{Name: name, Netns: name}}
		if err := c.lan.addHost(ctx, &ch.Machine, 101+i); err != nil {
			tb.Fatalf("multihost: %v", err)
		}
		c.ControlHosts = append(c.ControlHosts, ch)
		placements = append(placements, ch.placement())
	}

	c.CP = controlplane.Start(tb, controlplane.Options{
		Tokens: tokens,
		Args:   append([]string{"--service-cluster-ip-range", ServiceCIDR}, opts.APIServerArgs...),
		Hosts:  placements,
	})
	urls := make([]string, 0, len(c.CP.Servers))
	for _, s := range c.CP.Servers {
		urls = append(urls, s.URL)
	}
	c.APIServers = strings.Join(urls, ",")
	// A short path: containerd's socket path is limited to 108 bytes.
	if c.Dir, err = os.MkdirTemp("", "gantry-mh-"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(c.Dir) })
	c.TokenFile = filepath.Join(c.Dir, "admin.token")
	if err := os.WriteFile(c.TokenFile, []byte(c.CP.AdminToken+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	c.RestConfig = &rest.Config{
		Host: c.CP.Servers[0].URL, BearerToken: c.CP.AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAFile: c.CP.CAFile}, QPS: 100, Burst: 200, UserAgent: "multihost-e2e",
	}
	if c.Kube, err = kubernetes.NewForConfig(c.RestConfig); err != nil {
		tb.Fatal(err)
	}

	controllerArgs := append([]string{"--cluster-cidr", ClusterCIDR, "--node-cidr-mask-size", "24",
		"--cluster-signing-cert-file", c.CP.CAFile, "--cluster-signing-key-file", c.CP.CAKeyFile}, opts.ControllerArgs...)
	if len(c.ControlHosts) > 0 {
		c.startControlHosts(ctx, tb, controllerArgs)
	} else {
		c.Controllers = c.startDaemon(ctx, tb, nil, "controllers", "gantry-controllers", append([]string{"--leader-elect=false"}, controllerArgs...))
		if opts.Scheduler {
			c.Scheduler = c.startDaemon(ctx, tb, nil, "scheduler", "gantry-scheduler", []string{"--leader-elect=false"})
		}
	}

	for i, h := range c.Hosts {
		if err := c.lan.addHost(ctx, &h.Machine, i+1); err != nil {
			tb.Fatalf("multihost: %v", err)
		}
		if h.Dir, err = os.MkdirTemp("", "gantry-mh-"+h.Name[len(h.Name)-1:]+"-"); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			if tb.Failed() {
				tb.Logf("--- log of agent %s:\n%s", h.Name, h.AgentLogTail(80))
				if h.ctrd != nil {
					tb.Logf("--- log of containerd %s:\n%s", h.Name, h.ctrd.proc.LogTail(20))
				}
			}
			if err := h.close(); err != nil {
				tb.Errorf("multihost: stop host %s: %v", h.Name, err)
			}
		})
		if err := h.launch(ctx, c, opts.AgentArgs); err != nil {
			tb.Fatalf("multihost: start host %s: %v", h.Name, err)
		}
	}
	if err := c.waitReady(ctx); err != nil {
		tb.Fatalf("multihost: %v", err)
	}
	if opts.Proxy {
		for _, h := range c.Hosts {
			h.startProxy(ctx, tb, c, opts.ProxyArgs)
		}
	}
	return c
}

// Partition cuts m off the link (see lan.setPort); Heal reconnects it.
func (c *Cluster) Partition(ctx context.Context, m *Machine) error {
	return c.lan.setPort(ctx, m, false)
}

// Heal reconnects a partitioned host.
func (c *Cluster) Heal(ctx context.Context, m *Machine) error { return c.lan.setPort(ctx, m, true) }

// unavailable says why the harness cannot run here, or "".
func unavailable() string {
	if os.Geteuid() != 0 {
		return "needs root"
	}
	for _, bin := range []string{"ip", "nsenter", "iptables", "containerd", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			return "needs " + bin
		}
	}
	return ""
}

// Kubectl runs kubectl as admin (see controlplane.ControlPlane.Kubectl).
func (c *Cluster) Kubectl(ctx context.Context, stdin []byte, args ...string) (stdout, stderr string, err error) {
	return c.CP.Kubectl(ctx, stdin, args...)
}

// waitReady waits until both hosts are ready and route to each other's
// pod CIDR.
func (c *Cluster) waitReady(ctx context.Context) error {
	var last error
	for {
		if last = c.ready(ctx); last == nil {
			return nil
		}
		for _, h := range c.Hosts {
			if err := h.Agent.Crashed(); err != nil {
				return fmt.Errorf("%v\n%s", err, h.AgentLogTail(40))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("hosts not ready: %v", last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *Cluster) ready(ctx context.Context) error {
	cidrs := map[string]string{}
	for _, h := range c.Hosts {
		if err := h.ready(ctx); err != nil {
			return err
		}
		cidr, err := h.PodCIDR(ctx)
		if err != nil {
			return err
		}
		cidrs[h.Name] = cidr
	}
	for _, h := range c.Hosts {
		out, err := h.Run(ctx, "ip", "-4", "route", "show", "proto", strconv.Itoa(RouteProtocol))
		if err != nil {
			return err
		}
		for _, o := range c.Hosts {
			if o != h && !strings.Contains(out, cidrs[o.Name]+" via "+o.IP.String()) {
				return fmt.Errorf("host %s has no route to %s's pods (%s via %s) yet", h.Name, o.Name, cidrs[o.Name], o.IP)
			}
		}
	}
	return nil
}

// startDaemon runs a control plane daemon on m (nil: the root namespace,
// on a free loopback port; a host: on its address and the daemon's
// standard port) and waits for its /healthz. It reaches the API servers
// at apiServers (default c.APIServers).
func (c *Cluster) startDaemon(ctx context.Context, tb testing.TB, m *Machine, svc, name string, args []string, apiServers ...string) *Daemon {
	tb.Helper()
	bin, err := cluster.Binary(svc, name)
	if err != nil {
		tb.Fatal(err)
	}
	var addr string
	if m == nil {
		ports, err := cluster.FreePorts(1)
		if err != nil {
			tb.Fatal(err)
		}
		addr = "127.0.0.1:" + strconv.Itoa(ports[0])
	} else {
		addr = netip.AddrPortFrom(m.IP, standardPorts[name]).String()
	}
	servers := c.APIServers
	if len(apiServers) > 0 {
		servers = strings.Join(apiServers, ",")
	}
	common := []string{"--api-servers", servers, "--ca-file", c.CP.CAFile, "--token-file", c.TokenFile, "--metrics-address", addr}
	logName := name
	if m != nil {
		logName += "-" + m.Name
	}
	d, err := newDaemon(name, m, filepath.Join(c.Dir, logName+".log"), bin, append(common, args...))
	if err != nil {
		tb.Fatal(err)
	}
	d.MetricsURL = "http://" + addr
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("--- log of %s:\n%s", d.Name, d.LogTail(40))
		}
		if err := d.Stop(15 * time.Second); err != nil {
			tb.Errorf("stop %s: %v", d.Name, err)
		}
	})
	path := "/readyz"
	if m != nil {
		path = "/healthz" // a standby is not ready until it leads
	}
	var last error
	for {
		if err := d.Crashed(); err != nil {
			tb.Fatalf("%v\n%s", err, d.LogTail(30))
		}
		if last = httpOK(ctx, d.MetricsURL+path); last == nil {
			return d
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("%s not ready: %v\n%s", d.Name, last, d.LogTail(30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// standardPorts are the metrics ports of daemons placed on a host.
var standardPorts = map[string]uint16{"gantry-controllers": 10257, "gantry-scheduler": 10259}

func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(url + ": " + resp.Status)
	}
	return nil
}
