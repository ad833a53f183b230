// Package node starts a real node for end-to-end tests: a private
// containerd (libs/testutil/containerdtest) and a gantry-agent process
// registered with a control plane (package controlplane) under a name,
// bridge, pod CIDR, cgroup root and directories of the test's own, so
// that it collides neither with other tests nor with a real agent on the
// same host.
//
// The pod network lives in 10.250.0.0/16 (the node's pod CIDR is one /24
// of it) and Services in 10.251.0.0/16. Close takes everything down again,
// including what the agent did to the host's network: its bridge, the
// routes for the test CIDRs, and the agent's iptables chains, which are
// restored to what they were before the test (they have fixed names, so a
// real agent on the host owns them too), as is the service dummy device.
//
// It needs root, containerd, runc, the CNI plugins, iptables and ip.
package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/controlplane"
	"github.com/gantry-dev/gantry/libs/testutil/containerdtest"
)

// The test network: far from the agent's defaults (10.244.0.0/16,
// 10.96.0.0/12).
const (
	ClusterCIDR = "10.250.0.0/16"
	ServiceCIDR = "10.251.0.0/16"
)

// Names the agent uses whatever its flags (see the agent's network
// package): its iptables chains and the service sink device.
var (
	agentChains = []struct{ table, chain, from string }{
		{"nat", "GANTRY-POSTROUTING", "POSTROUTING"},
		{"filter", "GANTRY-FORWARD", "FORWARD"},
	}
	serviceDevice = "gantry-svc"
)

// Options configure a node.
type Options struct {
	// Args are extra agent flags.
	Args []string
	// ReadyTimeout bounds the wait for the Node to be Ready (default 2m).
	ReadyTimeout time.Duration
}

// Node is a gantry-agent process and its containerd.
type Node struct {
	Name    string
	Bridge  string
	PodCIDR string
	// Token authenticates as system:node:<Name> in group system:nodes.
	Token string
	// Dir holds the agent's root, pod logs, certificates and log.
	Dir, RootDir, PodLogDir string
	// CgroupRoot is the agent's --cgroup-root ("/gantry-test-<hex>"),
	// removed by Close.
	CgroupRoot string
	// HealthzURL is the agent's /healthz; StreamAddr its streaming server.
	HealthzURL, StreamAddr string
	LogPath                string
	Containerd             *containerdtest.Containerd

	opts    Options
	cp      *controlplane.ControlPlane
	binary  string
	args    []string
	proc    cluster.Process
	saved   map[string][]string // iptables -S of the agent's chains before
	hadSink bool
	closed  bool
}

// New chooses a node's identity; nothing is started. Pass TokenLine to
// the control plane (controlplane.Options.Tokens), then call Launch.
func New(opts Options) *Node {
	suffix := cluster.RandomHex(3)
	b := make([]byte, 1)
	rand.Read(b)
	return &Node{
		Name:       "gtest-" + suffix,
		Bridge:     "gtest" + suffix,
		PodCIDR:    fmt.Sprintf("10.250.%d.0/24", 1+int(b[0])%254),
		CgroupRoot: "/gantry-test-" + cluster.RandomHex(4),
		Token:      cluster.RandomHex(16),
		opts:       opts,
	}
}

// TokenLine is the node's line of the API servers' token file.
func (n *Node) TokenLine() string {
	return fmt.Sprintf("%s,system:node:%s,node-%s,\"system:nodes\"", n.Token, n.Name, n.Name)
}

// Start starts a control plane (with cpOpts plus the node's token) and a
// node for tb, and takes both down when tb ends, printing the agent's log
// if tb failed.
func Start(tb testing.TB, cpOpts controlplane.Options, opts Options) (*controlplane.ControlPlane, *Node) {
	tb.Helper()
	n := New(opts)
	cpOpts.Tokens = append(cpOpts.Tokens, n.TokenLine())
	cp := controlplane.Start(tb, cpOpts)
	dir, err := os.MkdirTemp("", "gantry-node-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("--- log of agent %s:\n%s", n.Name, n.LogTail(80))
		}
		if err := n.Close(); err != nil {
			tb.Errorf("stop node %s: %v", n.Name, err)
		}
	})
	if err := n.Launch(context.Background(), cp, dir); err != nil {
		tb.Fatalf("start node: %v", err)
	}
	return cp, n
}

