package nftables

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

// benchServices is n Services of 10 endpoints each.
func benchServices(n int, shift byte) []proxy.ServiceState {
	var ports []portCase
	for i := range n {
		var eps []proxy.Endpoint
		for j := range 10 {
			eps = append(eps, ep(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 244, byte(i / 20), byte((i%20)*10 + j + 1 + int(shift))}), 8080).String(), "r"))
		}
		ports = append(ports, portCase{svcPort("bench", fmt.Sprintf("svc-%d", i), "", corev1.ProtocolTCP,
			netip.AddrFrom4([4]byte{10, 96, byte(i / 250), byte(i%250 + 1)}).String(), 80), eps})
	}
	return states(ports...)
}

// benchSync runs, against the real nft in a namespace, a first full sync
// of 1,000 Services (10,000 endpoints), then b.N times step.
func benchSync(b *testing.B, step func(p *Proxier, i int) error) {
	ns := newNetns(b)
	const table = "gtb-proxy"
	rc := baseConfig()
	rc.Table = table
	var err error
	inNetns(b, ns, func() {
		nft, e := NewInterface(context.Background(), table)
		if e != nil {
			err = e
			return
		}
		p := newTestProxier(nft, rc)
		if err = p.sync(context.Background(), time.Now(), true, proxy.Changes{Services: benchServices(1000, 0)}); err != nil {
			return
		}
		b.ResetTimer()
		for i := 0; i < b.N && err == nil; i++ {
			err = step(p, i)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
}

// A full sync of 1,000 Services with 10 endpoints each.
//
//	go test -run '^$' -bench Sync ./internal/nftables/
func BenchmarkFullSync(b *testing.B) {
	all := benchServices(1000, 0)
	benchSync(b, func(p *Proxier, _ int) error {
		return p.sync(context.Background(), time.Now(), true, proxy.Changes{Services: all})
	})
}

// An incremental sync: one of the 1,000 Services' endpoints all change.
func BenchmarkIncrementalSync(b *testing.B) {
	benchSync(b, func(p *Proxier, i int) error {
		return p.sync(context.Background(), time.Now(), false, proxy.Changes{Services: benchServices(1, byte(1+i%2))})
	})
}
