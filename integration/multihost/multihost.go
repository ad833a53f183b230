package multihost

import (
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

// Options configure a two-host cluster.
type Options struct {
	// AgentArgs are extra flags for both agents.
	AgentArgs []string
	// ControllerArgs are extra flags for gantry-controllers.
	ControllerArgs []string
	// APIServerArgs are extra flags for the API server.
	APIServerArgs []string
	// Proxy also starts gantry-proxy on each host (services and cluster
	// DNS at ClusterDNS), with ProxyArgs as extra flags.
	Proxy     bool
	ProxyArgs []string
	// Scheduler also starts gantry-scheduler (otherwise pods name their
	// node in spec.nodeName).
	Scheduler bool
	// ReadyTimeout bounds the wait for both hosts (default 3m).
	ReadyTimeout time.Duration
}

// Cluster is a control plane and two hosts.
type Cluster struct {
	CP *controlplane.ControlPlane
	// Hosts are the two hosts, A and B.
	Hosts []*Host
	// Kube is an admin client-go clientset; RestConfig its configuration.
	Kube       kubernetes.Interface
	RestConfig *rest.Config
	// Subnet is the hosts' shared link; RootIP the root namespace's
	// address on it.
	Subnet netip.Prefix
	RootIP netip.Addr
	// APIServers are the API servers' URLs (comma-separated), valid in
	// the root namespace and, relayed, in the hosts.
	APIServers string
	// TokenFile holds the admin token, for daemons a test starts.
	TokenFile string
	// Dir is the cluster's temporary directory.
	Dir string

	lan *lan
}

// Start starts a control plane, gantry-controllers and two hosts for tb,
// waits until both Nodes are Ready with their pod CIDRs and each host has
// its route to the other's pods, and takes everything down when tb ends
// (printing the logs first if tb failed).
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
	for _, suffix := range []string{"a", "b"} {
		h := &Host{Name: "gmh-" + id + "-" + suffix, Netns: "gmh-" + id + "-" + suffix, Token: cluster.RandomHex(16)}
		c.Hosts = append(c.Hosts, h)
		tokens = append(tokens, fmt.Sprintf("%s,system:node:%s,node-%s,\"system:nodes\"", h.Token, h.Name, h.Name))
	}
	c.CP = controlplane.Start(tb, controlplane.Options{
		Tokens: tokens,
		Args:   append([]string{"--service-cluster-ip-range", ServiceCIDR}, opts.APIServerArgs...),
	})
	urls := make([]string, 0, len(c.CP.Servers))
	for _, s := range c.CP.Servers {
		urls = append(urls, s.URL)
	}
	c.APIServers = strings.Join(urls, ",")
	var err error
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

	c.startDaemon(ctx, tb, "controllers", "gantry-controllers", append([]string{
		"--leader-elect=false", "--cluster-cidr", ClusterCIDR, "--node-cidr-mask-size", "24",
	}, opts.ControllerArgs...))
	if opts.Scheduler {
		c.startDaemon(ctx, tb, "scheduler", "gantry-scheduler", []string{"--leader-elect=false"})
	}

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
	for i, h := range c.Hosts {
		if h.IP, err = c.lan.addHost(ctx, h.Netns, i+1); err != nil {
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
			if err := h.agent.Crashed(); err != nil {
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

// startDaemon runs a control plane daemon in the root namespace and
// waits for its /readyz (or /healthz).
func (c *Cluster) startDaemon(ctx context.Context, tb testing.TB, svc, name string, args []string) {
	tb.Helper()
	bin, err := cluster.Binary(svc, name)
	if err != nil {
		tb.Fatal(err)
	}
	ports, err := cluster.FreePorts(1)
	if err != nil {
		tb.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	p := &cluster.Process{Name: name, LogPath: filepath.Join(c.Dir, name+".log")}
	common := []string{"--api-servers", c.APIServers, "--ca-file", c.CP.CAFile, "--token-file", c.TokenFile, "--metrics-address", addr}
	if err := p.Start(bin, append(common, args...)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("--- log of %s:\n%s", name, p.LogTail(40))
		}
		if err := p.Stop(15 * time.Second); err != nil {
			tb.Errorf("stop %s: %v", name, err)
		}
	})
	var last error
	for {
		if err := p.Crashed(); err != nil {
			tb.Fatalf("%v\n%s", err, p.LogTail(30))
		}
		if last = httpOK(ctx, "http://"+addr+"/readyz"); last == nil {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("%s not ready: %v\n%s", name, last, p.LogTail(30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

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
