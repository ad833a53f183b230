package nftables

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// countingWriter counts the batches sent through an ElementWriter.
type countingWriter struct {
	ElementWriter
	n int
}

func (c *countingWriter) WriteElements(ctx context.Context, ch ElementChanges) error {
	c.n++
	return c.ElementWriter.WriteElements(ctx, ch)
}

// newRealWriter is NewNetlinkWriter made inside ns.
func newRealWriter(t *testing.T, ns, table string) *countingWriter {
	t.Helper()
	var w *NetlinkWriter
	var err error
	inNetns(t, ns, func() { w, err = NewNetlinkWriter(table) })
	if err != nil {
		t.Fatalf("NewNetlinkWriter: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return &countingWriter{ElementWriter: w}
}

// newNetlinkProxier is a proxier of table in ns that sends element-only
// syncs through a real NetlinkWriter.
func newNetlinkProxier(t *testing.T, ns, table string) (*Proxier, *countingWriter) {
	t.Helper()
	rc := baseConfig()
	rc.Table = table
	p := newTestProxier(newRealInterface(t, ns, table), rc)
	w := newRealWriter(t, ns, table)
	p.cfg.Elements = w
	return p, w
}

// syncIn runs a sync of p inside ns.
func syncIn(t *testing.T, ns string, p *Proxier, what string) {
	t.Helper()
	var err error
	inNetns(t, ns, func() { err = p.Sync(context.Background()) })
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// normalTable is the JSON listing of table in ns made comparable with
// another table's: handles dropped, the table's name replaced, elements
// and objects sorted (a hash set lists its elements in hash order).
func normalTable(t *testing.T, ns, table string) []string {
	t.Helper()
	out, err := nftIn(t, ns, "-j", "list", "table", "ip", table)
	if err != nil {
		t.Fatalf("list %s: %v: %s", table, err, out)
	}
	var doc struct {
		Nftables []map[string]map[string]any `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("listing of %s: %v", table, err)
	}
	var objs []string
	for _, o := range doc.Nftables {
		for kind, body := range o {
			if kind == "metainfo" {
				continue
			}
			delete(body, "handle")
			if kind == "table" {
				body["name"] = "T"
			} else {
				body["table"] = "T"
			}
			if elems, ok := body["elem"].([]any); ok {
				var s []string
				for _, e := range elems {
					b, _ := json.Marshal(e)
					s = append(s, string(b))
				}
				slices.Sort(s)
				body["elem"] = s
			}
			b, _ := json.Marshal(map[string]any{kind: body})
			objs = append(objs, string(b))
		}
	}
	slices.Sort(objs)
	return objs
}

// Syncs that change elements only go over netlink, one batch each, and
// leave the table as nft would: the same as a full sync of the final
// state through nft into another table.
func TestNetlinkMatchesNFT(t *testing.T) {
	ns := newNetns(t)
	const table, ref = "gtn-proxy", "gtr-proxy"
	p, w := newNetlinkProxier(t, ns, table)
	sync := func(p *Proxier, what string) { t.Helper(); syncIn(t, ns, p, what) }

	sh, eh := p.ServiceHandler(), p.SliceHandler()
	web := service("web", "10.251.0.5", corev1.ServicePort{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP})
	web.Spec.Type = corev1.ServiceTypeNodePort
	dns := service("dns", "10.251.0.10", corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolUDP})
	empty := service("empty", "10.251.0.6", corev1.ServicePort{Name: "a", Port: 81, Protocol: corev1.ProtocolUDP})
	for _, s := range []*corev1.Service{web, dns, empty} {
		sh.OnAdd(s, true)
	}
	eh.OnAdd(slice("web", "web-1", 8080, corev1.ProtocolTCP, "10.250.1.2", "10.250.1.3"), true)
	eh.OnAdd(slice("dns", "dns-1", 5353, corev1.ProtocolUDP, "10.250.2.2"), true)
	sync(p, "full sync")
	if w.n != 0 {
		t.Errorf("the full sync went over netlink")
	}

	steps := []struct {
		what   string
		change func()
	}{
		{"web's endpoints: one replaced, one more", func() {
			eh.OnUpdate(nil, slice("web", "web-1", 8080, corev1.ProtocolTCP, "10.250.1.3", "10.250.1.4", "10.250.1.5"))
		}},
		{"dns's endpoint replaced (udp)", func() {
			eh.OnUpdate(nil, slice("dns", "dns-1", 5353, corev1.ProtocolUDP, "10.250.2.3"))
		}},
		{"a second port for the Service without endpoints", func() {
			e := empty.DeepCopy()
			e.ResourceVersion = "2"
			e.Spec.Ports = append(e.Spec.Ports, corev1.ServicePort{Name: "b", Port: 82, Protocol: corev1.ProtocolTCP})
			sh.OnUpdate(empty, e)
		}},
		{"an external IP for web", func() {
			e := web.DeepCopy()
			e.ResourceVersion = "2"
			e.Spec.ExternalIPs = []string{"192.0.2.10"}
			sh.OnUpdate(web, e)
		}},
	}
	for i, st := range steps {
		st.change()
		sync(p, st.what)
		if w.n != i+1 {
			t.Errorf("%s: %d netlink batches after it, want %d", st.what, w.n, i+1)
		}
	}

	listing, _ := nftIn(t, ns, "list", "table", "ip", table)
	for _, want := range []string{
		"0-349524 : 10.250.1.3 . 8080", "349525-699049 : 10.250.1.4 . 8080", "699050-1048575 : 10.250.1.5 . 8080",
		"0-1048575 : 10.250.2.3 . 5353",
		`10.251.0.6 . tcp . 82 comment "ns/empty:b" : goto reject-chain`,
		"192.0.2.10 . tcp . 80 : goto external-",
		"10.250.1.5 . 10.250.1.5",
	} {
		if !strings.Contains(listing, want) {
			t.Errorf("no %q in\n%s", want, listing)
		}
	}
	for _, gone := range []string{"10.250.1.2", "10.250.2.2"} {
		if strings.Contains(listing, gone) {
			t.Errorf("%s still in\n%s", gone, listing)
		}
	}

	// The same final state, in one full sync through nft.
	rcr := baseConfig()
	rcr.Table = ref
	pr := newTestProxier(newRealInterface(t, ns, ref), rcr)
	shr, ehr := pr.ServiceHandler(), pr.SliceHandler()
	for _, s := range []*corev1.Service{web, dns, empty} {
		shr.OnAdd(s, true)
	}
	ehr.OnAdd(slice("web", "web-1", 8080, corev1.ProtocolTCP, "10.250.1.3", "10.250.1.4", "10.250.1.5"), true)
	ehr.OnAdd(slice("dns", "dns-1", 5353, corev1.ProtocolUDP, "10.250.2.3"), true)
	e := empty.DeepCopy()
	e.Spec.Ports = append(e.Spec.Ports, corev1.ServicePort{Name: "b", Port: 82, Protocol: corev1.ProtocolTCP})
	shr.OnUpdate(empty, e)
	wb := web.DeepCopy()
	wb.Spec.ExternalIPs = []string{"192.0.2.10"}
	shr.OnUpdate(web, wb)
	sync(pr, "reference full sync")

	got, want := normalTable(t, ns, table), normalTable(t, ns, ref)
	if !slices.Equal(got, want) {
		for _, g := range got {
			if !slices.Contains(want, g) {
				t.Errorf("only after the netlink batches: %s", g)
			}
		}
		for _, r := range want {
			if !slices.Contains(got, r) {
				t.Errorf("only after the full sync: %s", r)
			}
		}
	}
}

// Elements an ElementWriter cannot express are refused before anything
// is sent.
func TestEncodeElement(t *testing.T) {
	el, err := encodeElement(Element{In: mapServiceIPs, Key: []string{"10.96.0.1", "udp", "53"}, Value: "goto service-x"}, false)
	if err != nil {
		t.Fatal(err)
	}
	wantKey := []byte{10, 96, 0, 1, 17, 0, 0, 0, 0, 53, 0, 0}
	if !slices.Equal(el.Key, wantKey) || el.VerdictData == nil || el.VerdictData.Chain != "service-x" {
		t.Errorf("element %+v, want key %v", el, wantKey)
	}
	for _, bad := range []Element{
		{In: setNodePortIPs, Key: []string{"10.0.0.0/8"}},
		{In: mapServiceIPs, Key: []string{"10.96.0.1", "icmp", "53"}, Value: "drop"},
		{In: mapServiceIPs, Key: []string{"fd00::1", "tcp", "53"}, Value: "drop"},
		{In: mapServiceIPs, Key: []string{"10.96.0.1", "tcp", "53"}, Value: "jump x"},
	} {
		if _, err := encodeElement(bad, false); err == nil || !strings.Contains(err.Error(), ErrNotEncodable.Error()) {
			t.Errorf("%v: err %v, want ErrNotEncodable", bad, err)
		}
	}
	m := endpointElements(EndpointMap{Entries: []EndpointEntry{{First: 0, Last: 524287, To: netip.MustParseAddrPort("10.0.0.2:8080")}}})
	if len(m) != 2 || !slices.Equal(m[0].Key, []byte{0, 0, 0, 0}) || !slices.Equal(m[0].Val, []byte{10, 0, 0, 2, 0x1f, 0x90, 0, 0}) ||
		!slices.Equal(m[1].Key, []byte{0, 8, 0, 0}) || !m[1].IntervalEnd {
		t.Errorf("endpoint map elements %+v", m)
	}
}

// A batch larger than one netlink message holds: a Service's 3,000
// endpoints, and 600 new Services without endpoints in one sync.
func TestNetlinkLargeBatch(t *testing.T) {
	ns := newNetns(t)
	const table = "gtl-proxy"
	p, w := newNetlinkProxier(t, ns, table)
	sync := func(what string) { t.Helper(); syncIn(t, ns, p, what) }
	sh, eh := p.ServiceHandler(), p.SliceHandler()
	sh.OnAdd(service("big", "10.251.0.5", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP}), true)
	eh.OnAdd(slice("big", "big-1", 8080, corev1.ProtocolTCP, "10.250.1.2"), true)
	sync("full sync")

	var addrs []string
	for i := range 3000 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{10, 250, byte(10 + i/250), byte(i%250 + 1)}).String())
	}
	eh.OnUpdate(nil, slice("big", "big-1", 8080, corev1.ProtocolTCP, addrs...))
	for i := range 600 {
		sh.OnAdd(service(fmt.Sprintf("empty-%d", i), netip.AddrFrom4([4]byte{10, 251, byte(1 + i/250), byte(i%250 + 1)}).String(),
			corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP}), false)
	}
	sync("3,000 endpoints and 600 Services")
	if w.n != 1 {
		t.Errorf("%d netlink batches, want 1", w.n)
	}
	out, err := nftIn(t, ns, "list", "table", "ip", table)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if n := strings.Count(out, " . 8080"); n != 3000 {
		t.Errorf("%d endpoint map elements, want 3000", n)
	}
	if n := strings.Count(out, ": goto reject-chain"); n != 600 {
		t.Errorf("%d reject elements, want 600", n)
	}
}
