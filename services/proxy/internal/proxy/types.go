package proxy

import (
	"fmt"
	"net/netip"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ServicePortName identifies one port of a Service.
type ServicePortName struct {
	types.NamespacedName
	// Port is the port's name ("" for a single unnamed port).
	Port     string
	Protocol corev1.Protocol
}

// String is kube-proxy's "namespace/name:port" ("namespace/name" for an
// unnamed port); it is what chain names are hashed from and what rule
// comments say.
func (n ServicePortName) String() string {
	if n.Port == "" {
		return n.NamespacedName.String()
	}
	return n.NamespacedName.String() + ":" + n.Port
}

// ServicePort is what the proxier needs of one port of a Service.
type ServicePort struct {
	Name      ServicePortName
	ClusterIP netip.Addr
	Port      int32
	Protocol  corev1.Protocol
	// NodePort is 0 when the port has none.
	NodePort        int32
	ExternalIPs     []netip.Addr
	LoadBalancerIPs []netip.Addr
	// AffinitySeconds > 0 means sessionAffinity ClientIP with that
	// timeout.
	AffinitySeconds int32
	// ExternalPolicyLocal and InternalPolicyLocal are
	// externalTrafficPolicy and internalTrafficPolicy Local.
	ExternalPolicyLocal bool
	InternalPolicyLocal bool
}

// ExternallyAccessible reports whether traffic from outside the cluster
// can reach the port: through a NodePort, an external IP or a load
// balancer IP.
func (p *ServicePort) ExternallyAccessible() bool {
	return p.NodePort > 0 || len(p.ExternalIPs) > 0 || len(p.LoadBalancerIPs) > 0
}

// UsesClusterEndpoints reports whether some traffic to the port may go
// to any endpoint in the cluster.
func (p *ServicePort) UsesClusterEndpoints() bool {
	return !p.InternalPolicyLocal || (p.ExternallyAccessible() && !p.ExternalPolicyLocal)
}

// UsesLocalEndpoints reports whether some traffic to the port may only go
// to endpoints on this node.
func (p *ServicePort) UsesLocalEndpoints() bool {
	return p.InternalPolicyLocal || (p.ExternallyAccessible() && p.ExternalPolicyLocal)
}

// Endpoint is one backend address of a ServicePort.
type Endpoint struct {
	IP   netip.Addr
	Port int32
	// The EndpointSlice conditions (Serving defaults to Ready, Ready to
	// true, Terminating to false).
	Ready, Serving, Terminating bool
	// Local is set when the endpoint's nodeName is this node.
	Local bool
}

// String is "ip:port".
func (e Endpoint) String() string {
	return netip.AddrPortFrom(e.IP, uint16(e.Port)).String()
}

// validPort reports whether p is a usable TCP/UDP/SCTP port number.
func validPort(p int32) bool { return p > 0 && p <= 65535 }

// supportedProtocol reports whether the proxier can program p.
func supportedProtocol(p corev1.Protocol) bool {
	switch p {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return true
	}
	return false
}

func portString(p int32) string { return strconv.Itoa(int(p)) }

// Problem is a part of a Service or EndpointSlice the proxier skipped,
// with the reason, for a log line or an Event.
type Problem struct {
	Service types.NamespacedName
	Reason  string
	Message string
}

func (p Problem) Error() string { return fmt.Sprintf("%s: %s", p.Service, p.Message) }
