package iptables

import (
	"strings"
)

// Tables' top-level chains, in the order they are declared.
func (n Names) filterChains(localnet bool) []string {
	cs := []string{n.Services, n.ExternalServices, n.Forward}
	if localnet {
		cs = append(cs, n.Firewall)
	}
	return cs
}

func (n Names) natChains() []string {
	return []string{n.Services, n.NodePorts, n.Postrouting, n.MarkMasq}
}

// TopLevel returns the complete filter and nat top-level chains for the
// given service rules (in the order the rules should appear).
func TopLevel(c RuleConfig, services []*ServiceRules) (filter, nat []Chain) {
	n := c.Names
	mark := c.mark()
	localnet := c.LocalhostNodePorts()

	fSvc := Chain{Name: n.Services}
	fExt := Chain{Name: n.ExternalServices}
	nSvc := Chain{Name: n.Services}
	nNP := Chain{Name: n.NodePorts}
	for _, s := range services {
		fSvc.Rules = append(fSvc.Rules, s.FilterServices...)
		fExt.Rules = append(fExt.Rules, s.FilterExternal...)
		nSvc.Rules = append(nSvc.Rules, s.NATServices...)
		nNP.Rules = append(nNP.Rules, s.NATNodePorts...)
	}
	// NodePorts last: only traffic no ClusterIP or external IP claimed.
	const npComment = "kubernetes service nodeports; NOTE: this must be the last rule in this chain"
	if len(c.NodePortAddresses) == 0 {
		nSvc.Rules = append(nSvc.Rules, newRule(n.Services).comment(npComment).
			add("-m", "addrtype", "--dst-type", "LOCAL", "-j", n.NodePorts).String())
	} else {
		for _, p := range c.NodePortAddresses {
			nSvc.Rules = append(nSvc.Rules, newRule(n.Services).comment(npComment).
				add("-d", p.String(), "-m", "addrtype", "--dst-type", "LOCAL", "-j", n.NodePorts).String())
		}
	}
	forward := Chain{Name: n.Forward, Rules: []string{
		newRule(n.Forward).comment("kubernetes forwarding rules").add("-m", "mark", "--mark", mark+"/"+mark, "-j", "ACCEPT").String(),
		newRule(n.Forward).comment("kubernetes forwarding conntrack rule").
			add("-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT").String(),
	}}
	filter = []Chain{fSvc, fExt, forward}
	if localnet {
		// route_localnet lets packets to 127.0.0.1 be DNATed away; this
		// keeps other hosts from using it to reach the node's localhost.
		filter = append(filter, Chain{Name: n.Firewall, Rules: []string{
			newRule(n.Firewall).add("!", "-s", "127.0.0.0/8", "-d", "127.0.0.0/8").comment("block incoming localnet connections").
				add("-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "DROP").String(),
		}})
	}
	post := Chain{Name: n.Postrouting, Rules: []string{
		newRule(n.Postrouting).add("-m", "mark", "!", "--mark", mark+"/"+mark, "-j", "RETURN").String(),
		newRule(n.Postrouting).add("-j", "MARK", "--xor-mark", mark).String(),
		masquerade(n, c.RandomFully),
	}}
	markMasq := Chain{Name: n.MarkMasq, Rules: []string{
		newRule(n.MarkMasq).add("-j", "MARK", "--or-mark", mark).String(),
	}}
	nat = []Chain{nSvc, nNP, post, markMasq}
	return filter, nat
}

// Restore is the input of one iptables-restore --noflush: the chains
// listed are flushed and refilled (or deleted) in one transaction, and
// every other chain is left as it is.
type Restore struct {
	Filter, NAT []Chain
	// DeletedFilter and Deleted are filter and nat chains to remove
	// (they must no longer be referenced by any rule after the restore).
	DeletedFilter, Deleted []string
}

// Rules returns how many rules the restore writes in each table.
func (r *Restore) Rules() (filter, nat int) {
	for _, c := range r.Filter {
		filter += len(c.Rules)
	}
	for _, c := range r.NAT {
		nat += len(c.Rules)
	}
	return filter, nat
}

// String renders the iptables-restore input.
func (r *Restore) String() string {
	var b strings.Builder
	table := func(name string, chains []Chain, deleted []string) {
		b.WriteString("*" + name + "\n")
		for _, c := range chains {
			b.WriteString(":" + c.Name + " - [0:0]\n")
		}
		for _, d := range deleted {
			b.WriteString(":" + d + " - [0:0]\n")
		}
		for _, c := range chains {
			for _, l := range c.Rules {
				b.WriteString(l)
				b.WriteByte('\n')
			}
		}
		for _, d := range deleted {
			b.WriteString("-X " + d + "\n")
		}
		b.WriteString("COMMIT\n")
	}
	table("filter", r.Filter, r.DeletedFilter)
	table("nat", r.NAT, r.Deleted)
	return b.String()
}

// chainText is a chain's rules as one string, to tell whether it changed.
func chainText(c Chain) string { return strings.Join(c.Rules, "\n") }

func masquerade(n Names, randomFully bool) string {
	r := newRule(n.Postrouting).comment("kubernetes service traffic requiring SNAT").add("-j", "MASQUERADE")
	if randomFully {
		r.add("--random-fully")
	}
	return r.String()
}
