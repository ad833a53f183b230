package network

import (
	"encoding/json"
	"fmt"

	"github.com/containernetworking/cni/libcni"
)

// The conflist, as the plugins read it. Field names follow the plugins'
// documentation (containernetworking/plugins 1.1).
type (
	confList struct {
		CNIVersion string `json:"cniVersion"`
		Name       string `json:"name"`
		Plugins    []any  `json:"plugins"`
	}
	bridgeConf struct {
		Type        string   `json:"type"`
		Bridge      string   `json:"bridge"`
		IsGateway   bool     `json:"isGateway"`
		IPMasq      bool     `json:"ipMasq"`
		HairpinMode bool     `json:"hairpinMode"`
		MTU         int      `json:"mtu,omitempty"`
		IPAM        ipamConf `json:"ipam"`
	}
	ipamConf struct {
		Type    string          `json:"type"`
		DataDir string          `json:"dataDir"`
		Ranges  [][]ipamRange   `json:"ranges"`
		Routes  []ipamRouteConf `json:"routes"`
	}
	ipamRange struct {
		Subnet  string `json:"subnet"`
		Gateway string `json:"gateway"`
	}
	ipamRouteConf struct {
		Dst string `json:"dst"`
	}
	portmapConf struct {
		Type         string          `json:"type"`
		Capabilities map[string]bool `json:"capabilities"`
		// SNAT masquerades hairpin and node-local connections to a host
		// port, so the pod's reply returns through the DNAT.
		SNAT bool `json:"snat"`
	}
	loopbackConf struct {
		Type string `json:"type"`
	}
)

// confListBytes renders the conflist of cfg. The same bytes are written
// to disk by SetupNode and used for ADD, so what a reader sees in ConfDir
// is what the agent runs. Pods without host ports are set up with the
// same list less portmap (noPorts), which spares each of them portmap's
// iptables calls: in a burst of pods those serialise on the xtables lock.
func confListBytes(cfg Config, noPorts bool) ([]byte, error) {
	list := confList{
		CNIVersion: cniVersion,
		Name:       NetworkName,
		Plugins: []any{
			bridgeConf{
				Type:        "bridge",
				Bridge:      cfg.BridgeName,
				IsGateway:   true,
				IPMasq:      false, // GANTRY-POSTROUTING masquerades; see doc.go
				HairpinMode: cfg.HairpinMode,
				MTU:         cfg.MTU,
				IPAM: ipamConf{
					Type:    "host-local",
					DataDir: cfg.ipamDir(),
					Ranges:  [][]ipamRange{{{Subnet: cfg.PodCIDR.String(), Gateway: cfg.gateway().String()}}},
					Routes:  []ipamRouteConf{{Dst: "0.0.0.0/0"}},
				},
			},
			portmapConf{Type: "portmap", Capabilities: map[string]bool{"portMappings": true}, SNAT: true},
			// loopback passes the bridge's result through unchanged.
			loopbackConf{Type: "loopback"},
		},
	}
	if noPorts {
		list.Plugins = []any{list.Plugins[0], list.Plugins[2]}
	}
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// parseConfList parses conflist bytes, ours or a cached copy.
func parseConfList(b []byte) (*libcni.NetworkConfigList, error) {
	list, err := libcni.NetworkConfFromBytes(b)
	if err != nil {
		return nil, fmt.Errorf("parse CNI conflist: %w", err)
	}
	return list, nil
}
