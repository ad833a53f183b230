package nftables

import (
	"net/netip"
	"slices"

	"sigs.k8s.io/knftables"
)

// baseChain is a chain attached to a netfilter hook.
type baseChain struct {
	name     string
	typ      knftables.BaseChainType
	hook     knftables.BaseChainHook
	priority knftables.BaseChainPriority
}

// baseChains are kube-proxy's: the filter chains run before DNAT (so
// they see the Service address), except filter-output-post-dnat, which
// must not see traffic that is about to be DNATed.
var baseChains = []baseChain{
	{chainFilterInput, knftables.FilterType, knftables.InputHook, knftables.DNATPriority + "-10"},
	{chainFilterForward, knftables.FilterType, knftables.ForwardHook, knftables.DNATPriority + "-10"},
	{chainFilterOutput, knftables.FilterType, knftables.OutputHook, knftables.DNATPriority + "-10"},
	{chainFilterOutputPostNAT, knftables.FilterType, knftables.OutputHook, knftables.DNATPriority + "+10"},
	{chainNATPrerouting, knftables.NATType, knftables.PreroutingHook, knftables.DNATPriority},
	{chainNATOutput, knftables.NATType, knftables.OutputHook, knftables.DNATPriority},
	{chainNATPostrouting, knftables.NATType, knftables.PostroutingHook, knftables.SNATPriority},
}

// topChains are the regular chains that exist whatever the Services.
var topChains = []string{
	chainServices, chainServiceChecks, chainNodePortChecks, chainClusterIPChecks,
	chainMasquerading, chainMarkMasq, chainReject,
}

// baseRules returns the rules of the base and top-level chains, in
// order. They depend on the configuration only.
func baseRules(c RuleConfig) []knftables.Rule {
	mark := c.mark()
	const newConn = "ct state new "
	// NodePorts answer on local addresses (in --nodeport-addresses),
	// never on 127.0.0.0/8: with nftables there is no route_localnet
	// trick, as in kube-proxy's nftables mode.
	nodeAddrs := "fib daddr type local ip daddr != 127.0.0.0/8"
	inputAddrs := "ip daddr != 127.0.0.0/8"
	if len(c.NodePortAddresses) > 0 {
		nodeAddrs = "ip daddr @" + setNodePortIPs + " " + nodeAddrs
		inputAddrs = "ip daddr @" + setNodePortIPs + " " + inputAddrs
	}
	r := func(chain, rule, comment string) knftables.Rule {
		kr := knftables.Rule{Chain: chain, Rule: rule}
		if comment != "" {
			kr.Comment = knftables.PtrTo(comment)
		}
		return kr
	}
	return []knftables.Rule{
		r(chainFilterInput, newConn+"jump "+chainNodePortChecks, ""),
		r(chainFilterInput, newConn+"jump "+chainServiceChecks, ""),
		r(chainFilterForward, newConn+"jump "+chainServiceChecks, ""),
		r(chainFilterForward, newConn+"jump "+chainClusterIPChecks, ""),
		// As the iptables mode's KUBE-FORWARD. An accept ends this
		// chain only: a drop in another table still applies.
		r(chainFilterForward, "meta mark & "+mark+" == "+mark+" accept", "kubernetes forwarding rules"),
		r(chainFilterForward, "ct state established,related accept", "kubernetes forwarding conntrack rule"),
		r(chainFilterOutput, newConn+"jump "+chainServiceChecks, ""),
		r(chainFilterOutputPostNAT, newConn+"jump "+chainClusterIPChecks, ""),
		r(chainNATPrerouting, "jump "+chainServices, ""),
		r(chainNATOutput, "jump "+chainServices, ""),
		r(chainNATPostrouting, "jump "+chainMasquerading, ""),

		r(chainServices, "ip daddr . meta l4proto . th dport vmap @"+mapServiceIPs, ""),
		r(chainServices, nodeAddrs+" meta l4proto . th dport vmap @"+mapServiceNodePorts, ""),
		r(chainServiceChecks, "ip daddr . meta l4proto . th dport vmap @"+mapNoEndpointServices, ""),
		r(chainNodePortChecks, inputAddrs+" meta l4proto . th dport vmap @"+mapNoEndpointNodePorts, ""),
		r(chainClusterIPChecks, "ip daddr @"+setClusterIPs+" reject", "Reject traffic to invalid ports of ClusterIPs"),
		// Hairpin: an endpoint on this node that reached itself through
		// a Service (source = destination after DNAT).
		r(chainMasquerading, "ct status dnat ip saddr . ip daddr @"+setHairpin+" jump "+chainMarkMasq, "masquerade hairpin traffic"),
		r(chainMasquerading, "meta mark & "+mark+" == 0 return", ""),
		r(chainMasquerading, "meta mark set meta mark ^ "+mark, ""),
		r(chainMasquerading, "masquerade fully-random", ""),
		r(chainMarkMasq, "meta mark set meta mark | "+mark, ""),
		r(chainReject, "reject", ""),
	}
}

