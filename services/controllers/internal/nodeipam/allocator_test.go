package nodeipam

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

func TestCIDRSet(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cluster string
		bits    int
		want    []string // successive allocations
		wantErr bool
	}{
		{name: "IPv4 /24s", cluster: "10.244.0.0/16", bits: 24, want: []string{"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"}},
		{name: "unmasked cluster CIDR", cluster: "10.244.3.7/16", bits: 24, want: []string{"10.244.0.0/24"}},
		{name: "IPv6 /64s", cluster: "fd00:10:244::/56", bits: 64, want: []string{"fd00:10:244::/64", "fd00:10:244:1::/64"}},
		{name: "small range runs out", cluster: "10.0.0.0/23", bits: 24, want: []string{"10.0.0.0/24", "10.0.1.0/24", "full"}},
		{name: "node mask wider than the cluster", cluster: "10.0.0.0/16", bits: 8, wantErr: true},
		{name: "too many ranges", cluster: "10.0.0.0/8", bits: 30, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newCIDRSet(netip.MustParsePrefix(tc.cluster), tc.bits)
			if (err != nil) != tc.wantErr {
				t.Fatalf("newCIDRSet: %v", err)
			}
			if err != nil {
				return
			}
			for _, want := range tc.want {
				p, err := s.allocate()
				if want == "full" {
					if !errors.Is(err, errFull) {
						t.Fatalf("allocate = %v, %v; want full", p, err)
					}
					continue
				}
				if err != nil || p.String() != want {
					t.Fatalf("allocate = %v, %v; want %s", p, err, want)
				}
			}
		})
	}
}

func TestCIDRSetOccupyRelease(t *testing.T) {
	s, err := newCIDRSet(netip.MustParsePrefix("10.0.0.0/22"), 24)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.occupy(netip.MustParsePrefix("10.0.0.0/24")); err != nil {
		t.Fatal(err)
	}
	if err := s.occupy(netip.MustParsePrefix("10.0.2.128/25")); err != nil { // narrower: its /24 is used
		t.Fatal(err)
	}
	if err := s.occupy(netip.MustParsePrefix("192.168.0.0/24")); !errors.Is(err, errOutOfRange) {
		t.Fatalf("occupy outside: %v", err)
	}
	var got []string
	for {
		p, err := s.allocate()
		if err != nil {
			break
		}
		got = append(got, p.String())
	}
	if want := []string{"10.0.1.0/24", "10.0.3.0/24"}; !slices.Equal(got, want) {
		t.Fatalf("allocated %v, want %v", got, want)
	}
	if err := s.release(netip.MustParsePrefix("10.0.1.0/24")); err != nil {
		t.Fatal(err)
	}
	if p, err := s.allocate(); err != nil || p.String() != "10.0.1.0/24" {
		t.Fatalf("after release: %v, %v", p, err)
	}
	if err := s.release(netip.MustParsePrefix("10.0.0.0/23")); err != nil { // wider: both /24s
		t.Fatal(err)
	}
	if s.free() != 2 {
		t.Fatalf("free = %d, want 2", s.free())
	}
}

func TestAllocator(t *testing.T) {
	a, err := newAllocator("10.244.0.0/23", 24)
	if err != nil {
		t.Fatal(err)
	}
	// Restart: node a already holds the first range.
	if err := a.occupy("a", "uid-a", []string{"10.244.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	b, err := a.allocate("b", "uid-b")
	if err != nil || b[0].String() != "10.244.1.0/24" {
		t.Fatalf("allocate b = %v, %v", b, err)
	}
	// Its update not seen yet: the same range again, nothing new taken.
	if again, err := a.allocate("b", "uid-b"); err != nil || !slices.Equal(again, b) {
		t.Fatalf("allocate b again = %v, %v", again, err)
	}
	if _, err := a.allocate("c", "uid-c"); !errors.Is(err, errFull) {
		t.Fatalf("allocate c: %v, want full", err)
	}
	if !a.release("a") || a.release("a") {
		t.Fatal("release a: want true once")
	}
	if c, err := a.allocate("c", "uid-c"); err != nil || c[0].String() != "10.244.0.0/24" {
		t.Fatalf("allocate c after release = %v, %v", c, err)
	}
	// A new node named b (another UID) gets a fresh allocation; the old
	// one's range is released first.
	if b2, err := a.allocate("b", "uid-b2"); err != nil || b2[0].String() != "10.244.1.0/24" {
		t.Fatalf("allocate new b = %v, %v", b2, err)
	}
	a.forget("b", "uid-other")
	if _, err := a.allocate("d", "uid-d"); !errors.Is(err, errFull) {
		t.Fatal("forget of another UID released b's range")
	}
	a.forget("b", "uid-b2")
	if d, err := a.allocate("d", "uid-d"); err != nil || d[0].String() != "10.244.1.0/24" {
		t.Fatalf("allocate d after forget = %v, %v", d, err)
	}
}

func TestAllocatorDualStack(t *testing.T) {
	a, err := newAllocator("10.244.0.0/16, fd00::/48", 24)
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.allocate("n", "uid")
	if err != nil || len(got) != 2 || got[0].String() != "10.244.0.0/24" || got[1].String() != "fd00::/64" {
		t.Fatalf("allocate = %v, %v", got, err)
	}
	for _, bad := range []string{"", "10.0.0.0/16,10.1.0.0/16", "nonsense"} {
		if _, err := newAllocator(bad, 24); err == nil {
			t.Errorf("newAllocator(%q) accepted", bad)
		}
	}
}
