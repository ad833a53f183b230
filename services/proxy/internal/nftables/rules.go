package nftables

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

// RuleConfig is what the ruleset depends on besides Services and
// endpoints.
type RuleConfig struct {
	// Table is the nft table (family ip) the proxier owns.
	Table string
	// MasqueradeBit is the packet mark bit (0..31) that asks for SNAT.
	MasqueradeBit int
	// MasqueradeAll SNATs all traffic to ClusterIPs.
	MasqueradeAll bool
	// ClusterCIDR, when valid, is the pod network: traffic to a
	// ClusterIP from outside it is SNATed.
	ClusterCIDR netip.Prefix
	// NodePortAddresses limits NodePorts to local addresses in these
	// ranges; empty means every local address. 127.0.0.0/8 never answers.
	NodePortAddresses []netip.Prefix
}

func (c RuleConfig) mark() string { return fmt.Sprintf("0x%x", uint32(1)<<c.MasqueradeBit) }

// Rule is one rule of a chain: nft rule text and an optional comment.
type Rule struct {
	Rule, Comment string
}

// Chain is a regular chain and its rules.
type Chain struct {
	Name  string
	Rules []Rule
}

// AffinitySet holds the clients recently sent to one endpoint (ClientIP
// session affinity): "update @set { ip saddr }" refreshes a client's
// entry, which expires after Timeout.
type AffinitySet struct {
	Name    string
	Timeout time.Duration
}

// Element is one element of a map (Value set) or set of the table.
type Element struct {
	// In is the map or set.
	In      string
	Key     []string
	Value   string
	Comment string
}

func (e Element) key() string { return e.In + " " + strings.Join(e.Key, " . ") }

// endpointSlots is the range of the random number that picks an
// endpoint through an endpoint map ("numgen random mod endpointSlots"):
// each of N endpoints gets a run of about endpointSlots/N numbers, so
// the shares differ from 1/N by less than one in a million.
const endpointSlots = 1 << 20

// endpointMapType is the type of an endpoint map of protocol proto: a
// random number, in network byte order (nft converts numgen's result
// before the lookup), to an address and port.
func endpointMapType(proto string) string {
	return "numgen random mod " + strconv.Itoa(endpointSlots) + " : ip daddr . " + proto + " dport"
}

// EndpointMap is an interval map of one chain that picks an endpoint:
// "dnat ip to numgen random mod 1048576 map @<name>". A change of
// endpoints changes its elements only, not the chain's rules, so it
// needs no rule rewritten (see ElementWriter).
type EndpointMap struct {
	Name    string
	Proto   string // tcp, udp or sctp
	Entries []EndpointEntry
}

// EndpointEntry sends the random numbers First..Last (inclusive) to To.
type EndpointEntry struct {
	First, Last uint32
	To          netip.AddrPort
}

// ServiceObjects is what one ServicePort contributes: elements of the
// shared maps and sets, and chains, affinity sets and endpoint maps of
// its own.
type ServiceObjects struct {
	Name     proxy.ServicePortName
	Elements []Element
	Chains   []Chain
	Sets     []AffinitySet
	Maps     []EndpointMap
}

// verdicts for traffic that has no endpoint to go to.
const (
	verdictReject = "goto " + chainReject
	verdictDrop   = "drop"
)

