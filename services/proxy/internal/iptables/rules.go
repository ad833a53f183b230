package iptables

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

// RuleConfig is what the rules depend on besides Services and
// endpoints.
type RuleConfig struct {
	Names Names
	// MasqueradeBit is the fwmark bit (0..31) that asks for SNAT.
	MasqueradeBit int
	// MasqueradeAll SNATs all traffic to ClusterIPs.
	MasqueradeAll bool
	// ClusterCIDR, when valid, is the pod network: traffic to a
	// ClusterIP from outside it is SNATed.
	ClusterCIDR netip.Prefix
	// NodePortAddresses limits NodePorts to local addresses in these
	// ranges; empty means every local address.
	NodePortAddresses []netip.Prefix
	// RandomFully adds --random-fully to MASQUERADE (iptables >= 1.6.2).
	RandomFully bool
}

func (c RuleConfig) mark() string { return fmt.Sprintf("0x%x", uint32(1)<<c.MasqueradeBit) }

// LocalhostNodePorts reports whether NodePorts answer on 127.0.0.1,
// which needs net.ipv4.conf.all.route_localnet=1 and the localnet
// firewall rule.
func (c RuleConfig) LocalhostNodePorts() bool {
	if len(c.NodePortAddresses) == 0 {
		return true
	}
	for _, p := range c.NodePortAddresses {
		if p.Contains(netip.AddrFrom4([4]byte{127, 0, 0, 1})) {
			return true
		}
	}
	return false
}

// Chain is one chain's rules, each a complete "-A CHAIN ..." line.
type Chain struct {
	Name  string
	Rules []string
}

// ServiceRules are the rules one ServicePort contributes: lines in the
// shared top-level chains and the nat chains of its own.
type ServiceRules struct {
	Name proxy.ServicePortName
	// Lines of the nat KUBE-SERVICES and KUBE-NODEPORTS chains.
	NATServices, NATNodePorts []string
	// Lines of the filter KUBE-SERVICES and KUBE-EXTERNAL-SERVICES
	// chains (traffic that has nowhere to go).
	FilterServices, FilterExternal []string
	// Chains are its nat chains: SVC, SVL, EXT and one SEP per endpoint.
	Chains []Chain
}

// rule builds one rule line.
type rule struct{ b strings.Builder }

func newRule(chain string) *rule {
	r := &rule{}
	r.b.WriteString("-A ")
	r.b.WriteString(chain)
	return r
}

func (r *rule) add(args ...string) *rule {
	for _, a := range args {
		r.b.WriteByte(' ')
		r.b.WriteString(a)
	}
	return r
}

func (r *rule) comment(c string) *rule { return r.add("-m", "comment", "--comment", strconv.Quote(c)) }

func (r *rule) String() string { return r.b.String() }

func proto(p *proxy.ServicePort) string { return strings.ToLower(string(p.Protocol)) }

// dport matches the protocol and destination port.
func dport(p *proxy.ServicePort, port int32) []string {
	pr := proto(p)
	return []string{"-p", pr, "-m", pr, "--dport", strconv.Itoa(int(port))}
}

func host(a netip.Addr) string { return a.String() + "/32" }

