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

// ServiceObjects is what one ServicePort contributes: elements of the
// shared maps and sets, and chains and affinity sets of its own.
type ServiceObjects struct {
	Name     proxy.ServicePortName
	Elements []Element
	Chains   []Chain
	Sets     []AffinitySet
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
// endpoint choice by numgen.
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
	for _, pc := range []struct {
		use   bool
		chain string
		eps   []proxy.Endpoint
	}{{usesCluster, clusterChain, cluster}, {usesLocal, localChain, local}} {
		if !pc.use {
			continue
		}
		ch := Chain{Name: pc.chain}
		if internalChain == pc.chain && (c.MasqueradeAll || c.ClusterCIDR.IsValid()) {
			ch.Rules = append(ch.Rules, masq())
		}
		ch.Rules = append(ch.Rules, balance(p, pc.eps)...)
		so.Chains = append(so.Chains, ch)
	}

	// One DNAT chain (and with affinity one set) per endpoint used by
	// either.
	seen := map[string]bool{}
	for _, list := range [][]proxy.Endpoint{cluster, local} {
		for _, ep := range list {
			eb := endpointBase(p.Name, ep)
			if seen[eb] {
				continue
			}
			seen[eb] = true
			so.Chains = append(so.Chains, endpointChain(p, eb, ep, proto))
			if p.AffinitySeconds > 0 {
				so.Sets = append(so.Sets, AffinitySet{Name: kindAffinity + eb, Timeout: time.Duration(p.AffinitySeconds) * time.Second})
			}
		}
	}
	return so
}

// balance picks one of eps at random with numgen and a verdict map. With
// ClientIP affinity, a client seen within the timeout goes back to its
// endpoint first.
func balance(p *proxy.ServicePort, eps []proxy.Endpoint) []Rule {
	var out []Rule
	if p.AffinitySeconds > 0 {
		for _, ep := range eps {
			eb := endpointBase(p.Name, ep)
			out = append(out, Rule{Rule: "ip saddr @" + kindAffinity + eb + " goto " + kindEndpoint + eb})
		}
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

// endpointChain SNATs hairpin traffic (the endpoint reaching itself
// through the Service), remembers the client for affinity, and DNATs.
func endpointChain(p *proxy.ServicePort, base string, ep proxy.Endpoint, proto string) Chain {
	ch := Chain{Name: kindEndpoint + base, Rules: []Rule{{Rule: "ip saddr " + ep.IP.String() + " jump " + chainMarkMasq}}}
	if p.AffinitySeconds > 0 {
		ch.Rules = append(ch.Rules, Rule{Rule: "update @" + kindAffinity + base + " { ip saddr }"})
	}
	ch.Rules = append(ch.Rules, Rule{Rule: "meta l4proto " + proto + " dnat to " + ep.String()})
	return ch
}