// BuildService returns the objects of one ServicePort given its
// endpoints. The logic is the iptables mode's (iptables.BuildService),
// in kube-proxy's nftables form: dispatch through the service-ips and
// service-nodeports verdict maps, rejects through the no-endpoint maps,
// endpoint choice by numgen — through an endpoint map and one DNAT, or
// with ClientIP affinity through per-endpoint chains as kube-proxy's.
func BuildService(c RuleConfig, p *proxy.ServicePort, eps []proxy.Endpoint) *ServiceObjects {
	name := p.Name.String()
	base := portBase(p.Name)
	so := &ServiceObjects{Name: p.Name}
	cluster, local, hasAny := proxy.Categorize(p, eps)

	clusterChain := kindCluster + base
	localChain := kindLocal + base
	extChain := kindExternal + base

	internalChain, internalEps := clusterChain, cluster
	if p.InternalPolicyLocal {
		internalChain, internalEps = localChain, local
	}
	externalChain, externalEps := clusterChain, cluster
	if p.ExternalPolicyLocal {
		externalChain, externalEps = localChain, local
	}
	hasInternal, hasExternal := len(internalEps) > 0, len(externalEps) > 0
	usesExternal := hasExternal && p.ExternallyAccessible()

	// What traffic with no endpoint to go to meets: REJECT when the
	// Service has none at all, DROP when it has some but none this
	// traffic may use (a Local policy and no endpoint on this node).
	internalVerdict, externalVerdict := verdictReject, verdictReject
	if hasAny && !hasInternal {
		internalVerdict = verdictDrop
	}
	if hasAny && !hasExternal {
		externalVerdict = verdictDrop
	}

	proto := strings.ToLower(string(p.Protocol))
	port := strconv.Itoa(int(p.Port))
	add := func(in string, key []string, value, comment string) {
		so.Elements = append(so.Elements, Element{In: in, Key: key, Value: value, Comment: comment})
	}

	// ClusterIP.
	add(setClusterIPs, []string{p.ClusterIP.String()}, "", "")
	if hasInternal {
		add(mapServiceIPs, []string{p.ClusterIP.String(), proto, port}, "goto "+internalChain, "")
	} else {
		add(mapNoEndpointServices, []string{p.ClusterIP.String(), proto, port}, internalVerdict, name)
	}
	// External IPs and load balancer IPs.
	for _, ip := range append(append([]netip.Addr{}, p.ExternalIPs...), p.LoadBalancerIPs...) {
		if usesExternal {
			add(mapServiceIPs, []string{ip.String(), proto, port}, "goto "+extChain, "")
		} else {
			add(mapNoEndpointServices, []string{ip.String(), proto, port}, externalVerdict, name)
		}
	}
	// NodePort.
	if p.NodePort > 0 {
		np := strconv.Itoa(int(p.NodePort))
		if usesExternal {
			add(mapServiceNodePorts, []string{proto, np}, "goto "+extChain, "")
		} else {
			add(mapNoEndpointNodePorts, []string{proto, np}, externalVerdict, name)
		}
	}

	// The external chain: SNAT unless the policy is Local (which keeps
	// the client's address); with Local, traffic from pods and from the
	// node itself may still use any endpoint, as kube-proxy does.
	usesCluster, usesLocal := len(cluster) > 0, len(local) > 0
	if usesExternal {
		ch := Chain{Name: extChain}
		if p.ExternalPolicyLocal {
			if usesCluster {
				if c.ClusterCIDR.IsValid() {
					ch.Rules = append(ch.Rules, Rule{"ip saddr " + c.ClusterCIDR.String() + " goto " + clusterChain, "short-circuit pod traffic"})
				}
				ch.Rules = append(ch.Rules,
					Rule{"fib saddr type local jump " + chainMarkMasq, "masquerade local traffic"},
					Rule{"fib saddr type local goto " + clusterChain, "short-circuit local traffic"})
			}
		} else {
			ch.Rules = append(ch.Rules, Rule{"jump " + chainMarkMasq, "masquerade traffic for external destinations"})
		}
		ch.Rules = append(ch.Rules, Rule{Rule: "goto " + externalChain})
		so.Chains = append(so.Chains, ch)
	}

	// The cluster and local chains pick an endpoint.
	masq := func() Rule {
		r := fmt.Sprintf("ip daddr %s %s dport %d", p.ClusterIP, proto, p.Port)
		if !c.MasqueradeAll {
			r += " ip saddr != " + c.ClusterCIDR.String()
		}
		return Rule{Rule: r + " jump " + chainMarkMasq}
	}
	affinity := p.AffinitySeconds > 0
	for _, pc := range []struct {
		use         bool
		chain, emap string
		eps         []proxy.Endpoint
	}{{usesCluster, clusterChain, kindClusterEndpoints + base, cluster}, {usesLocal, localChain, kindLocalEndpoints + base, local}} {
		if !pc.use {
			continue
		}
		ch := Chain{Name: pc.chain}
		if internalChain == pc.chain && (c.MasqueradeAll || c.ClusterCIDR.IsValid()) {
			ch.Rules = append(ch.Rules, masq())
		}
		if affinity {
			ch.Rules = append(ch.Rules, balanceAffinity(p, pc.eps)...)
		} else {
			ch.Rules = append(ch.Rules, Rule{Rule: "meta l4proto " + proto + " dnat ip to numgen random mod " +
				strconv.Itoa(endpointSlots) + " map @" + pc.emap})
			so.Maps = append(so.Maps, endpointMap(pc.emap, proto, pc.eps))
		}
		so.Chains = append(so.Chains, ch)
	}

	// Hairpin: an endpoint on this node reaching itself through the
	// Service is masqueraded (masquerading matches the pair after DNAT),
	// or it would answer itself directly. With affinity, one DNAT chain
	// and one set per endpoint used by either chain.
	seen := map[netip.AddrPort]bool{}
	for _, list := range [][]proxy.Endpoint{cluster, local} {
		for _, ep := range list {
			ap := netip.AddrPortFrom(ep.IP, uint16(ep.Port))
			if seen[ap] {
				continue
			}
			seen[ap] = true
			if ep.Local {
				add(setHairpin, []string{ep.IP.String(), ep.IP.String()}, "", "")
			}
			if affinity {
				eb := endpointBase(p.Name, ep)
				so.Chains = append(so.Chains, endpointChain(eb, ep, proto))
				so.Sets = append(so.Sets, AffinitySet{Name: kindAffinity + eb, Timeout: time.Duration(p.AffinitySeconds) * time.Second})
			}
		}
	}
	return so
}

