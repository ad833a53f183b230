package nftables

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/knftables"

	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

// TableName is the table of the proxier whose chain prefix is prefix:
// "kube-proxy" for the default prefix "KUBE", as kube-proxy's.
func TableName(prefix string) string { return strings.ToLower(prefix) + "-proxy" }

var tableNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*-proxy$`)

// ValidTableName reports whether name is a table name this package
// makes and nft parses without quoting.
func ValidTableName(name string) bool { return tableNameRE.MatchString(name) }

// The fixed objects of the table (kube-proxy's names).
const (
	// Base chains, named type-hook.
	chainFilterInput         = "filter-input"
	chainFilterForward       = "filter-forward"
	chainFilterOutput        = "filter-output"
	chainFilterOutputPostNAT = "filter-output-post-dnat"
	chainNATPrerouting       = "nat-prerouting"
	chainNATOutput           = "nat-output"
	chainNATPostrouting      = "nat-postrouting"

	// Regular chains jumped to from the base chains.
	chainServices        = "services"
	chainServiceChecks   = "service-endpoints-check"
	chainNodePortChecks  = "nodeport-endpoints-check"
	chainClusterIPChecks = "cluster-ips-check"
	chainMasquerading    = "masquerading"
	chainMarkMasq        = "mark-for-masquerade"
	chainReject          = "reject-chain"

	// Maps and sets.
	mapServiceIPs          = "service-ips"
	mapServiceNodePorts    = "service-nodeports"
	mapNoEndpointServices  = "no-endpoint-services"
	mapNoEndpointNodePorts = "no-endpoint-nodeports"
	setClusterIPs          = "cluster-ips"
	setNodePortIPs         = "nodeport-ips"
	setHairpin             = "hairpin-endpoints"
)

// Per-service-port object kinds (name prefixes).
const (
	kindCluster  = "service-"  // traffic that may go to any endpoint
	kindLocal    = "local-"    // traffic that must stay on this node
	kindExternal = "external-" // NodePort, external and load balancer IPs
	kindEndpoint = "endpoint-" // DNAT to one endpoint (with ClientIP affinity)
	kindAffinity = "affinity-" // the clients recently sent to one endpoint

	// Endpoint maps: a random number to an endpoint, for the service-
	// and local- chains of Services without affinity.
	kindClusterEndpoints = "endpoints-"
	kindLocalEndpoints   = "local-endpoints-"
)

// maxBaseLen keeps every per-service name, prefix included, within
// nft's limit.
const maxBaseLen = knftables.NameLengthMax - 16

// hashAndTruncate is kube-proxy's: name behind the first 8 characters of
// its base32 SHA-256 (names of endpoints of one service differing in one
// digit stay easy to tell apart, and a truncated name stays unique).
func hashAndTruncate(name string) string {
	sum := sha256.Sum256([]byte(name))
	name = base32.StdEncoding.EncodeToString(sum[:])[:8] + "-" + name
	if len(name) > maxBaseLen {
		name = name[:maxBaseLen-3] + "..."
	}
	return name
}

// portBase is "HASH-namespace/name/protocol/port", as kube-proxy's
// (namespace, name and port name are DNS labels, so they are safe in an
// nft name; "/" keeps them apart and marks per-service chains).
func portBase(n proxy.ServicePortName) string {
	return hashAndTruncate(fmt.Sprintf("%s/%s/%s/%s", n.Namespace, n.Name, strings.ToLower(string(n.Protocol)), n.Port))
}

// endpointBase is portBase with "__ip/port" of the endpoint.
func endpointBase(n proxy.ServicePortName, ep proxy.Endpoint) string {
	return hashAndTruncate(fmt.Sprintf("%s/%s/%s/%s__%s/%d", n.Namespace, n.Name, strings.ToLower(string(n.Protocol)), n.Port, ep.IP, ep.Port))
}

// isServiceChain reports whether chain is a per-service-port or
// per-endpoint chain: only those have a "/" in their name.
func isServiceChain(chain string) bool { return strings.Contains(chain, "/") }

// isAffinitySet reports whether set is a per-endpoint affinity set.
func isAffinitySet(set string) bool { return strings.HasPrefix(set, kindAffinity) }

// isEndpointMap reports whether m is a per-service-port endpoint map.
func isEndpointMap(m string) bool {
	return strings.HasPrefix(m, kindClusterEndpoints) || strings.HasPrefix(m, kindLocalEndpoints)
}
