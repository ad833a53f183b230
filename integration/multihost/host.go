package multihost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/libs/testutil/containerdtest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Host is one simulated worker: a network namespace with a containerd,
// a gantry-agent whose Node is Name and, with Options.Proxy, a
// gantry-proxy.
type Host struct {
	Machine
	// Dir holds the host's containerd, agent state, pod logs and logs.
	Dir string
	// HealthzURL is the agent's /healthz, reachable from the root
	// namespace.
	HealthzURL string
	// Token authenticates as system:node:<Name>.
	Token string
	// ProxyMetricsURL is the host's gantry-proxy /metrics, reachable
	// from the root namespace (with Options.Proxy).
	ProxyMetricsURL string
	// Agent is the host's gantry-agent; Proxy its gantry-proxy (nil
	// without Options.Proxy). Tests may stop, kill, pause and restart
	// them.
	Agent, Proxy *Daemon

	kube   kubernetes.Interface
	ctrd   *hostContainerd
	relays []*relay
	closed bool
}

// StartProcess runs binary with args as a daemon in the host's network
// namespace, its output in <Dir>/<name>.log, and stops it when tb ends
// (printing its log if tb failed). The daemon reaches the API servers at
// Cluster.APIServers.
func (h *Host) StartProcess(tb testing.TB, name, binary string, args []string) *Daemon {
	tb.Helper()
	d, err := newDaemon(name, &h.Machine, filepath.Join(h.Dir, name+"-"+cluster.RandomHex(3)+".log"), binary, args)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("--- log of %s:\n%s", d.Name, d.LogTail(60))
		}
		if err := d.Stop(30 * time.Second); err != nil {
			tb.Errorf("stop %s: %v", d.Name, err)
		}
	})
	return d
}

// cgroupRoot is the agent's --cgroup-root.
func (h *Host) cgroupRoot() string { return "/" + h.Name }

// AgentLogTail returns the last lines of the agent's log.
func (h *Host) AgentLogTail(lines int) string {
	if h.Agent == nil {
		return "(no agent started)"
	}
	return h.Agent.LogTail(lines)
}

// AgentHealthy returns nil if the agent runs and its /healthz answers.
func (h *Host) AgentHealthy() error {
	if err := h.Agent.Crashed(); err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(h.HealthzURL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s: %s", h.HealthzURL, resp.Status, b)
	}
	return nil
}

// PodCIDR is the Node's spec.podCIDR.
func (h *Host) PodCIDR(ctx context.Context) (string, error) {
	n, err := h.kube.CoreV1().Nodes().Get(ctx, h.Name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return n.Spec.PodCIDR, nil
}

// launch starts the host's relays, containerd and agent.
func (h *Host) launch(ctx context.Context, c *Cluster, extra []string) error {
	h.kube = c.Kube
	for _, s := range c.CP.Servers {
		if len(c.ControlHosts) > 0 {
			break // the API servers are on the link
		}
		r, err := newRelay(h.Netns, "127.0.0.1:"+strconv.Itoa(s.Port))
		if err != nil {
			return fmt.Errorf("relay the API server into %s: %w", h.Netns, err)
		}
		h.relays = append(h.relays, r)
	}
	var err error
	if h.ctrd, err = startContainerd(ctx, h, filepath.Join(h.Dir, "containerd")); err != nil {
		return err
	}
	agent, err := cluster.Binary("agent", "gantry-agent")
	if err != nil {
		return err
	}
	logger, err := cluster.Binary("agent", "gantry-logger")
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(h.Dir, "agent.token")
	if err := os.WriteFile(tokenFile, []byte(h.Token+"\n"), 0o600); err != nil {
		return err
	}
	ports, err := cluster.FreePorts(2)
	if err != nil {
		return err
	}
	healthz := h.IP.String() + ":" + strconv.Itoa(ports[0])
	h.HealthzURL = "http://" + healthz + "/healthz"
	args := append([]string{
		"--hostname-override", h.Name,
		"--node-ip", h.IP.String(),
		"--api-servers", c.APIServers,
		"--ca-file", c.CP.CAFile, "--token-file", tokenFile,
		"--ca-key-file", c.CP.CAKeyFile, "--client-ca-file", c.CP.CAFile,
		"--containerd", h.ctrd.address, "--containerd-namespace", h.ctrd.namespace,
		"--logger-binary", logger,
		"--root-dir", filepath.Join(h.Dir, "root"), "--pod-log-dir", filepath.Join(h.Dir, "pods"),
		// The hosts share the machine's cgroups: each agent has a parent
		// of its own, or it would sweep the other's pod cgroups.
		"--cgroup-root", h.cgroupRoot(),
		"--cluster-cidr", ClusterCIDR, "--service-cidr", ServiceCIDR, "--cluster-dns", ClusterDNS,
		"--address", h.IP.String() + ":" + strconv.Itoa(ports[1]),
		"--healthz-address", healthz,
	}, extra...)
	h.Agent, err = newDaemon("agent", &h.Machine, filepath.Join(h.Dir, "agent.log"), agent, args)
	return err
}

// ready reports why the host is not ready yet: the agent must be
// healthy, the Node Ready with a pod CIDR.
func (h *Host) ready(ctx context.Context) error {
	if err := h.AgentHealthy(); err != nil {
		return err
	}
	n, err := h.kube.CoreV1().Nodes().Get(ctx, h.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if n.Spec.PodCIDR == "" {
		return fmt.Errorf("node %s has no spec.podCIDR yet", h.Name)
	}
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
			return nil
		}
	}
	return fmt.Errorf("node %s is not Ready", h.Name)
}

// close stops the agent, removes the containers and containerd, unmounts
// what is left under Dir (pod namespaces, volumes, snapshots), stops the
// relays and removes Dir. The namespace goes with the lan.
func (h *Host) close() error {
	if h.closed {
		return nil
	}
	h.closed = true
	var errs []error
	if h.Agent != nil {
		if err := h.Agent.Stop(30 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if h.ctrd != nil {
		if err := h.ctrd.close(); err != nil {
			errs = append(errs, fmt.Errorf("containerd of %s: %w", h.Name, err))
		}
	}
	if h.Dir != "" {
		errs = append(errs, containerdtest.UnmountAll(h.Dir))
		containerdtest.RemoveCgroup(h.cgroupRoot())
	}
	for _, r := range h.relays {
		errs = append(errs, r.close())
	}
	if h.Dir != "" {
		errs = append(errs, os.RemoveAll(h.Dir))
	}
	return errors.Join(errs...)
}