// Launch starts containerd and the agent, with its state in dir (which
// Close removes), and waits until the Node is Ready. On error, call Close.
func (n *Node) Launch(ctx context.Context, cp *controlplane.ControlPlane, dir string) error {
	n.cp, n.Dir = cp, dir
	n.RootDir = filepath.Join(dir, "root")
	n.PodLogDir = filepath.Join(dir, "pods")
	n.LogPath = filepath.Join(dir, "agent.log")
	for _, d := range []string{n.RootDir, n.PodLogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	bin, err := cluster.Binary("agent", "gantry-agent")
	if err != nil {
		return err
	}
	n.binary = bin
	loggerBin, err := cluster.Binary("agent", "gantry-logger")
	if err != nil {
		return err
	}
	if err := n.saveHostNetwork(ctx); err != nil {
		return err
	}
	if n.Containerd, err = containerdtest.Launch(); err != nil {
		return err
	}
	tokenFile := filepath.Join(dir, "agent.token")
	if err := os.WriteFile(tokenFile, []byte(n.Token+"\n"), 0o600); err != nil {
		return err
	}
	ports, err := cluster.FreePorts(2)
	if err != nil {
		return err
	}
	healthPort, streamPort := ports[0], ports[1]
	n.HealthzURL = "http://127.0.0.1:" + strconv.Itoa(healthPort) + "/healthz"
	n.StreamAddr = "127.0.0.1:" + strconv.Itoa(streamPort)
	servers := make([]string, 0, len(cp.Servers))
	for _, s := range cp.Servers {
		servers = append(servers, s.URL)
	}
	n.args = append([]string{
		"--hostname-override", n.Name,
		"--node-ip", "127.0.0.1",
		"--api-servers", strings.Join(servers, ","),
		"--ca-file", cp.CAFile, "--token-file", tokenFile,
		"--ca-key-file", cp.CAKeyFile,
		"--client-ca-file", cp.CAFile,
		"--containerd", n.Containerd.Address,
		"--containerd-namespace", n.Containerd.Namespace,
		"--logger-binary", loggerBin,
		"--root-dir", n.RootDir, "--pod-log-dir", n.PodLogDir,
		"--cgroup-root", n.CgroupRoot,
		"--bridge", n.Bridge,
		"--pod-cidr", n.PodCIDR, "--cluster-cidr", ClusterCIDR, "--service-cidr", ServiceCIDR,
		"--cluster-dns", "10.251.0.10",
		"--address", n.StreamAddr,
		"--healthz-address", "127.0.0.1:" + strconv.Itoa(healthPort),
	}, n.opts.Args...)
	n.proc.Name, n.proc.LogPath = "agent "+n.Name, n.LogPath
	return n.Restart(ctx)
}

// Restart starts the agent again (after Kill or Stop) and waits until
// its Node is Ready and it is healthy.
func (n *Node) Restart(ctx context.Context) error {
	if err := n.proc.Start(n.binary, n.args); err != nil {
		return err
	}
	return n.WaitReady(ctx)
}

// Kill ends the agent with SIGKILL (its pods keep running).
func (n *Node) Kill() error { return n.proc.Kill() }

// Stop ends the agent with SIGTERM.
func (n *Node) Stop() error { return n.proc.Stop(30 * time.Second) }

// Crashed returns why the agent exited on its own, or nil.
func (n *Node) Crashed() error { return n.proc.Crashed() }

// LogTail returns the last lines of the agent's log.
func (n *Node) LogTail(lines int) string { return n.proc.LogTail(lines) }

// Healthy returns nil if the agent is running and its /healthz answers 200.
func (n *Node) Healthy() error {
	if err := n.proc.Crashed(); err != nil {
		return err
	}
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(n.HealthzURL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s: %s", n.HealthzURL, resp.Status, b)
	}
	return nil
}

// WaitReady waits until the agent is healthy and its Node has condition
// Ready=True.
func (n *Node) WaitReady(ctx context.Context) error {
	timeout := n.opts.ReadyTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, err := n.cp.HTTPClient()
	if err != nil {
		return err
	}
	client.Timeout = 5 * time.Second
	var last error
	for {
		if err := n.proc.Crashed(); err != nil {
			return fmt.Errorf("%v\n%s", err, n.LogTail(40))
		}
		if last = n.Healthy(); last == nil {
			last = n.nodeReady(ctx, client)
			if last == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s not ready within %v: %v\n%s", n.Name, timeout, last, n.LogTail(40))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (n *Node) nodeReady(ctx context.Context, client *http.Client) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.cp.Servers[0].URL+"/api/v1/nodes/"+n.Name, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+n.cp.AdminToken)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET node: %s", resp.Status)
	}
	compact := strings.NewReplacer(" ", "", "\n", "").Replace(string(b))
	if !strings.Contains(compact, `"type":"Ready","status":"True"`) {
		return errors.New("node has no condition Ready=True yet")
	}
	return nil
}

// Close stops the agent, removes its containers and containerd, and
// undoes what the agent did to the host's network. It goes on after
// errors and returns them all.
func (n *Node) Close() error {
	if n.closed {
		return nil
	}
	n.closed = true
	var errs []error
	if err := n.proc.Stop(30 * time.Second); err != nil {
		errs = append(errs, err)
	}
	if n.Containerd != nil {
		if err := n.Containerd.Close(); err != nil {
			errs = append(errs, fmt.Errorf("containerd: %w", err))
		}
		// The agent's runc root (it does not use containerd's).
		runcRoot := filepath.Join("/run/gantry/runc", n.Containerd.Namespace)
		errs = append(errs, forceDeleteRunc(runcRoot), os.RemoveAll(runcRoot))
		// The pods' cgroups, once their containers are gone.
		containerdtest.RemoveCgroup(n.CgroupRoot)
	}
	if n.Dir != "" {
		// Pod network namespaces are bind mounts under the root dir;
		// unmounting them frees the namespaces and their veths.
		errs = append(errs, containerdtest.UnmountAll(n.Dir))
	}
	errs = append(errs, n.cleanupHostNetwork(context.Background()))
	if n.Dir != "" {
		errs = append(errs, os.RemoveAll(n.Dir))
	}
	return errors.Join(errs...)
}

// saveHostNetwork records the agent's iptables chains and whether the
// service device exists, for cleanupHostNetwork to restore.
func (n *Node) saveHostNetwork(ctx context.Context) error {
	n.saved = map[string][]string{}
	for _, c := range agentChains {
		out, err := exec.CommandContext(ctx, "iptables", "-w", "10", "-t", c.table, "-S", c.chain).Output()
		if err != nil {
			continue // no such chain
		}
		n.saved[c.chain] = rulesOf(string(out), c.chain)
	}
	_, err := net.InterfaceByName(serviceDevice)
	n.hadSink = err == nil
	return nil
}

// cleanupHostNetwork removes the bridge, the routes for the test CIDRs
// and the service device (if the test made it), and puts the agent's
// iptables chains back as they were.
func (n *Node) cleanupHostNetwork(ctx context.Context) error {
	var errs []error
	if _, err := net.InterfaceByName(n.Bridge); err == nil {
		errs = append(errs, run(ctx, "ip", "link", "del", n.Bridge))
	}
	for _, r := range [][]string{
		{"ip", "route", "del", "unreachable", ClusterCIDR},
		{"ip", "route", "del", ServiceCIDR},
	} {
		if routeExists(ctx, r[len(r)-1]) {
			errs = append(errs, run(ctx, r...))
		}
	}
	if !n.hadSink {
		if _, err := net.InterfaceByName(serviceDevice); err == nil {
			errs = append(errs, run(ctx, "ip", "link", "del", serviceDevice))
		}
	}
	if n.saved == nil {
		return errors.Join(errs...)
	}
	for _, c := range agentChains {
		rules, had := n.saved[c.chain]
		if had {
			// Put the host's rules back (the test agent rewrote them).
			var b strings.Builder
			fmt.Fprintf(&b, "*%s\n:%s - [0:0]\n", c.table, c.chain)
			for _, r := range rules {
				b.WriteString(r + "\n")
			}
			b.WriteString("COMMIT\n")
			cmd := exec.CommandContext(ctx, "iptables-restore", "-w", "10", "--noflush")
			cmd.Stdin = strings.NewReader(b.String())
			if out, err := cmd.CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("restore %s: %v: %s", c.chain, err, out))
			}
			continue
		}
		// The test agent made the chain: remove it and the jumps to it.
		out, _ := exec.CommandContext(ctx, "iptables", "-w", "10", "-t", c.table, "-S", c.from).Output()
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "-A "+c.from+" ") && strings.HasSuffix(line, "-j "+c.chain) {
				spec := "-t " + c.table + " -D" + strings.TrimPrefix(line, "-A")
				errs = append(errs, run(ctx, "sh", "-c", "iptables -w 10 "+spec))
			}
		}
		if exec.CommandContext(ctx, "iptables", "-w", "10", "-t", c.table, "-S", c.chain).Run() == nil {
			errs = append(errs, run(ctx, "iptables", "-w", "10", "-t", c.table, "-F", c.chain),
				run(ctx, "iptables", "-w", "10", "-t", c.table, "-X", c.chain))
		}
	}
	return errors.Join(errs...)
}

// rulesOf returns the "-A chain ..." lines of iptables -S output.
func rulesOf(out, chain string) []string {
	var rules []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "-A "+chain+" ") {
			rules = append(rules, l)
		}
	}
	return rules
}

func routeExists(ctx context.Context, dst string) bool {
	out, err := exec.CommandContext(ctx, "ip", "route", "show", "table", "main", "exact", dst).Output()
	if err == nil && strings.TrimSpace(string(out)) != "" {
		return true
	}
	out, err = exec.CommandContext(ctx, "ip", "route", "show", "type", "unreachable").Output()
	return err == nil && strings.Contains(string(out), dst)
}

// forceDeleteRunc force-deletes the runc containers left in root.
func forceDeleteRunc(root string) error {
	ids, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var errs []error
	for _, id := range ids {
		if out, err := exec.Command("runc", "--root", root, "delete", "--force", id.Name()).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("runc delete %s: %v: %s", id.Name(), err, out))
		}
	}
	return errors.Join(errs...)
}

func run(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