// endpointMap shares the random numbers out among eps in runs as even
// as the slots allow.
func endpointMap(name, proto string, eps []proxy.Endpoint) EndpointMap {
	m := EndpointMap{Name: name, Proto: proto}
	n := uint64(len(eps))
	for i, ep := range eps {
		first := uint64(i) * endpointSlots / n
		last := (uint64(i)+1)*endpointSlots/n - 1
		m.Entries = append(m.Entries, EndpointEntry{First: uint32(first), Last: uint32(last), To: netip.AddrPortFrom(ep.IP, uint16(ep.Port))})
	}
	return m
}

// balanceAffinity sends a client seen within the affinity timeout back
// to its endpoint, and picks one of eps at random for the others with
// numgen and a verdict map of the endpoint chains.
func balanceAffinity(p *proxy.ServicePort, eps []proxy.Endpoint) []Rule {
	var out []Rule
	for _, ep := range eps {
		eb := endpointBase(p.Name, ep)
		out = append(out, Rule{Rule: "ip saddr @" + kindAffinity + eb + " goto " + kindEndpoint + eb})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "numgen random mod %d vmap {", len(eps))
	for i, ep := range eps {
		if i > 0 {
			b.WriteString(" ,")
		}
		fmt.Fprintf(&b, " %d : goto %s", i, kindEndpoint+endpointBase(p.Name, ep))
	}
	b.WriteString(" }")
	return append(out, Rule{Rule: b.String()})
}

// endpointChain remembers the client for affinity and DNATs.
func endpointChain(base string, ep proxy.Endpoint, proto string) Chain {
	return Chain{Name: kindEndpoint + base, Rules: []Rule{
		{Rule: "update @" + kindAffinity + base + " { ip saddr }"},
		{Rule: "meta l4proto " + proto + " dnat to " + ep.String()},
	}}
}
