package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"

	"github.com/gantry-dev/gantry/services/agent/internal/cgroups"
	"github.com/gantry-dev/gantry/services/agent/internal/network"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	ctrd "github.com/gantry-dev/gantry/services/agent/internal/runtime/containerd"
	"github.com/gantry-dev/gantry/services/agent/internal/volumes"
)

// CleanupNode removes what an agent run with cfg leaves on this host once
// it has stopped, in the order the agent tears a pod down: the
// containers of its containerd namespace (stopped, then deleted with
// their tasks and snapshots), the pod networking
// (network.Network.CleanupNode: the pods still in its CNI cache, the
// iptables chains, the host-gw and cluster routes, the service dummy
// device, the bridge, the conflist and the IPAM state), and the pods'
// sandboxes (volumes unmounted, namespaces and shm released, directories
// removed, their cgroups under --cgroup-root removed). It needs no API server and is harmless when nothing is
// there. It goes on after a failed step and returns every error.
//
// Without --pod-cidr the cluster CIDR stands in: the pod range only
// shapes what is set up, not what is removed.
func CleanupNode(ctx context.Context, cfg *Config) error {
	cfg.withDefaults()
	nw, err := nodeNetwork(cfg)
	if err != nil {
		return err
	}
	return cleanupPods(ctx, cfg, nw.CleanupNode)
}

// cleanupPods stops and deletes every container of the agent's
// containerd namespace, then calls between (if not nil; CleanupNode
// removes the networking there, while the pods' network namespaces are
// still in place), then tears down the pods' volumes and removes their
// sandboxes. Without containerd only between runs.
func cleanupPods(ctx context.Context, cfg *Config, between func(context.Context) error) error {
	if between == nil {
		between = func(context.Context) error { return nil }
	}
	rt, err := cleanupRuntime(ctx, cfg)
	if err != nil || rt == nil {
		return errors.Join(err, between(ctx))
	}
	defer rt.Close()
	busy, err := stopContainers(ctx, rt, cfg)
	return errors.Join(err, between(ctx), removeSandboxes(ctx, rt, busy, cfg))
}

// cleanupRuntime connects to the agent's containerd. It returns nil and
// no error when there is nothing to connect to: a fake runtime, or no
// socket (containerd is not running, so there is no task to stop).
func cleanupRuntime(ctx context.Context, cfg *Config) (*ctrd.Runtime, error) {
	if cfg.Runtime != "containerd" {
		return nil, nil
	}
	if _, err := os.Stat(cfg.Containerd); errors.Is(err, os.ErrNotExist) {
		cfg.Log.Warn("containerd is not running: its containers, if any, are not stopped and the pods' sandboxes stay",
			"containerd", cfg.Containerd)
		return nil, nil
	}
	rt, err := ctrd.New(ctx, runtimeConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("clean up pods: %w", err)
	}
	return rt, nil
}

// stopContainers stops every container (its stop signal, then SIGKILL
// after cfg.CleanupGrace), all at once, and deletes it. It returns the
// pods whose containers could not be removed.
func stopContainers(ctx context.Context, rt runtime.Runtime, cfg *Config) (busy map[string]bool, err error) {
	cs, err := rt.ListContainers(ctx)
	if err != nil {
		return nil, fmt.Errorf("clean up pods: %w", err)
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	busy = map[string]bool{}
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := rt.StopContainer(ctx, c.ID, cfg.CleanupGrace)
			if err == nil {
				err = rt.RemoveContainer(ctx, c.ID)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && !errors.Is(err, runtime.ErrNotFound) {
				errs = append(errs, err)
				busy[c.PodUID] = true
				return
			}
			cfg.Log.Info("removed container", "pod", c.Labels[runtime.LabelPodNamespace]+"/"+c.Labels[runtime.LabelPodName],
				"container", c.Name, "id", c.ID)
		}()
	}
	wg.Wait()
	return busy, errors.Join(errs...)
}

// removeSandboxes tears down the volumes of every pod but the busy ones
// and removes their sandboxes and cgroups.
func removeSandboxes(ctx context.Context, rt runtime.Runtime, busy map[string]bool, cfg *Config) error {
	sbs, err := rt.ListSandboxes(ctx)
	if err != nil {
		return fmt.Errorf("clean up pods: %w", err)
	}
	cg, err := cgroups.New(cgroups.Config{Parent: cfg.CgroupRoot, Log: cfg.Log})
	if err != nil {
		return fmt.Errorf("clean up pods: --cgroup-root: %w", err)
	}
	vm := volumes.New(volumes.Config{Log: cfg.Log})
	var errs []error
	for _, sb := range sbs {
		if busy[sb.PodUID] {
			errs = append(errs, fmt.Errorf("sandbox of pod %s/%s (%s) stays: a container of it could not be removed",
				sb.Namespace, sb.Name, sb.PodUID))
			continue
		}
		if err := vm.Teardown(sb.Dir); err != nil {
			errs = append(errs, fmt.Errorf("volumes of pod %s/%s (%s): %w", sb.Namespace, sb.Name, sb.PodUID, err))
			continue
		}
		if err := rt.RemoveSandbox(ctx, sb.PodUID); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := cg.Remove(sb.PodUID); err != nil {
			errs = append(errs, fmt.Errorf("pod %s/%s (%s): %w", sb.Namespace, sb.Name, sb.PodUID, err))
			continue
		}
		cfg.Log.Info("removed pod sandbox", "pod", sb.Namespace+"/"+sb.Name, "uid", sb.PodUID)
	}
	return errors.Join(errs...)
}

// nodeNetwork is the pod network an agent run with cfg set up, for
// CleanupNode.
func nodeNetwork(cfg *Config) (*network.Network, error) {
	clusterCIDR, err := netip.ParsePrefix(cfg.ClusterCIDR)
	if err != nil {
		return nil, fmt.Errorf("--cluster-cidr: %w", err)
	}
	serviceCIDR, err := netip.ParsePrefix(cfg.ServiceCIDR)
	if err != nil {
		return nil, fmt.Errorf("--service-cidr: %w", err)
	}
	podCIDR := clusterCIDR
	if cfg.PodCIDR != "" {
		if podCIDR, err = netip.ParsePrefix(cfg.PodCIDR); err != nil {
			return nil, fmt.Errorf("--pod-cidr: %w", err)
		}
	}
	return network.New(network.Config{
		CNIBinDirs: []string{cfg.CNIBinDir}, ConfDir: cfg.CNIConfDir,
		CacheDir: filepath.Join(cfg.RootDir, "cni-cache"), StateDir: filepath.Join(cfg.RootDir, "network"),
		BridgeName: cfg.BridgeName, ClusterCIDR: clusterCIDR, PodCIDR: podCIDR, ServiceCIDR: serviceCIDR,
		Log: cfg.Log,
	})
}
