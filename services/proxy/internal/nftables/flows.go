package nftables

import (
	"context"
	"errors"
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/proxy/internal/iptables"
	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

// staleFlows returns the UDP conntrack entries to flush when a Service
// goes from old to new (either may be nil), as the iptables mode does:
// entries DNATed to an endpoint that is gone, and entries made while a
// port had no endpoint (rejected, so never DNATed) once it has one.
func staleFlows(old, new *entry) []iptables.Flow {
	ports := func(e *entry) map[proxy.ServicePortName]*proxy.ServicePort {
		m := map[proxy.ServicePortName]*proxy.ServicePort{}
		if e != nil {
			for _, sp := range e.ports {
				m[sp.Name] = sp
			}
		}
		return m
	}
	oldPorts, newPorts := ports(old), ports(new)
	var flows []iptables.Flow
	for _, sp := range old.portList() {
		if sp.Protocol != corev1.ProtocolUDP {
			continue
		}
		now := map[netip.Addr]bool{}
		if nsp, ok := newPorts[sp.Name]; ok {
			for _, e := range usable(nsp, new.eps[sp.Name]) {
				now[e.IP] = true
			}
		}
		for _, e := range usable(sp, old.eps[sp.Name]) {
			if now[e.IP] {
				continue
			}
			flows = append(flows, iptables.Flow{Protocol: "udp", OrigDst: sp.ClusterIP, OrigPort: sp.Port, DNATTo: e.IP})
			for _, ip := range append(append([]netip.Addr{}, sp.ExternalIPs...), sp.LoadBalancerIPs...) {
				flows = append(flows, iptables.Flow{Protocol: "udp", OrigDst: ip, OrigPort: sp.Port, DNATTo: e.IP})
			}
			if sp.NodePort > 0 {
				flows = append(flows, iptables.Flow{Protocol: "udp", NodePort: sp.NodePort, DNATTo: e.IP})
			}
		}
	}
	for _, sp := range new.portList() {
		if sp.Protocol != corev1.ProtocolUDP || len(usable(sp, new.eps[sp.Name])) == 0 {
			continue
		}
		if osp, ok := oldPorts[sp.Name]; ok && len(usable(osp, old.eps[sp.Name])) > 0 {
			continue
		}
		flows = append(flows, iptables.Flow{Protocol: "udp", OrigDst: sp.ClusterIP, OrigPort: sp.Port})
		if sp.NodePort > 0 {
			flows = append(flows, iptables.Flow{Protocol: "udp", NodePort: sp.NodePort})
		}
	}
	return flows
}

// usable returns the endpoints traffic to sp can be sent to.
func usable(sp *proxy.ServicePort, eps []proxy.Endpoint) []proxy.Endpoint {
	cluster, local, _ := proxy.Categorize(sp, eps)
	seen := map[proxy.Endpoint]bool{}
	var out []proxy.Endpoint
	for _, e := range append(append([]proxy.Endpoint{}, cluster...), local...) {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

func (p *Proxier) flushFlows(ctx context.Context, flows []iptables.Flow) {
	if p.cfg.Conntrack == nil || len(flows) == 0 {
		return
	}
	var errs []error
	for _, f := range flows {
		errs = append(errs, p.cfg.Conntrack.Delete(ctx, f))
	}
	if err := errors.Join(errs...); err != nil {
		p.cfg.Log.Warn("could not flush stale UDP conntrack entries", "err", err)
	} else {
		p.cfg.Log.Debug("flushed stale UDP conntrack entries", "flows", len(flows))
	}
}
