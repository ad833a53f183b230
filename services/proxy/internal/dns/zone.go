package dns

import (
	"net/netip"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
)

// maxChase bounds the CNAME chain followed inside the zone
// (ExternalName Services pointing at each other).
const maxChase = 8

// zone answers names under the cluster domain from a view of the
// cluster. Its methods are pure: they read the view and build records.
type zone struct {
	origin  string // lower-case FQDN, "cluster.local."
	ttl     uint32
	serial  uint32
	nsAddrs []netip.Addr // addresses of ns.dns.<origin>
}

// result is the outcome of a lookup in the zone.
type result struct {
	rcode  int
	answer []mdns.RR
	ns     []mdns.RR
	extra  []mdns.RR
	// chase is the target, outside the zone, of the last CNAME in
	// answer: the server adds its records from the upstreams.
	chase string
}

// node is everything at one name: whether it exists, its records of
// every type, and the additional records that go with them (addresses
// of SRV and NS targets).
type node struct {
	exists bool
	rrs    []mdns.RR
	extra  []mdns.RR
}

// contains reports whether name is in the zone.
func (z *zone) contains(name string) bool {
	return mdns.IsSubDomain(z.origin, strings.ToLower(mdns.Fqdn(name)))
}

// lookup answers (qname, qtype) for a name in the zone.
func (z *zone) lookup(v view, qname string, qtype uint16) result {
	if !v.synced() {
		return result{rcode: mdns.RcodeServerFailure}
	}
	var res result
	name := qname
	for depth := 0; ; depth++ {
		n := z.node(v, name)
		if !n.exists {
			res.rcode = mdns.RcodeNameError
			res.ns = []mdns.RR{z.soa()}
			return res
		}
		if c := cnameOf(n.rrs); c != nil && qtype != mdns.TypeCNAME {
			res.answer = append(res.answer, c)
			if !z.contains(c.Target) {
				res.chase = c.Target
				return res
			}
			if depth >= maxChase {
				res.rcode = mdns.RcodeServerFailure
				return res
			}
			name = c.Target
			continue
		}
		matched := ofType(n.rrs, qtype)
		if len(matched) == 0 {
			res.ns = []mdns.RR{z.soa()}
			return res
		}
		res.answer = append(res.answer, matched...)
		switch qtype {
		case mdns.TypeSRV, mdns.TypeNS, mdns.TypeANY:
			res.extra = append(res.extra, n.extra...)
		}
		return res
	}
}

func cnameOf(rrs []mdns.RR) *mdns.CNAME {
	for _, rr := range rrs {
		if c, ok := rr.(*mdns.CNAME); ok {
			return c
		}
	}
	return nil
}

func ofType(rrs []mdns.RR, qtype uint16) []mdns.RR {
	if qtype == mdns.TypeANY {
		return rrs
	}
	var out []mdns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	return out
}

// soa is the zone's SOA record; its minimum (the negative-caching TTL)
// is the zone's TTL.
func (z *zone) soa() mdns.RR {
	return &mdns.SOA{
		Hdr:     hdr(z.origin, mdns.TypeSOA, z.ttl),
		Ns:      "ns.dns." + z.origin,
		Mbox:    "hostmaster." + z.origin,
		Serial:  z.serial,
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		Minttl:  z.ttl,
	}
}

// labels returns the labels of name in front of the origin, lower-cased;
// ok is false for names outside the zone.
func (z *zone) labels(name string) ([]string, bool) {
	l := strings.ToLower(mdns.Fqdn(name))
	if l == z.origin {
		return nil, true
	}
	rel, found := strings.CutSuffix(l, "."+z.origin)
	if !found {
		return nil, false
	}
	return mdns.SplitDomainName(rel), true
}

// node returns what is at name (the owner name of its records, as the
// client spelt it).
func (z *zone) node(v view, name string) node {
	l, ok := z.labels(name)
	if !ok {
		return node{}
	}
	n := len(l)
	switch {
	case n == 0:
		return node{exists: true,
			rrs:   []mdns.RR{z.soa(), &mdns.NS{Hdr: hdr(name, mdns.TypeNS, z.ttl), Ns: "ns.dns." + z.origin}},
			extra: z.nsAddrRRs("ns.dns." + z.origin)}
	case n == 1:
		return node{exists: l[0] == "svc" || l[0] == "pod" || l[0] == "dns"}
	case n == 2 && l[0] == "ns" && l[1] == "dns":
		return node{exists: true, rrs: z.nsAddrRRs(name)}
	case l[n-1] == "svc":
		return z.svcNode(v, name, l[:n-1])
	case n == 2 && l[1] == "pod":
		return node{exists: true}
	case n == 3 && l[2] == "pod":
		ip, ok := undashed(l[0])
		if !ok {
			return node{}
		}
		return node{exists: true, rrs: []mdns.RR{addrRR(name, ip.Unmap(), z.ttl)}}
	}
	return node{}
}

func (z *zone) nsAddrRRs(name string) []mdns.RR {
	var out []mdns.RR
	for _, ip := range z.nsAddrs {
		out = append(out, addrRR(name, ip, z.ttl))
	}
	return out
}

