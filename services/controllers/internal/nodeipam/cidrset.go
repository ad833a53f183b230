package nodeipam

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
)

// maxSubnetBits bounds how many node ranges one cluster range is cut
// into (2^16), as Kubernetes does.
const maxSubnetBits = 16

var (
	// errFull: every node range is in use.
	errFull = errors.New("no pod CIDR left in the cluster CIDR")
	// errOutOfRange: a CIDR outside the cluster range.
	errOutOfRange = errors.New("CIDR is outside the cluster CIDR")
)

// cidrSet is the node ranges of one cluster range: a bitmap of which are
// in use and a cursor, so that released ranges are reused last.
type cidrSet struct {
	cluster  netip.Prefix
	nodeBits int // prefix length of a node range
	count    int // node ranges in the cluster range
	used     []uint64
	inUse    int
	next     int
}

func newCIDRSet(cluster netip.Prefix, nodeBits int) (*cidrSet, error) {
	cluster = cluster.Masked()
	switch {
	case nodeBits < cluster.Bits():
		return nil, fmt.Errorf("node mask /%d is wider than the cluster CIDR %s", nodeBits, cluster)
	case nodeBits > cluster.Addr().BitLen():
		return nil, fmt.Errorf("node mask /%d is too long for %s", nodeBits, cluster)
	case nodeBits-cluster.Bits() > maxSubnetBits:
		return nil, fmt.Errorf("node mask /%d cuts %s into more than 2^%d ranges", nodeBits, cluster, maxSubnetBits)
	}
	count := 1 << (nodeBits - cluster.Bits())
	return &cidrSet{cluster: cluster, nodeBits: nodeBits, count: count, used: make([]uint64, (count+63)/64)}, nil
}

func (s *cidrSet) isUsed(i int) bool { return s.used[i/64]&(1<<(i%64)) != 0 }

func (s *cidrSet) set(i int, used bool) {
	if s.isUsed(i) == used {
		return
	}
	s.used[i/64] ^= 1 << (i % 64)
	if used {
		s.inUse++
	} else {
		s.inUse--
	}
}

// allocate returns the next free node range.
func (s *cidrSet) allocate() (netip.Prefix, error) {
	if s.inUse == s.count {
		return netip.Prefix{}, fmt.Errorf("%w %s (%d ranges of /%d)", errFull, s.cluster, s.count, s.nodeBits)
	}
	for n := range s.count {
		i := (s.next + n) % s.count
		if !s.isUsed(i) {
			s.set(i, true)
			s.next = (i + 1) % s.count
			return s.prefix(i), nil
		}
	}
	return netip.Prefix{}, errFull // unreachable: inUse < count
}

// occupy marks every node range p covers as used (p may be a node range,
// or wider or narrower than one).
func (s *cidrSet) occupy(p netip.Prefix) error {
	first, n, err := s.span(p)
	if err != nil {
		return err
	}
	for i := first; i < first+n; i++ {
		s.set(i, true)
	}
	return nil
}

// release marks the node ranges p covers as free.
func (s *cidrSet) release(p netip.Prefix) error {
	first, n, err := s.span(p)
	if err != nil {
		return err
	}
	for i := first; i < first+n; i++ {
		s.set(i, false)
	}
	return nil
}

// span returns the first index and the number of the node ranges p
// covers.
func (s *cidrSet) span(p netip.Prefix) (first, n int, err error) {
	p = p.Masked()
	if !p.IsValid() || p.Addr().BitLen() != s.cluster.Addr().BitLen() || !p.Overlaps(s.cluster) {
		return 0, 0, fmt.Errorf("%w %s: %s", errOutOfRange, s.cluster, p)
	}
	if p.Bits() <= s.cluster.Bits() {
		return 0, s.count, nil
	}
	first = s.index(p.Addr())
	if p.Bits() >= s.nodeBits {
		return first, 1, nil
	}
	return first, 1 << (s.nodeBits - p.Bits()), nil
}

// index is the node range addr falls in.
func (s *cidrSet) index(addr netip.Addr) int {
	off := new(big.Int).Sub(toInt(addr), toInt(s.cluster.Addr()))
	off.Rsh(off, uint(addr.BitLen()-s.nodeBits))
	return int(off.Int64())
}

// prefix is node range i.
func (s *cidrSet) prefix(i int) netip.Prefix {
	off := new(big.Int).Lsh(big.NewInt(int64(i)), uint(s.cluster.Addr().BitLen()-s.nodeBits))
	return netip.PrefixFrom(fromInt(off.Add(off, toInt(s.cluster.Addr())), s.cluster.Addr().Is4()), s.nodeBits)
}

func toInt(a netip.Addr) *big.Int { return new(big.Int).SetBytes(a.AsSlice()) }

func fromInt(v *big.Int, is4 bool) netip.Addr {
	if is4 {
		var b [4]byte
		v.FillBytes(b[:])
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	v.FillBytes(b[:])
	return netip.AddrFrom16(b)
}

// free is how many node ranges are left.
func (s *cidrSet) free() int { return s.count - s.inUse }
