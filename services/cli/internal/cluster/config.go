package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/gantry-dev/gantry/services/cli/internal/fsutil"
)

// Roles of a host of a multi-host cluster (gantry init / gantry join).
// A host without a config file runs the one-host cluster of gantry up.
const (
	RoleControlPlane = "control-plane"
	RoleWorker       = "worker"
)

// Config is what gantry init or gantry join decided for this host, kept
// in <state>/cluster.json so that a later gantry init, join or up (after
// a reboot), status and down act on the same cluster.
type Config struct {
	Role     string `json:"role"`
	NodeName string `json:"nodeName"`
	// AdvertiseAddress is this host's address on the network the hosts
	// share: the store's and API server's, the node's InternalIP.
	AdvertiseAddress string `json:"advertiseAddress"`
	// APIServers are the API servers the agent and the proxy use (the
	// local one first on a control-plane host).
	APIServers []string `json:"apiServers"`
	// InitialCluster and InitialClusterState start a new store member
	// (control plane only); a member with data ignores them.
	InitialCluster      string `json:"initialCluster,omitempty"`
	InitialClusterState string `json:"initialClusterState,omitempty"`
	// LearnerID is the store member still to be promoted to a voter.
	LearnerID uint64 `json:"learnerID,omitempty"`
	// Ingress runs gantry-ingress on this host.
	Ingress bool `json:"ingress,omitempty"`
	// SharedMachine: other nodes run on the same machine (network
	// namespaces): this host runs its own containerd under the state
	// directory with a namespace of its own, its pods' cgroups go under
	// /gantry-<node> and their logs under the state directory.
	SharedMachine bool `json:"sharedMachine,omitempty"`
}

const configName = "cluster.json"

// MultiHost reports whether this host belongs to a multi-host cluster
// (gantry init or join ran here).
func (c *Cluster) MultiHost() bool { return c.cfg != nil }

// loadConfig reads the state directory's config; none is (nil, nil).
func loadConfig(stateDir string) (*Config, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, configName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cfg Config
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(stateDir, configName), err)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(stateDir, configName), err)
	}
	return &cfg, nil
}

func (cfg *Config) validate() error {
	if cfg.Role != RoleControlPlane && cfg.Role != RoleWorker {
		return fmt.Errorf("role %q: want %s or %s", cfg.Role, RoleControlPlane, RoleWorker)
	}
	if ip := net.ParseIP(cfg.AdvertiseAddress); ip == nil || ip.IsLoopback() || ip.IsUnspecified() {
		return fmt.Errorf("advertise address %q: want this host's address other hosts reach it at", cfg.AdvertiseAddress)
	}
	if len(cfg.APIServers) == 0 {
		return errors.New("no API servers")
	}
	return nil
}

// save writes the config into the state directory.
func (c *Cluster) saveConfig(cfg *Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.l.StateDir, 0o755); err != nil {
		return err
	}
	if err := fsutil.ReplaceFile(filepath.Join(c.l.StateDir, configName), append(data, '\n')); err != nil {
		return err
	}
	c.cfg = cfg
	return nil
}