// svcNode handles the names under svc.<origin>; l are the labels in
// front of "svc".
func (z *zone) svcNode(v view, name string, l []string) node {
	switch len(l) {
	case 1: // <ns>.svc
		return node{exists: v.namespaceHasServices(l[0])}
	case 2: // <svc>.<ns>.svc
		return z.serviceNode(v, name, l[1], l[0])
	case 3:
		svc := v.service(l[2], l[1])
		if svc == nil {
			return node{}
		}
		if strings.HasPrefix(l[0], "_") { // _<proto>.<svc>.<ns>.svc
			return node{exists: hasPort(svc, "", l[0])}
		}
		return z.endpointNode(v, name, svc, l[0])
	case 4: // _<port>._<proto>.<svc>.<ns>.svc
		svc := v.service(l[3], l[2])
		if svc == nil || !strings.HasPrefix(l[0], "_") || !strings.HasPrefix(l[1], "_") || !hasPort(svc, l[0], l[1]) {
			return node{}
		}
		rrs, extra := z.srv(v, name, svc, l[0], l[1])
		return node{exists: true, rrs: rrs, extra: extra}
	}
	return node{}
}

// hasPort reports whether svc has a named port with port label port
// ("" for any) and protocol label proto.
func hasPort(svc *corev1.Service, port, proto string) bool {
	for _, p := range svc.Spec.Ports {
		if p.Name != "" && protocolLabel(p.Protocol) == proto && (port == "" || portLabel(p.Name) == port) {
			return true
		}
	}
	return false
}

func (z *zone) serviceFQDN(svc *corev1.Service) string {
	return svc.Name + "." + svc.Namespace + ".svc." + z.origin
}

func (z *zone) serviceNode(v view, name, ns, svcName string) node {
	svc := v.service(ns, svcName)
	if svc == nil {
		return node{}
	}
	n := node{exists: true}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		if svc.Spec.ExternalName != "" {
			n.rrs = []mdns.RR{&mdns.CNAME{Hdr: hdr(name, mdns.TypeCNAME, z.ttl), Target: mdns.Fqdn(svc.Spec.ExternalName)}}
		}
		return n
	}
	if isHeadless(svc) {
		var last netip.Addr
		for _, ep := range serviceEndpoints(svc, v.slices(ns, svcName)) {
			if ep.addr != last {
				n.rrs = append(n.rrs, addrRR(name, ep.addr, z.ttl))
			}
			last = ep.addr
		}
	} else {
		for _, ip := range clusterIPs(svc) {
			n.rrs = append(n.rrs, addrRR(name, ip, z.ttl))
		}
	}
	srv, extra := z.srv(v, name, svc, "", "")
	n.rrs = append(n.rrs, srv...)
	n.extra = extra
	return n
}

func (z *zone) endpointNode(v view, name string, svc *corev1.Service, label string) node {
	if !isHeadless(svc) {
		return node{}
	}
	var n node
	for _, ep := range serviceEndpoints(svc, v.slices(svc.Namespace, svc.Name)) {
		if ep.label == label {
			n.exists = true
			n.rrs = append(n.rrs, addrRR(name, ep.addr, z.ttl))
		}
	}
	return n
}

// srv returns the SRV records named name for svc's named ports matching
// port and proto ("" matches any), and the addresses of their targets:
// the Service's name and ClusterIPs, or for a headless Service each
// served endpoint's name and address.
func (z *zone) srv(v view, name string, svc *corev1.Service, port, proto string) (rrs, extra []mdns.RR) {
	match := func(pname string, pproto corev1.Protocol) bool {
		return pname != "" && (port == "" || portLabel(pname) == port) && (proto == "" || protocolLabel(pproto) == proto)
	}
	type rec struct {
		target string
		port   uint16
	}
	var recs []rec
	addrs := map[string][]netip.Addr{}
	if !isHeadless(svc) {
		target := z.serviceFQDN(svc)
		for _, p := range svc.Spec.Ports {
			if match(p.Name, p.Protocol) {
				recs = append(recs, rec{target, uint16(p.Port)})
			}
		}
		if len(recs) > 0 {
			addrs[target] = clusterIPs(svc)
		}
	} else {
		for _, sl := range v.slices(svc.Namespace, svc.Name) {
			eps := servedEndpoints(svc, sl)
			for _, p := range sl.Ports {
				if p.Name == nil || p.Port == nil || !match(*p.Name, ptrOr(p.Protocol, corev1.ProtocolTCP)) {
					continue
				}
				for _, ep := range eps {
					target := ep.label + "." + z.serviceFQDN(svc)
					recs = append(recs, rec{target, uint16(*p.Port)})
					if !slices.Contains(addrs[target], ep.addr) {
						addrs[target] = append(addrs[target], ep.addr)
					}
				}
			}
		}
	}
	slices.SortFunc(recs, func(a, b rec) int {
		if c := strings.Compare(a.target, b.target); c != 0 {
			return c
		}
		return int(a.port) - int(b.port)
	})
	recs = slices.Compact(recs)
	if len(recs) == 0 {
		return nil, nil
	}
	weight := uint16(max(1, 100/len(recs)))
	var targets []string
	for _, r := range recs {
		rrs = append(rrs, &mdns.SRV{Hdr: hdr(name, mdns.TypeSRV, z.ttl), Priority: 0, Weight: weight, Port: r.port, Target: r.target})
		if len(targets) == 0 || targets[len(targets)-1] != r.target {
			targets = append(targets, r.target)
		}
	}
	for _, t := range targets {
		for _, ip := range addrs[t] {
			extra = append(extra, addrRR(t, ip, z.ttl))
		}
	}
	return rrs, extra
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
