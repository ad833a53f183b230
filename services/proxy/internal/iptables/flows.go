package iptables

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

// staleFlows returns the UDP conntrack entries to flush when a Service
// goes from old to new (either may be nil). UDP has no connection to
// end, so an entry DNATed to an endpoint that is gone would keep sending
// a client's datagrams into the void; and an entry made while the
// Service had no endpoint (REJECTed, not DNATed) would keep the client
// from ever reaching the new one.
func staleFlows(old, new *entry) []Flow {
	var flows []Flow
	newPorts := map[proxy.ServicePortName]*proxy.ServicePort{}
	if new != nil {
		for _, sp := range new.ports {
			newPorts[sp.Name] = sp
		}
	}
	oldPorts := map[proxy.ServicePortName]*proxy.ServicePort{}
	if old != nil {
		for _, sp := range old.ports {
			oldPorts[sp.Name] = sp
		}
	}
	// Endpoints that went away.
	for name, sp := range oldPorts {
		if sp.Protocol != corev1.ProtocolUDP {
			continue
		}
		now := map[string]bool{}
		if nsp, ok := newPorts[name]; ok {
			for _, e := range usable(nsp, new.eps[name]) {
				now[e.IP.String()] = true
			}
		}
		for _, e := range usable(sp, old.eps[name]) {
			if now[e.IP.String()] {
				continue
			}
			flows = append(flows, Flow{Protocol: "udp", OrigDst: sp.ClusterIP, OrigPort: sp.Port, DNATTo: e.IP})
			for _, ip := range append(append([]netip.Addr{}, sp.ExternalIPs...), sp.LoadBalancerIPs...) {
				flows = append(flows, Flow{Protocol: "udp", OrigDst: ip, OrigPort: sp.Port, DNATTo: e.IP})
			}
			if sp.NodePort > 0 {
				flows = append(flows, Flow{Protocol: "udp", NodePort: sp.NodePort, DNATTo: e.IP})
			}
		}
	}
	// Ports that got their first endpoint.
	for name, sp := range newPorts {
		if sp.Protocol != corev1.ProtocolUDP || len(usable(sp, new.eps[name])) == 0 {
			continue
		}
		if osp, ok := oldPorts[name]; ok && len(usable(osp, old.eps[name])) > 0 {
			continue
		}
		flows = append(flows, Flow{Protocol: "udp", OrigDst: sp.ClusterIP, OrigPort: sp.Port})
		if sp.NodePort > 0 {
			flows = append(flows, Flow{Protocol: "udp", NodePort: sp.NodePort})
		}
	}
	return flows
}

// usable returns the endpoints traffic to sp can be sent to.
func usable(sp *proxy.ServicePort, eps []proxy.Endpoint) []proxy.Endpoint {
	cluster, local, _ := proxy.Categorize(sp, eps)
	if len(local) == 0 {
		return cluster
	}
	seen := map[string]bool{}
	var out []proxy.Endpoint
	for _, e := range append(append([]proxy.Endpoint{}, cluster...), local...) {
		if !seen[e.String()] {
			seen[e.String()] = true
			out = append(out, e)
		}
	}
	return out
}
