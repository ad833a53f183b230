package dns

import (
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/gantry-dev/gantry/libs/client"
)

func TestSettingsUpstreams(t *testing.T) {
	resolv := writeFile(t, "resolv.conf", "search example.org\nnameserver 192.0.2.53\nnameserver 10.96.0.10\nnameserver 2001:db8::53\noptions ndots:2\n")
	tests := []struct {
		name    string
		cfg     Config
		want    []string
		wantErr string
	}{
		{name: "from resolv.conf, without the server's own address",
			cfg:  Config{Listen: []string{"10.96.0.10:53"}, ResolvConf: resolv},
			want: []string{"192.0.2.53:53", "[2001:db8::53]:53"}},
		{name: "explicit, with and without ports",
			cfg:  Config{Listen: []string{"10.96.0.10:53"}, Upstreams: []string{"192.0.2.1", "192.0.2.2:5353", "[2001:db8::1]:53", "10.96.0.10"}},
			want: []string{"192.0.2.1:53", "192.0.2.2:5353", "[2001:db8::1]:53"}},
		{name: "a wildcard listener is every local address",
			cfg:  Config{Listen: []string{"0.0.0.0:53"}, Upstreams: []string{"127.0.0.1", "127.0.0.53:53", "127.0.0.1:5353"}},
			want: []string{"127.0.0.1:5353"}},
		{name: "bad upstream", cfg: Config{Listen: []string{"10.96.0.10:53"}, Upstreams: []string{"dns.example"}}, wantErr: "upstream"},
		{name: "bad listen", cfg: Config{Listen: []string{"10.96.0.10"}}, wantErr: "listen address"},
		{name: "no listen", cfg: Config{}, wantErr: "no listen address"},
		{name: "missing resolv.conf", cfg: Config{Listen: []string{"10.96.0.10:53"}, ResolvConf: t.TempDir() + "/none"}, wantErr: "upstream resolvers"},
		{name: "bad domain", cfg: Config{Listen: []string{"10.96.0.10:53"}, Upstreams: []string{"192.0.2.1"}, Domain: "a..b"}, wantErr: "domain"},
		{name: "negative TTL", cfg: Config{Listen: []string{"10.96.0.10:53"}, Upstreams: []string{"192.0.2.1"}, TTL: -time.Second}, wantErr: "TTL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Log = quietLog()
			s, err := tc.cfg.settings()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one about %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.upstreams, tc.want) {
				t.Errorf("upstreams = %q, want %q", s.upstreams, tc.want)
			}
		})
	}
}

func TestSettingsDefaults(t *testing.T) {
	s, err := Config{Listen: []string{"10.96.0.10:53"}, Upstreams: []string{"192.0.2.1"}, Log: quietLog()}.settings()
	if err != nil {
		t.Fatal(err)
	}
	if s.zone != "cluster.local." || s.ttl != 5 || s.fwdTimeout != DefaultForwardTimeout || s.maxForwards != DefaultMaxForwards {
		t.Errorf("defaults: zone %q ttl %d timeout %s max %d", s.zone, s.ttl, s.fwdTimeout, s.maxForwards)
	}
	s, err = Config{Listen: []string{"10.96.0.10:53"}, Upstreams: []string{"192.0.2.1"}, Domain: "Corp.Example", TTL: 30 * time.Second, Log: quietLog()}.settings()
	if err != nil {
		t.Fatal(err)
	}
	if s.zone != "corp.example." || s.ttl != 30 {
		t.Errorf("zone %q ttl %d, want corp.example. 30", s.zone, s.ttl)
	}
}

// TestNewRegistersInformers: New adds its indexes to the factory's
// Service and EndpointSlice informers and answers from their caches.
func TestNewRegistersInformers(t *testing.T) {
	f := client.NewInformerFactory(nil, "", 0)
	srv, err := New(Config{Informers: f, Listen: []string{"127.0.0.1:0"}, Upstreams: []string{"127.0.0.1:1"}, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	svcs := client.InformerFor(f, client.Services).GetIndexer()
	sls := client.InformerFor(f, client.EndpointSlices).GetIndexer()
	if err := svcs.Add(headlessService("default", "db", svcPort("mysql", corev1.ProtocolTCP, 3306))); err != nil {
		t.Fatal(err)
	}
	if err := sls.Add(slice("default", "db", "db-a", discoveryv1.AddressTypeIPv4, nil, ep("10.244.1.5", "db-0", false))); err != nil {
		t.Fatal(err)
	}
	if got := srv.zone.lookup(srv.view, "db.default.svc.cluster.local.", mdns.TypeA); got.rcode != mdns.RcodeServerFailure {
		t.Errorf("before the informers synced: rcode %s, want SERVFAIL", mdns.RcodeToString[got.rcode])
	}
	v := srv.view.(*indexView)
	v.hasSynced = func() bool { return true }
	got := srv.zone.lookup(v, "db-0.db.default.svc.cluster.local.", mdns.TypeA)
	check(t, "answer", rrStrings(got.answer), []string{"db-0.db.default.svc.cluster.local. 5 IN A 10.244.1.5"})
	if err := srv.Healthy(); err == nil {
		t.Error("Healthy() = nil before Run")
	}
}