type container struct {
	name, typ, comment string
	isSet              bool
}

// containers are the shared maps and sets whose elements the Services
// make (nodeport-ips is apart: the configuration fills it).
var containers = []container{
	{name: setClusterIPs, typ: "ipv4_addr", comment: "Active ClusterIPs", isSet: true},
	{name: mapServiceIPs, typ: "ipv4_addr . inet_proto . inet_service : verdict", comment: "ClusterIP, ExternalIP and LoadBalancer IP traffic"},
	{name: mapServiceNodePorts, typ: "inet_proto . inet_service : verdict", comment: "NodePort traffic"},
	{name: mapNoEndpointServices, typ: "ipv4_addr . inet_proto . inet_service : verdict", comment: "vmap to drop or reject packets to services with no endpoints"},
	{name: mapNoEndpointNodePorts, typ: "inet_proto . inet_service : verdict", comment: "vmap to drop or reject packets to service nodeports with no endpoints"},
	{name: setHairpin, typ: "ipv4_addr . ipv4_addr", comment: "Endpoints on this node, twice: traffic from one to itself through a Service", isSet: true},
}

func (c container) object() knftables.Object {
	if c.isSet {
		return &knftables.Set{Name: c.name, Type: c.typ, Comment: knftables.PtrTo(c.comment)}
	}
	return &knftables.Map{Name: c.name, Type: c.typ, Comment: knftables.PtrTo(c.comment)}
}

func (c container) flush() knftables.Object {
	if c.isSet {
		return &knftables.Set{Name: c.name}
	}
	return &knftables.Map{Name: c.name}
}

// writeBase adds to tx everything that does not depend on Services: the
// table, its base and top-level chains with their rules, and the shared
// maps and sets, emptied (a full sync refills them). recreate deletes
// and adds the base chains again, so that a change of hook or priority
// (a newer version) applies.
func writeBase(tx *knftables.Transaction, c RuleConfig, recreate bool) (rules int) {
	tx.Add(&knftables.Table{Comment: knftables.PtrTo("rules for gantry-proxy")})
	if recreate {
		for _, bc := range baseChains {
			tx.Add(&knftables.Chain{Name: bc.name})
			tx.Delete(&knftables.Chain{Name: bc.name})
		}
	}
	for _, bc := range baseChains {
		ch := &knftables.Chain{Name: bc.name, Type: knftables.PtrTo(bc.typ), Hook: knftables.PtrTo(bc.hook), Priority: knftables.PtrTo(bc.priority)}
		tx.Add(ch)
		tx.Flush(ch)
	}
	for _, name := range topChains {
		tx.Add(&knftables.Chain{Name: name})
		tx.Flush(&knftables.Chain{Name: name})
	}
	for _, ct := range containers {
		tx.Add(ct.object())
		tx.Flush(ct.flush())
	}
	// nodeport-ips exists only with --nodeport-addresses; add then
	// delete makes sure it is gone otherwise (delete alone fails when
	// it does not exist). The chains using it were flushed above.
	np := &knftables.Set{Name: setNodePortIPs, Type: "ipv4_addr", Flags: []knftables.SetFlag{knftables.IntervalFlag},
		Comment: knftables.PtrTo("IPs that accept NodePort traffic")}
	tx.Add(np)
	if len(c.NodePortAddresses) == 0 {
		tx.Delete(&knftables.Set{Name: setNodePortIPs})
	} else {
		tx.Flush(&knftables.Set{Name: setNodePortIPs})
		for _, p := range disjoint(c.NodePortAddresses) {
			tx.Add(&knftables.Element{Set: setNodePortIPs, Key: []string{p.String()}})
		}
	}
	for _, r := range baseRules(c) {
		tx.Add(&r)
		rules++
	}
	return rules
}

// disjoint returns the prefixes not inside another one of the list
// (an interval set refuses overlapping elements), sorted.
func disjoint(in []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for i, p := range in {
		inside := false
		for j, q := range in {
			if i != j && q.Bits() <= p.Bits() && q.Contains(p.Addr()) && (q.Bits() < p.Bits() || j < i) {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, p.Masked())
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return out
}
