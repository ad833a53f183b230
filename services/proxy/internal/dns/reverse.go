package dns

import (
	"net/netip"
	"strconv"
	"strings"

	mdns "github.com/miekg/dns"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// reverseAddr reads the address of a reverse name:
// 10.0.96.10.in-addr.arpa. or the 32 nibbles of ip6.arpa.
func reverseAddr(name string) (netip.Addr, bool) {
	l := strings.ToLower(mdns.Fqdn(name))
	if rel, ok := strings.CutSuffix(l, ".in-addr.arpa."); ok {
		parts := strings.Split(rel, ".")
		if len(parts) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, p := range parts {
			n, err := strconv.ParseUint(p, 10, 8)
			if err != nil || (len(p) > 1 && p[0] == '0') {
				return netip.Addr{}, false
			}
			b[3-i] = byte(n)
		}
		return netip.AddrFrom4(b), true
	}
	if rel, ok := strings.CutSuffix(l, ".ip6.arpa."); ok {
		parts := strings.Split(rel, ".")
		if len(parts) != 32 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i, p := range parts {
			n, err := strconv.ParseUint(p, 16, 4)
			if err != nil || len(p) != 1 {
				return netip.Addr{}, false
			}
			nib := 31 - i
			if nib%2 == 0 {
				b[nib/2] |= byte(n) << 4
			} else {
				b[nib/2] |= byte(n)
			}
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}

// ptr returns the PTR records of a reverse name for a ClusterIP, or for
// the address of a headless Service's endpoint; none for other
// addresses, which the server forwards.
func (z *zone) ptr(v view, name string) []mdns.RR {
	ip, ok := reverseAddr(name)
	if !ok {
		return nil
	}
	var out []mdns.RR
	add := func(target string) {
		for _, rr := range out {
			if rr.(*mdns.PTR).Ptr == target {
				return
			}
		}
		out = append(out, &mdns.PTR{Hdr: hdr(name, mdns.TypePTR, z.ttl), Ptr: target})
	}
	for _, svc := range v.servicesByIP(ip.String()) {
		add(z.serviceFQDN(svc))
	}
	if len(out) > 0 {
		return out
	}
	for _, sl := range v.slicesByAddr(ip.String()) {
		svc := v.service(sl.Namespace, sl.Labels[discoveryv1.LabelServiceName])
		if svc == nil || !isHeadless(svc) {
			continue
		}
		for _, ep := range servedEndpoints(svc, sl) {
			if ep.addr == ip {
				add(ep.label + "." + z.serviceFQDN(svc))
			}
		}
	}
	return out
}
