package iptables

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

// staleFlows returns the conntrack entries to flush when a Service goes
// from old to new (either may be nil); see StaleFlows.
func staleFlows(old, new *entry) []Flow {
	var oldPorts, newPorts []*proxy.ServicePort
	var oldEps, newEps proxy.EndpointsMap
	if old != nil {
		oldPorts, oldEps = old.ports, old.eps
	}
	if new != nil {
		newPorts, newEps = new.ports, new.eps
	}
	return StaleFlows(oldPorts, oldEps, newPorts, newEps)
}

// StaleFlows returns the conntrack entries to flush when a Service's ports
// and endpoints go from old to new (either may be empty), in port order.
// UDP has no connection to end, so an entry DNATed to an endpoint that is
// gone would keep sending a client's datagrams into the void; and an
// entry made while the Service had no endpoint (rejected, not DNATed)
// would keep the client from ever reaching the new one. For TCP only the
// connections still waiting for the first answer from an endpoint that is
// gone (SYN_SENT, for up to two minutes): a new connection that happens
// to reuse one's source port would match it as a retransmission and
// follow it to the lost endpoint instead of being balanced anew, and time
// out. Established connections are left to end as they do. Both proxy
// modes use it.
func StaleFlows(oldPorts []*proxy.ServicePort, oldEps proxy.EndpointsMap, newPorts []*proxy.ServicePort, newEps proxy.EndpointsMap) []Flow {
	var flows []Flow
	byName := func(ports []*proxy.ServicePort) map[proxy.ServicePortName]*proxy.ServicePort {
		m := make(map[proxy.ServicePortName]*proxy.ServicePort, len(ports))
		for _, sp := range ports {
			m[sp.Name] = sp
		}
		return m
	}
	oldByName, newByName := byName(oldPorts), byName(newPorts)
	// Endpoints that went away.
	for _, sp := range oldPorts {
		var proto string
		switch sp.Protocol {
		case corev1.ProtocolUDP:
			proto = "udp"
		case corev1.ProtocolTCP:
			proto = "tcp"
		default:
			continue
		}
		unreplied := proto == "tcp"
		now := map[netip.Addr]bool{}
		if nsp, ok := newByName[sp.Name]; ok {
			for _, e := range usable(nsp, newEps[sp.Name]) {
				now[e.IP] = true
			}
		}
		for _, e := range usable(sp, oldEps[sp.Name]) {
			if now[e.IP] {
				continue
			}
			flows = append(flows, Flow{Protocol: proto, OrigDst: sp.ClusterIP, OrigPort: sp.Port, DNATTo: e.IP, Unreplied: unreplied})
			for _, ip := range append(append([]netip.Addr{}, sp.ExternalIPs...), sp.LoadBalancerIPs...) {
				flows = append(flows, Flow{Protocol: proto, OrigDst: ip, OrigPort: sp.Port, DNATTo: e.IP, Unreplied: unreplied})
			}
			if sp.NodePort > 0 {
				flows = append(flows, Flow{Protocol: proto, NodePort: sp.NodePort, DNATTo: e.IP, Unreplied: unreplied})
			}
		}
	}
	// Ports that got their first endpoint.
	for _, sp := range newPorts {
		if sp.Protocol != corev1.ProtocolUDP || len(usable(sp, newEps[sp.Name])) == 0 {
			continue
		}
		if osp, ok := oldByName[sp.Name]; ok && len(usable(osp, oldEps[sp.Name])) > 0 {
			continue
		}
		flows = append(flows, Flow{Protocol: "udp", OrigDst: sp.ClusterIP, OrigPort: sp.Port})
		if sp.NodePort > 0 {
			flows = append(flows, Flow{Protocol: "udp", NodePort: sp.NodePort})
		}
	}
	return flows
}

// FlushFlows deletes flows' conntrack entries with ct (none without ct),
// logging what could not be deleted: a flow left is a nuisance, not a
// reason to fail a sync.
func FlushFlows(ctx context.Context, ct Conntrack, log *slog.Logger, flows []Flow) {
	if ct == nil || len(flows) == 0 {
		return
	}
	var errs []error
	for _, f := range flows {
		errs = append(errs, ct.Delete(ctx, f))
	}
	if err := errors.Join(errs...); err != nil {
		log.Warn("could not flush stale conntrack entries", "err", err)
	} else {
		log.Debug("flushed stale conntrack entries", "flows", len(flows))
	}
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
