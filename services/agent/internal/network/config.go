package network

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultCNIBinDir   = "/usr/lib/cni"
	DefaultConfDir     = "/etc/cni/net.d"
	DefaultCacheDir    = "/var/lib/cni"
	DefaultStateDir    = "/var/lib/gantry/network"
	DefaultBridgeName  = "gantry0"
	DefaultDummyDevice = "gantry-svc"
)

var (
	// DefaultClusterCIDR is the address range of all pods in the cluster.
	DefaultClusterCIDR = netip.MustParsePrefix("10.244.0.0/16")
	// DefaultServiceCIDR is the address range of Service ClusterIPs.
	DefaultServiceCIDR = netip.MustParsePrefix("10.96.0.0/12")
)

// Names fixed by this package.
const (
	// NetworkName is the CNI network name: it names the CNI cache entries,
	// the host-local IPAM directory and the portmap chains.
	NetworkName = "gantry"
	// ConfFile is the conflist SetupNode writes into Config.ConfDir.
	ConfFile = "10-gantry.conflist"
	// PodInterface is the pod's interface name.
	PodInterface = "eth0"
	// cniVersion is the newest version the CNI plugins 1.1.x accept.
	cniVersion = "1.0.0"
	// maxIfName is the kernel's limit on interface names (IFNAMSIZ-1).
	maxIfName = 15
)

// Config of the pod network of one node.
type Config struct {
	// CNIBinDirs are searched for the plugin binaries (default
	// /usr/lib/cni).
	CNIBinDirs []string
	// ConfDir receives the conflist (default /etc/cni/net.d).
	ConfDir string
	// CacheDir is libcni's result cache (default /var/lib/cni). It must
	// survive agent restarts: Setup, Teardown and the host-port registry
	// rely on it.
	CacheDir string
	// StateDir holds the host-local IPAM allocations in StateDir/ipam
	// (default /var/lib/gantry/network).
	StateDir string
	// BridgeName is the Linux bridge pods attach to (default gantry0).
	BridgeName string
	// ClusterCIDR holds every pod address of the cluster (default
	// 10.244.0.0/16).
	ClusterCIDR netip.Prefix
	// PodCIDR is this node's share of ClusterCIDR, e.g. 10.244.1.0/24;
	// its first address is the bridge's (the pods' gateway). Required.
	PodCIDR netip.Prefix
	// ServiceCIDR holds the Service ClusterIPs (default 10.96.0.0/12).
	ServiceCIDR netip.Prefix
	// DummyDevice receives the route for ServiceCIDR (default gantry-svc):
	// a dummy device, or an ifb device where the kernel has no dummy
	// driver.
	DummyDevice string
	// MTU of the bridge and the pods' interfaces; 0 leaves the plugin's
	// default (1500).
	MTU int
	// HairpinMode lets a pod reach itself through a Service or a host
	// port. The agent turns it on (its flag defaults to true).
	HairpinMode bool
	// NodeIP is the node's address (its InternalIP). It is validated and
	// logged; other nodes route this node's pod CIDR via it.
	NodeIP netip.Addr
	// Log receives the package's logs (default slog.Default()).
	Log *slog.Logger
}

// withDefaults returns cfg with zero fields defaulted, or an error
// saying which field is unusable.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.CNIBinDirs) == 0 {
		cfg.CNIBinDirs = []string{DefaultCNIBinDir}
	}
	if cfg.ConfDir == "" {
		cfg.ConfDir = DefaultConfDir
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = DefaultCacheDir
	}
	if cfg.StateDir == "" {
		cfg.StateDir = DefaultStateDir
	}
	if cfg.BridgeName == "" {
		cfg.BridgeName = DefaultBridgeName
	}
	if cfg.DummyDevice == "" {
		cfg.DummyDevice = DefaultDummyDevice
	}
	if !cfg.ClusterCIDR.IsValid() {
		cfg.ClusterCIDR = DefaultClusterCIDR
	}
	if !cfg.ServiceCIDR.IsValid() {
		cfg.ServiceCIDR = DefaultServiceCIDR
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return cfg, cfg.validate()
}

func (cfg Config) validate() error {
	var errs []error
	for _, d := range []struct{ name, value string }{
		{"ConfDir", cfg.ConfDir}, {"CacheDir", cfg.CacheDir}, {"StateDir", cfg.StateDir},
	} {
		if !filepath.IsAbs(d.value) {
			errs = append(errs, fmt.Errorf("%s %q is not an absolute path", d.name, d.value))
		}
	}
	for _, d := range []struct{ name, value string }{
		{"BridgeName", cfg.BridgeName}, {"DummyDevice", cfg.DummyDevice},
	} {
		if len(d.value) > maxIfName {
			errs = append(errs, fmt.Errorf("%s %q is longer than %d characters", d.name, d.value, maxIfName))
		}
	}
	if cfg.BridgeName == cfg.DummyDevice {
		errs = append(errs, fmt.Errorf("BridgeName and DummyDevice are both %q", cfg.BridgeName))
	}
	for _, p := range []struct {
		name   string
		prefix netip.Prefix
	}{
		{"ClusterCIDR", cfg.ClusterCIDR}, {"PodCIDR", cfg.PodCIDR}, {"ServiceCIDR", cfg.ServiceCIDR},
	} {
		switch {
		case !p.prefix.IsValid():
			errs = append(errs, fmt.Errorf("%s is required", p.name))
		case !p.prefix.Addr().Is4():
			errs = append(errs, fmt.Errorf("%s %s is not IPv4 (only IPv4 is supported)", p.name, p.prefix))
		case p.prefix != p.prefix.Masked():
			errs = append(errs, fmt.Errorf("%s %s has host bits set (did you mean %s?)", p.name, p.prefix, p.prefix.Masked()))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if cfg.PodCIDR.Bits() > 30 {
		errs = append(errs, fmt.Errorf("PodCIDR %s is too small (at most /30)", cfg.PodCIDR))
	}
	if !cfg.ClusterCIDR.Contains(cfg.PodCIDR.Addr()) || cfg.PodCIDR.Bits() < cfg.ClusterCIDR.Bits() {
		errs = append(errs, fmt.Errorf("PodCIDR %s is not inside ClusterCIDR %s", cfg.PodCIDR, cfg.ClusterCIDR))
	}
	if cfg.ServiceCIDR.Overlaps(cfg.ClusterCIDR) {
		errs = append(errs, fmt.Errorf("ServiceCIDR %s overlaps ClusterCIDR %s", cfg.ServiceCIDR, cfg.ClusterCIDR))
	}
	if cfg.MTU != 0 && (cfg.MTU < 576 || cfg.MTU > 65535) {
		errs = append(errs, fmt.Errorf("MTU %d is out of range", cfg.MTU))
	}
	if cfg.NodeIP.IsValid() && (cfg.ClusterCIDR.Contains(cfg.NodeIP) || cfg.ServiceCIDR.Contains(cfg.NodeIP)) {
		errs = append(errs, fmt.Errorf("NodeIP %s is inside the cluster or service CIDR", cfg.NodeIP))
	}
	return errors.Join(errs...)
}

// gateway is the bridge's address: the first host address of PodCIDR.
func (cfg Config) gateway() netip.Addr {
	return cfg.PodCIDR.Addr().Next()
}

// ipamDir is host-local's dataDir; it keeps one file per allocated
// address under ipamDir/NetworkName.
func (cfg Config) ipamDir() string {
	return filepath.Join(cfg.StateDir, "ipam")
}

func (cfg Config) confPath() string {
	return filepath.Join(cfg.ConfDir, ConfFile)
}
