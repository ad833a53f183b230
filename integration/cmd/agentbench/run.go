package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/controlplane"
	"github.com/gantry-dev/gantry/libs/testutil/containerdtest"
)

// The agent's networks. They live in this program's own network namespace,
// but are kept apart from the defaults (10.244/16, 10.96/12) all the same.
const (
	clusterCIDR = "10.252.0.0/16"
	serviceCIDR = "10.253.0.0/16"
	clusterDNS  = "10.253.0.10"
)

func run(ctx context.Context, cfg config) (err error) {
	if err := setupNamespaces(); err != nil {
		return err
	}
	// A short path: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "gantry-abench-")
	if err != nil {
		return err
	}
	keep := false
	defer func() {
		if keep {
			logf("left %s for inspection", dir)
			return
		}
		if uerr := containerdtest.UnmountAll(dir); uerr != nil {
			err = errors.Join(err, uerr)
		}
		if rerr := os.RemoveAll(dir); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()

	suffix := cluster.RandomHex(3)
	node := "bench-" + suffix
	podCIDR := fmt.Sprintf("10.252.%d.0/24", 1+int(suffix[0])%250)

	logf("starting containerd, gantry-store, gantry-apiserver (in %s)", dir)
	c, err := containerdtest.Launch()
	if err != nil {
		return err
	}
	defer func() {
		if serr := c.Close(); serr != nil {
			err = errors.Join(err, fmt.Errorf("stop containerd: %w", serr))
		}
	}()
	flavor, err := cluster.LookupFlavor(cluster.Gantry)
	if err != nil {
		return err
	}
	store, err := cluster.Launch(ctx, cluster.Options{Flavor: flavor, Members: 1})
	if err != nil {
		return fmt.Errorf("start gantry-store: %w", err)
	}
	defer store.Close()
	nodeToken := cluster.RandomHex(16)
	cpDir := filepath.Join(dir, "cp")
	if err := os.MkdirAll(cpDir, 0o700); err != nil {
		return err
	}
	cp, err := controlplane.Launch(ctx, store, cpDir, controlplane.Options{
		Tokens: []string{fmt.Sprintf(`%s,system:node:%s,node-%s,"system:nodes"`, nodeToken, node, node)},
	})
	if err != nil {
		return fmt.Errorf("start gantry-apiserver: %w", err)
	}
	defer cp.Close()

	agentBin, err := cluster.Binary("agent", "gantry-agent")
	if err != nil {
		return err
	}
	loggerBin, err := cluster.Binary("agent", "gantry-logger")
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(cpDir, "agent.token")
	if err := os.WriteFile(tokenFile, []byte(nodeToken+"\n"), 0o600); err != nil {
		return err
	}
	ports, err := cluster.FreePorts(2)
	if err != nil {
		return err
	}
	healthz := "127.0.0.1:" + strconv.Itoa(ports[0])
	args := []string{
		"--hostname-override", node, "--node-ip", "127.0.0.1",
		"--api-servers", cp.Servers[0].URL, "--ca-file", cp.CAFile, "--token-file", tokenFile,
		"--ca-key-file", cp.CAKeyFile, "--client-ca-file", cp.CAFile,
		"--cluster-cidr", clusterCIDR, "--pod-cidr", podCIDR, "--service-cidr", serviceCIDR,
		"--cluster-dns", clusterDNS, "--bridge", "gbench" + suffix,
		"--root-dir", filepath.Join(dir, "agent"), "--pod-log-dir", filepath.Join(dir, "pod-logs"),
		"--healthz-address", healthz, "--address", "127.0.0.1:" + strconv.Itoa(ports[1]),
		"--containerd", c.Address, "--logger-binary", loggerBin,
	}
	agent := &cluster.Process{Name: "gantry-agent", LogPath: filepath.Join(dir, "agent.log")}
	logf("starting gantry-agent (node %s, pod CIDR %s, bridge gbench%s)", node, podCIDR, suffix)
	if err := agent.Start(agentBin, args); err != nil {
		return err
	}
	defer func() {
		if cfg.agentLog != "" {
			if b, rerr := os.ReadFile(agent.LogPath); rerr == nil {
				os.WriteFile(cfg.agentLog, b, 0o644)
			}
		}
		if serr := agent.Stop(15 * time.Second); serr != nil {
			err = errors.Join(err, fmt.Errorf("stop gantry-agent: %w", serr))
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "--- gantry-agent log (tail):\n%s\n", agent.LogTail(40))
		}
	}()

	kube, err := kubeClient(cp)
	if err != nil {
		return err
	}
	if err := waitAgentReady(ctx, agent, kube, node, healthz, c.Address, cfg.timeout); err != nil {
		return err
	}

	// The floor, while the agent idles.
	fl, err := newFloor(ctx, c.Address, c.RuncRoot)
	if err != nil {
		return err
	}
	defer fl.close()
	logf("floor: %d containers one after another", cfg.floor)
	seq, err := fl.sequential(ctx, cfg.floor)
	if err != nil {
		return fmt.Errorf("floor, sequential: %w", err)
	}
	logSummary("floor sequential", seq.perContainer, seq.total)
	logf("floor: %d containers at once", cfg.floor)
	burst, err := fl.burst(ctx, cfg.floor)
	if err != nil {
		return fmt.Errorf("floor, at once: %w", err)
	}
	logSummary("floor at once", burst.perContainer, burst.total)

	// The agent.
	logf("agent: %d pods at once", cfg.pods)
	ar, err := podBurst(ctx, kube, node, cfg.pods, cfg.timeout, c.Address)
	if err != nil {
		return fmt.Errorf("agent burst: %w", err)
	}

	printTable(os.Stdout, cfg, seq, burst, ar)
	return nil
}

func kubeClient(cp *controlplane.ControlPlane) (*kubernetes.Clientset, error) {
	return kubernetes.NewForConfig(&rest.Config{
		Host:            cp.Servers[0].URL,
		BearerToken:     cp.AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAFile: cp.CAFile},
		ContentConfig: rest.ContentConfig{
			ContentType:        "application/vnd.kubernetes.protobuf",
			AcceptContentTypes: "application/vnd.kubernetes.protobuf,application/json",
		},
		QPS:       -1,
		UserAgent: "agentbench",
	})
}

// waitAgentReady waits until the agent's /healthz answers, its Node is
// Ready and it has imported the built-in image into containerd.
func waitAgentReady(ctx context.Context, agent *cluster.Process, kube *kubernetes.Clientset, node, healthz, sock string, timeout time.Duration) error {
	client, err := containerd.New(sock)
	if err != nil {
		return err
	}
	defer client.Close()
	nsctx := namespaces.WithNamespace(ctx, agentNamespace)
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if err := agent.Crashed(); err != nil {
			return fmt.Errorf("gantry-agent exited: %v\n%s", err, agent.LogTail(40))
		}
		last = func() error {
			resp, err := http.Get("http://" + healthz + "/healthz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("/healthz: %s", resp.Status)
			}
			n, err := kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
			if err != nil {
				return err
			}
			ready := false
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready = true
				}
			}
			if !ready {
				return fmt.Errorf("node %s not Ready", node)
			}
			if _, err := client.GetImage(nsctx, image); err != nil {
				return fmt.Errorf("image %s: %w", image, err)
			}
			return nil
		}()
		if last == nil {
			logf("agent ready: node %s Ready, %s imported", node, image)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("agent not ready after %v: %v\n%s", timeout, last, agent.LogTail(40))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
