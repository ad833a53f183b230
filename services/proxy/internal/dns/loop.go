package dns

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"

	mdns "github.com/miekg/dns"
)

// loopProbe detects a forwarding loop the way CoreDNS's loop plugin
// does: when serving starts, the server forwards a query for a random
// name of its own; if that query comes back to the server, some upstream
// forwards to it (a node resolver pointed at the cluster DNS, say).
// The server then answers the probe itself (so it does not circle),
// stops forwarding (every forwarded query would circle until it timed
// out) and reports itself unhealthy.
type loopProbe struct {
	name     string // lower-case FQDN
	detected atomic.Bool
}

func newLoopProbe() *loopProbe {
	return &loopProbe{name: fmt.Sprintf("%d.%d.gantry-dns-loop-probe.invalid.", rand.Uint64(), rand.Uint64())}
}

// is reports whether q is the probe, recording the loop if so.
func (p *loopProbe) is(q mdns.Question) bool {
	if q.Qtype != mdns.TypeHINFO || strings.ToLower(q.Name) != p.name {
		return false
	}
	p.detected.Store(true)
	return true
}

// send forwards the probe once through f; its answer does not matter.
func (p *loopProbe) send(ctx context.Context, f *forwarder) {
	q := new(mdns.Msg).SetQuestion(p.name, mdns.TypeHINFO)
	_, _ = f.exchange(ctx, q, "udp")
}
