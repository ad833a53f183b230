package dns

import (
	"net/netip"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// clusterIPs returns the parseable ClusterIPs of svc (none for headless
// and ExternalName Services).
func clusterIPs(svc *corev1.Service) []netip.Addr {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	var out []netip.Addr
	for _, s := range ips {
		if ip, err := netip.ParseAddr(s); err == nil {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

// isHeadless reports whether svc's name resolves to its endpoints.
func isHeadless(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && len(clusterIPs(svc)) == 0
}

// endpoint is one address a headless Service's names resolve to.
type endpoint struct {
	addr netip.Addr
	// label names the endpoint under the Service: its hostname, or its
	// address with dashes.
	label string
}

// servedEndpoints returns the endpoints of slice that DNS publishes: the
// ready ones, or every one when the Service publishes not-ready
// addresses.
func servedEndpoints(svc *corev1.Service, slice *discoveryv1.EndpointSlice) []endpoint {
	if slice.AddressType == discoveryv1.AddressTypeFQDN {
		return nil
	}
	var out []endpoint
	for _, ep := range slice.Endpoints {
		ready := ep.Conditions.Ready == nil || *ep.Conditions.Ready
		if !ready && !svc.Spec.PublishNotReadyAddresses {
			continue
		}
		for _, a := range ep.Addresses {
			ip, err := netip.ParseAddr(a)
			if err != nil {
				continue
			}
			ip = ip.Unmap()
			label := dashed(ip)
			if ep.Hostname != nil && *ep.Hostname != "" {
				label = strings.ToLower(*ep.Hostname)
			}
			out = append(out, endpoint{addr: ip, label: label})
		}
	}
	return out
}

// serviceEndpoints returns the endpoints of every slice of svc, without
// duplicates (a pod may briefly be listed by two slices), ordered by
// address.
func serviceEndpoints(svc *corev1.Service, sl []*discoveryv1.EndpointSlice) []endpoint {
	var out []endpoint
	for _, s := range sl {
		out = append(out, servedEndpoints(svc, s)...)
	}
	slices.SortFunc(out, func(a, b endpoint) int {
		if c := a.addr.Compare(b.addr); c != 0 {
			return c
		}
		return strings.Compare(a.label, b.label)
	})
	return slices.Compact(out)
}

// dashed writes ip as one DNS label: 10-244-1-5, fd00--5.
func dashed(ip netip.Addr) string {
	if ip.Is4() {
		return strings.ReplaceAll(ip.String(), ".", "-")
	}
	return strings.ReplaceAll(ip.String(), ":", "-")
}

// undashed reads a label written by dashed.
func undashed(label string) (netip.Addr, bool) {
	s := strings.ReplaceAll(label, "-", ".")
	if strings.Count(label, "-") != 3 {
		s = strings.ReplaceAll(label, "-", ":")
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, false
	}
	return ip, true
}

func addrRR(name string, ip netip.Addr, ttl uint32) mdns.RR {
	if ip.Is4() {
		return &mdns.A{Hdr: hdr(name, mdns.TypeA, ttl), A: ip.AsSlice()}
	}
	return &mdns.AAAA{Hdr: hdr(name, mdns.TypeAAAA, ttl), AAAA: ip.AsSlice()}
}

func hdr(name string, t uint16, ttl uint32) mdns.RR_Header {
	return mdns.RR_Header{Name: name, Rrtype: t, Class: mdns.ClassINET, Ttl: ttl}
}

// protocolLabel is the SRV protocol label of p: "_tcp".
func protocolLabel(p corev1.Protocol) string {
	if p == "" {
		p = corev1.ProtocolTCP
	}
	return "_" + strings.ToLower(string(p))
}

// portLabel is the SRV service label of a port name: "_http".
func portLabel(name string) string { return "_" + strings.ToLower(name) }
