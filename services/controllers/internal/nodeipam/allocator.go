package nodeipam

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// ipv6NodeBits is the size of an IPv6 node range (Kubernetes'
// --node-cidr-mask-size-ipv6 default).
const ipv6NodeBits = 64

// allocator hands out node ranges from the cluster ranges (one per IP
// family) and remembers which node holds which, so that a deleted node's
// ranges can be released.
type allocator struct {
	mu    sync.Mutex
	sets  []*cidrSet
	nodes map[string]holding
}

// holding is what one node holds: the node's UID and its ranges.
type holding struct {
	uid   types.UID
	cidrs []netip.Prefix
}

// newAllocator parses clusterCIDRs ("10.244.0.0/16" or an IPv4,IPv6
// pair) and cuts IPv4 ranges into /nodeBits4 node ranges, IPv6 ones into
// /64s.
func newAllocator(clusterCIDRs string, nodeBits4 int) (*allocator, error) {
	a := &allocator{nodes: map[string]holding{}}
	seen := map[bool]bool{}
	for _, s := range strings.Split(clusterCIDRs, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("cluster CIDR %q: %w", s, err)
		}
		is4 := p.Addr().Is4()
		if seen[is4] {
			return nil, fmt.Errorf("cluster CIDRs %q: at most one per IP family", clusterCIDRs)
		}
		seen[is4] = true
		bits := ipv6NodeBits
		if is4 {
			bits = nodeBits4
		}
		set, err := newCIDRSet(p, bits)
		if err != nil {
			return nil, fmt.Errorf("cluster CIDR %s: %w", s, err)
		}
		a.sets = append(a.sets, set)
	}
	if len(a.sets) == 0 {
		return nil, errors.New("no cluster CIDR")
	}
	return a, nil
}

func (a *allocator) setFor(p netip.Prefix) *cidrSet {
	for _, s := range a.sets {
		if s.cluster.Addr().Is4() == p.Addr().Is4() {
			return s
		}
	}
	return nil
}

// occupy records that node holds cidrs (its spec.podCIDRs), marking them
// used. Ranges outside the cluster ranges are kept by the node but not
// tracked; they are reported.
func (a *allocator) occupy(node string, uid types.UID, cidrs []string) error {
	var prefixes []netip.Prefix
	var errs []error
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("node %s: pod CIDR %q: %w", node, c, err))
			continue
		}
		prefixes = append(prefixes, p.Masked())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if h, ok := a.nodes[node]; ok {
		if h.uid == uid && slices.Equal(h.cidrs, prefixes) {
			return errors.Join(errs...)
		}
		a.releaseLocked(h.cidrs)
	}
	var tracked []netip.Prefix
	for _, p := range prefixes {
		set := a.setFor(p)
		if set == nil {
			errs = append(errs, fmt.Errorf("node %s: pod CIDR %s: %w", node, p, errOutOfRange))
			continue
		}
		if err := set.occupy(p); err != nil {
			errs = append(errs, fmt.Errorf("node %s: %w", node, err))
			continue
		}
		tracked = append(tracked, p)
	}
	a.nodes[node] = holding{uid: uid, cidrs: tracked}
	return errors.Join(errs...)
}

// allocate returns node ranges for the node (one per cluster range). A
// node that was given ranges before and has not shown them yet (its
// update may still be on its way) gets the same ones again.
func (a *allocator) allocate(node string, uid types.UID) ([]netip.Prefix, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if h, ok := a.nodes[node]; ok {
		if h.uid == uid && len(h.cidrs) == len(a.sets) {
			return slices.Clone(h.cidrs), nil
		}
		// An earlier node of that name, or a partial holding.
		a.releaseLocked(h.cidrs)
		delete(a.nodes, node)
	}
	var out []netip.Prefix
	for _, set := range a.sets {
		p, err := set.allocate()
		if err != nil {
			a.releaseLocked(out)
			return nil, err
		}
		out = append(out, p)
	}
	a.nodes[node] = holding{uid: uid, cidrs: out}
	return slices.Clone(out), nil
}

// release frees what node holds; it reports whether it held anything.
func (a *allocator) release(node string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	h, ok := a.nodes[node]
	if !ok {
		return false
	}
	delete(a.nodes, node)
	a.releaseLocked(h.cidrs)
	return len(h.cidrs) > 0
}

// forget releases what node holds if it is the allocation of uid (a
// failed update of that node).
func (a *allocator) forget(node string, uid types.UID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if h, ok := a.nodes[node]; ok && h.uid == uid {
		delete(a.nodes, node)
		a.releaseLocked(h.cidrs)
	}
}

func (a *allocator) releaseLocked(cidrs []netip.Prefix) {
	for _, p := range cidrs {
		if set := a.setFor(p); set != nil {
			_ = set.release(p) // tracked ranges are inside their set
		}
	}
}
