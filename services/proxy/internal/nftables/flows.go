package nftables

import (
	"context"

	"github.com/gantry-dev/gantry/services/proxy/internal/iptables"
	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

// staleFlows returns the conntrack entries to flush when a Service
// goes from old to new (either may be nil), as the iptables mode does
// (iptables.StaleFlows).
func staleFlows(old, new *entry) []iptables.Flow {
	var oldEps, newEps proxy.EndpointsMap
	if old != nil {
		oldEps = old.eps
	}
	if new != nil {
		newEps = new.eps
	}
	return iptables.StaleFlows(old.portList(), oldEps, new.portList(), newEps)
}

func (p *Proxier) flushFlows(ctx context.Context, flows []iptables.Flow) {
	iptables.FlushFlows(ctx, p.cfg.Conntrack, p.cfg.Log, flows)
}
