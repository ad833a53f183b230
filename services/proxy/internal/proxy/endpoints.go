package proxy

import (
	"cmp"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// EndpointsMap is the endpoints of each port of one Service.
type EndpointsMap map[ServicePortName][]Endpoint

// Endpoints merges the EndpointSlices of one Service into endpoints per
// port: only IPv4 slices, the first address of each endpoint, ports
// matched by name and protocol. An address listed twice (an endpoint
// moving between slices) counts once, ready if either copy is. Each list
// is sorted by address.
func Endpoints(list []*discoveryv1.EndpointSlice, nodeName string) EndpointsMap {
	type key struct {
		name ServicePortName
		addr netip.AddrPort
	}
	merged := map[key]Endpoint{}
	for _, s := range list {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		svc, ok := s.Labels[discoveryv1.LabelServiceName]
		if !ok || svc == "" {
			continue
		}
		for _, p := range s.Ports {
			if p.Port == nil || !validPort(*p.Port) {
				continue
			}
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			name := ServicePortName{Port: deref(p.Name), Protocol: proto}
			name.Namespace, name.Name = s.Namespace, svc
			for _, e := range s.Endpoints {
				ep, ok := endpointOf(e, *p.Port, nodeName)
				if !ok {
					continue
				}
				k := key{name, netip.AddrPortFrom(ep.IP, uint16(ep.Port))}
				if old, dup := merged[k]; dup {
					ep.Ready = ep.Ready || old.Ready
					ep.Serving = ep.Serving || old.Serving
					ep.Terminating = ep.Terminating && old.Terminating
					ep.Local = ep.Local || old.Local
				}
				merged[k] = ep
			}
		}
	}
	out := EndpointsMap{}
	for k, ep := range merged {
		out[k.name] = append(out[k.name], ep)
	}
	for _, eps := range out {
		slices.SortFunc(eps, func(a, b Endpoint) int {
			if c := a.IP.Compare(b.IP); c != 0 {
				return c
			}
			return cmp.Compare(a.Port, b.Port)
		})
	}
	return out
}

func endpointOf(e discoveryv1.Endpoint, port int32, nodeName string) (Endpoint, bool) {
	if len(e.Addresses) == 0 {
		return Endpoint{}, false
	}
	ip, err := netip.ParseAddr(e.Addresses[0])
	if err != nil || !ip.Is4() {
		return Endpoint{}, false
	}
	ready := e.Conditions.Ready == nil || *e.Conditions.Ready
	serving := ready
	if e.Conditions.Serving != nil {
		serving = *e.Conditions.Serving
	}
	terminating := e.Conditions.Terminating != nil && *e.Conditions.Terminating
	return Endpoint{
		IP: ip, Port: port, Ready: ready, Serving: serving, Terminating: terminating,
		Local: e.NodeName != nil && *e.NodeName == nodeName && nodeName != "",
	}, true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Categorize returns the endpoints traffic to p may use: cluster for
// traffic that may go anywhere, local for traffic that must stay on this
// node (nil when p needs no such list). Like kube-proxy, ready endpoints
// are used; only when there is none do serving-and-terminating ones
// stand in, so connections survive a rolling update's last moments.
// hasAny reports whether any endpoint could take traffic at all (the
// difference between rejecting and dropping).
func Categorize(p *ServicePort, eps []Endpoint) (cluster, local []Endpoint, hasAny bool) {
	pick := func(keep func(Endpoint) bool) []Endpoint {
		var ready, fallback []Endpoint
		for _, e := range eps {
			if !keep(e) {
				continue
			}
			if e.Ready {
				ready = append(ready, e)
			} else if e.Serving && e.Terminating {
				fallback = append(fallback, e)
			}
		}
		if len(ready) > 0 {
			return ready
		}
		return fallback
	}
	all := pick(func(Endpoint) bool { return true })
	hasAny = len(all) > 0
	if p.UsesClusterEndpoints() {
		cluster = all
	}
	if p.UsesLocalEndpoints() {
		local = pick(func(e Endpoint) bool { return e.Local })
	}
	return cluster, local, hasAny
}
