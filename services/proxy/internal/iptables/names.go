package iptables

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"

	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

// Names are the chains of one proxier: kube-proxy's names under a
// prefix ("KUBE" by default, so KUBE-SERVICES, KUBE-SVC-<hash>, ...).
type Names struct {
	Prefix string

	Services, ExternalServices, NodePorts, Postrouting, MarkMasq, Forward, Firewall string
}

// MaxPrefixLen keeps every chain name within iptables' 28 characters.
const MaxPrefixLen = 6

// NewNames returns the chain names under prefix.
func NewNames(prefix string) Names {
	p := prefix + "-"
	return Names{
		Prefix:           prefix,
		Services:         p + "SERVICES",
		ExternalServices: p + "EXTERNAL-SERVICES",
		NodePorts:        p + "NODEPORTS",
		Postrouting:      p + "POSTROUTING",
		MarkMasq:         p + "MARK-MASQ",
		Forward:          p + "FORWARD",
		Firewall:         p + "FIREWALL",
	}
}

// Per-service-port chain kinds.
const (
	kindCluster  = "SVC" // traffic that may go to any endpoint
	kindLocal    = "SVL" // traffic that must stay on this node
	kindExternal = "EXT" // NodePort, external and load balancer IPs
	kindEndpoint = "SEP" // DNAT to one endpoint
)

// hash is kube-proxy's: the first 16 characters of the base32 SHA-256
// of the service port name and protocol (and the endpoint), so a chain's
// name stays the same across restarts and nodes.
func hash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "")))
	return base32.StdEncoding.EncodeToString(sum[:])[:16]
}

func (n Names) servicePortChain(kind string, name proxy.ServicePortName) string {
	return n.Prefix + "-" + kind + "-" + hash(name.String(), strings.ToLower(string(name.Protocol)))
}

func (n Names) endpointChain(name proxy.ServicePortName, ep proxy.Endpoint) string {
	return n.Prefix + "-" + kindEndpoint + "-" + hash(name.String(), strings.ToLower(string(name.Protocol)), ep.String())
}

// owned reports whether chain is one this proxier makes (and so may
// delete).
func (n Names) owned(chain string) bool {
	switch chain {
	case n.Services, n.ExternalServices, n.NodePorts, n.Postrouting, n.MarkMasq, n.Forward, n.Firewall:
		return true
	}
	for _, k := range []string{kindCluster, kindLocal, kindExternal, kindEndpoint} {
		if strings.HasPrefix(chain, n.Prefix+"-"+k+"-") {
			return true
		}
	}
	return false
}

// perService reports whether chain is a per-service-port or endpoint
// chain (as opposed to a top-level one).
func (n Names) perService(chain string) bool {
	return n.owned(chain) && !n.topLevel(chain)
}

func (n Names) topLevel(chain string) bool {
	switch chain {
	case n.Services, n.ExternalServices, n.NodePorts, n.Postrouting, n.MarkMasq, n.Forward, n.Firewall:
		return true
	}
	return false
}