// BuildService returns the rules of one ServicePort given its endpoints,
// as kube-proxy's iptables mode writes them.
func BuildService(c RuleConfig, p *proxy.ServicePort, eps []proxy.Endpoint) *ServiceRules {
	n := c.Names
	name := p.Name.String()
	sr := &ServiceRules{Name: p.Name}
	cluster, local, hasAny := proxy.Categorize(p, eps)

	clusterChain := n.servicePortChain(kindCluster, p.Name)
	localChain := n.servicePortChain(kindLocal, p.Name)
	extChain := n.servicePortChain(kindExternal, p.Name)

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

	// What traffic that has no endpoint to go to meets: REJECT when the
	// Service has none at all, DROP when it has some but none this
	// traffic may use (a Local policy and no endpoint on this node).
	internalFilter, internalWhy := "REJECT", "has no endpoints"
	if hasAny && !hasInternal {
		internalFilter, internalWhy = "DROP", "has no local endpoints"
	}
	externalFilter, externalWhy := "REJECT", "has no endpoints"
	if hasAny && !hasExternal {
		externalFilter, externalWhy = "DROP", "has no local endpoints"
	}

	// ClusterIP.
	if hasInternal {
		sr.NATServices = append(sr.NATServices, newRule(n.Services).comment(name+" cluster IP").
			add("-d", host(p.ClusterIP)).add(dport(p, p.Port)...).add("-j", internalChain).String())
	} else {
		sr.FilterServices = append(sr.FilterServices, newRule(n.Services).comment(name+" "+internalWhy).
			add("-d", host(p.ClusterIP)).add(dport(p, p.Port)...).add("-j", internalFilter).String())
	}
	// External IPs and load balancer IPs.
	for _, set := range []struct {
		ips  []netip.Addr
		what string
	}{{p.ExternalIPs, "external IP"}, {p.LoadBalancerIPs, "loadbalancer IP"}} {
		for _, ip := range set.ips {
			if usesExternal {
				sr.NATServices = append(sr.NATServices, newRule(n.Services).comment(name+" "+set.what).
					add("-d", host(ip)).add(dport(p, p.Port)...).add("-j", extChain).String())
			} else {
				sr.FilterExternal = append(sr.FilterExternal, newRule(n.ExternalServices).comment(name+" "+externalWhy).
					add("-d", host(ip)).add(dport(p, p.Port)...).add("-j", externalFilter).String())
			}
		}
	}
	// NodePort.
	if p.NodePort > 0 {
		if usesExternal {
			sr.NATNodePorts = append(sr.NATNodePorts, newRule(n.NodePorts).comment(name).
				add(dport(p, p.NodePort)...).add("-j", extChain).String())
		} else {
			sr.FilterExternal = append(sr.FilterExternal, newRule(n.ExternalServices).comment(name+" "+externalWhy).
				add("-m", "addrtype", "--dst-type", "LOCAL").add(dport(p, p.NodePort)...).add("-j", externalFilter).String())
		}
	}

	// The external chain: SNAT unless the policy is Local (which keeps
	// the client's address); with Local, traffic from pods and from the
	// node itself may still use any endpoint, as kube-proxy does.
	usesCluster := len(cluster) > 0
	usesLocal := len(local) > 0
	if usesExternal {
		ch := Chain{Name: extChain}
		if p.ExternalPolicyLocal {
			if usesCluster {
				if c.ClusterCIDR.IsValid() {
					ch.Rules = append(ch.Rules, newRule(extChain).comment("pod traffic for "+name+" external destinations").
						add("-s", c.ClusterCIDR.String(), "-j", clusterChain).String())
				}
				ch.Rules = append(ch.Rules,
					newRule(extChain).comment("masquerade LOCAL traffic for "+name+" external destinations").
						add("-m", "addrtype", "--src-type", "LOCAL", "-j", n.MarkMasq).String(),
					newRule(extChain).comment("route LOCAL traffic for "+name+" external destinations").
						add("-m", "addrtype", "--src-type", "LOCAL", "-j", clusterChain).String())
			}
		} else {
			ch.Rules = append(ch.Rules, newRule(extChain).comment("masquerade traffic for "+name+" external destinations").
				add("-j", n.MarkMasq).String())
		}
		ch.Rules = append(ch.Rules, newRule(extChain).add("-j", externalChain).String())
		sr.Chains = append(sr.Chains, ch)
	}

	// The cluster and local chains pick an endpoint.
	masq := func(chain string) string {
		r := newRule(chain).comment(name+" cluster IP").add("-d", host(p.ClusterIP)).add(dport(p, p.Port)...)
		if !c.MasqueradeAll {
			r.add("!", "-s", c.ClusterCIDR.String())
		}
		return r.add("-j", n.MarkMasq).String()
	}
	if usesCluster {
		ch := Chain{Name: clusterChain}
		if internalChain == clusterChain && (c.MasqueradeAll || c.ClusterCIDR.IsValid()) {
			ch.Rules = append(ch.Rules, masq(clusterChain))
		}
		ch.Rules = append(ch.Rules, balance(c, p, clusterChain, cluster)...)
		sr.Chains = append(sr.Chains, ch)
	}
	if usesLocal {
		ch := Chain{Name: localChain}
		if internalChain == localChain && (c.MasqueradeAll || c.ClusterCIDR.IsValid()) {
			ch.Rules = append(ch.Rules, masq(localChain))
		}
		ch.Rules = append(ch.Rules, balance(c, p, localChain, local)...)
		sr.Chains = append(sr.Chains, ch)
	}

	// One DNAT chain per endpoint used by either.
	seen := map[string]bool{}
	for _, list := range [][]proxy.Endpoint{cluster, local} {
		for _, ep := range list {
			chain := n.endpointChain(p.Name, ep)
			if seen[chain] {
				continue
			}
			seen[chain] = true
			sr.Chains = append(sr.Chains, endpointRules(c, p, chain, ep))
		}
	}
	return sr
}

// balance spreads traffic over eps evenly: rule i of n matches with
// probability 1/(n-i), the last always. With ClientIP affinity, a client
// seen within the timeout goes back to its endpoint first.
func balance(c RuleConfig, p *proxy.ServicePort, chain string, eps []proxy.Endpoint) []string {
	name := p.Name.String()
	var out []string
	if p.AffinitySeconds > 0 {
		for _, ep := range eps {
			sep := c.Names.endpointChain(p.Name, ep)
			out = append(out, newRule(chain).comment(name+" -> "+ep.String()).
				add("-m", "recent", "--name", sep, "--rcheck", "--seconds", strconv.Itoa(int(p.AffinitySeconds)), "--reap").
				add("-j", sep).String())
		}
	}
	for i, ep := range eps {
		r := newRule(chain).comment(name + " -> " + ep.String())
		if left := len(eps) - i; left > 1 {
			r.add("-m", "statistic", "--mode", "random", "--probability", fmt.Sprintf("%0.10f", 1/float64(left)))
		}
		out = append(out, r.add("-j", c.Names.endpointChain(p.Name, ep)).String())
	}
	return out
}

// endpointRules is an endpoint's chain: SNAT hairpin traffic (the
// endpoint reaching itself through the Service), remember the client for
// affinity, DNAT.
func endpointRules(c RuleConfig, p *proxy.ServicePort, chain string, ep proxy.Endpoint) Chain {
	name := p.Name.String()
	dnat := newRule(chain).comment(name)
	if p.AffinitySeconds > 0 {
		dnat.add("-m", "recent", "--name", chain, "--set")
	}
	pr := proto(p)
	dnat.add("-p", pr, "-m", pr, "-j", "DNAT", "--to-destination", ep.String())
	return Chain{Name: chain, Rules: []string{
		newRule(chain).comment(name).add("-s", host(ep.IP), "-j", c.Names.MarkMasq).String(),
		dnat.String(),
	}}
}
