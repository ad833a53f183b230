package multihost

import "github.com/gantry-dev/gantry/integration/internal/netns"

// relay carries the API server into a host: it listens on an address in
// the host's namespace and relays to the same address in the root
// namespace (see netns.Relay).
type relay struct{ *netns.Relay }

// newRelay listens on addr in the namespace ns and relays to addr in
// the root namespace.
func newRelay(ns, addr string) (*relay, error) {
	r, err := netns.NewRelay(ns, addr)
	if err != nil {
		return nil, err
	}
	return &relay{r}, nil
}

// close stops the relay and cuts its connections.
func (r *relay) close() error { return r.Close() }
