package agent

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"

	"github.com/gantry-dev/gantry/services/agent/internal/network"
)

// CleanupNode removes the pod networking an agent run with cfg set up on
// this host: the pods still in its CNI cache, the iptables chains, the
// host-gw and cluster routes, the service dummy device, the bridge, the
// conflist and the IPAM state (network.Network.CleanupNode). It needs no
// API server and is harmless when nothing is there. Without --pod-cidr
// the cluster CIDR stands in: the pod range only shapes what is set up,
// not what is removed.
func CleanupNode(ctx context.Context, cfg *Config) error {
	cfg.withDefaults()
	clusterCIDR, err := netip.ParsePrefix(cfg.ClusterCIDR)
	if err != nil {
		return fmt.Errorf("--cluster-cidr: %w", err)
	}
	serviceCIDR, err := netip.ParsePrefix(cfg.ServiceCIDR)
	if err != nil {
		return fmt.Errorf("--service-cidr: %w", err)
	}
	podCIDR := clusterCIDR
	if cfg.PodCIDR != "" {
		if podCIDR, err = netip.ParsePrefix(cfg.PodCIDR); err != nil {
			return fmt.Errorf("--pod-cidr: %w", err)
		}
	}
	nw, err := network.New(network.Config{
		CNIBinDirs: []string{cfg.CNIBinDir}, ConfDir: cfg.CNIConfDir,
		CacheDir: filepath.Join(cfg.RootDir, "cni-cache"), StateDir: filepath.Join(cfg.RootDir, "network"),
		BridgeName: cfg.BridgeName, ClusterCIDR: clusterCIDR, PodCIDR: podCIDR, ServiceCIDR: serviceCIDR,
		Log: cfg.Log,
	})
	if err != nil {
		return err
	}
	return nw.CleanupNode(ctx)
}
