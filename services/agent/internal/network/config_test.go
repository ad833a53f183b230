package network

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestConfigValidation(t *testing.T) {
	valid := func() Config {
		return Config{
			ConfDir: "/tmp/x/net.d", CacheDir: "/tmp/x/cache", StateDir: "/tmp/x/state",
			PodCIDR: netip.MustParsePrefix("10.244.1.0/24"),
		}
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string // in the error; "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no pod CIDR", func(c *Config) { c.PodCIDR = netip.Prefix{} }, "PodCIDR is required"},
		{"pod CIDR outside cluster", func(c *Config) { c.PodCIDR = netip.MustParsePrefix("10.245.1.0/24") }, "not inside ClusterCIDR"},
		{"pod CIDR larger than cluster", func(c *Config) { c.PodCIDR = netip.MustParsePrefix("10.0.0.0/8") }, "not inside ClusterCIDR"},
		{"host bits", func(c *Config) { c.PodCIDR = netip.MustParsePrefix("10.244.1.1/24") }, "did you mean 10.244.1.0/24"},
		{"IPv6", func(c *Config) { c.PodCIDR = netip.MustParsePrefix("fd00::/64") }, "only IPv4"},
		{"tiny pod CIDR", func(c *Config) { c.PodCIDR = netip.MustParsePrefix("10.244.1.0/31") }, "too small"},
		{"service overlaps cluster", func(c *Config) { c.ServiceCIDR = netip.MustParsePrefix("10.244.0.0/20") }, "overlaps"},
		{"long bridge name", func(c *Config) { c.BridgeName = "a-very-long-bridge" }, "longer than 15"},
		{"relative dir", func(c *Config) { c.StateDir = "state" }, "not an absolute path"},
		{"same device names", func(c *Config) { c.DummyDevice = DefaultBridgeName }, "both"},
		{"bad MTU", func(c *Config) { c.MTU = 100 }, "MTU"},
		{"node IP in cluster", func(c *Config) { c.NodeIP = netip.MustParseAddr("10.244.9.9") }, "NodeIP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.change(&cfg)
			_, err := New(cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("New: %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestConfList(t *testing.T) {
	n, err := New(Config{
		ConfDir: "/tmp/x/net.d", CacheDir: "/tmp/x/cache", StateDir: "/srv/state",
		PodCIDR: netip.MustParsePrefix("10.244.7.0/24"), MTU: 1450, HairpinMode: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		CNIVersion string `json:"cniVersion"`
		Name       string `json:"name"`
		Plugins    []map[string]any
	}
	if err := json.Unmarshal(n.conf, &got); err != nil {
		t.Fatal(err)
	}
	if got.CNIVersion != "1.0.0" || got.Name != NetworkName || len(got.Plugins) != 3 {
		t.Fatalf("conflist %s", n.conf)
	}
	var types []string
	for _, p := range got.Plugins {
		types = append(types, p["type"].(string))
	}
	if strings.Join(types, ",") != "bridge,portmap,loopback" {
		t.Errorf("plugins %v", types)
	}
	bridge := got.Plugins[0]
	for key, want := range map[string]any{
		"bridge": DefaultBridgeName, "isGateway": true, "ipMasq": false, "hairpinMode": true, "mtu": 1450.0,
	} {
		if bridge[key] != want {
			t.Errorf("bridge %s = %v, want %v", key, bridge[key], want)
		}
	}
	ipam, _ := json.Marshal(bridge["ipam"])
	want := `{"dataDir":"/srv/state/ipam","ranges":[[{"gateway":"10.244.7.1","subnet":"10.244.7.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],"type":"host-local"}`
	if string(ipam) != want {
		t.Errorf("ipam %s\nwant %s", ipam, want)
	}
	if caps, _ := json.Marshal(got.Plugins[1]["capabilities"]); string(caps) != `{"portMappings":true}` {
		t.Errorf("portmap capabilities %s", caps)
	}
	if n.list.Name != NetworkName || len(n.list.Plugins) != 3 {
		t.Errorf("parsed list %+v", n.list)
	}
}

func TestFromPod(t *testing.T) {
	pod := &corev1.Pod{}
	pod.UID, pod.Namespace, pod.Name = "u1", "ns", "web"
	pod.Spec.InitContainers = []corev1.Container{{Ports: []corev1.ContainerPort{{ContainerPort: 9000, HostPort: 19000}}}}
	pod.Spec.Containers = []corev1.Container{{Ports: []corev1.ContainerPort{
		{ContainerPort: 80},
		{ContainerPort: 53, HostPort: 53, Protocol: corev1.ProtocolUDP, HostIP: "192.0.2.10"},
	}}}
	got := FromPod(pod, "/run/netns/x")
	want := PodNetwork{UID: "u1", Namespace: "ns", Name: "web", NetNS: "/run/netns/x", PortMappings: []PortMapping{
		{HostPort: 19000, ContainerPort: 9000},
		{HostPort: 53, ContainerPort: 53, Protocol: "UDP", HostIP: "192.0.2.10"},
	}}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("FromPod = %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestPodValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		pod  PodNetwork
		want string
	}{
		{"no uid", PodNetwork{NetNS: "/x"}, "no UID"},
		{"no netns", PodNetwork{UID: "u"}, "no network namespace"},
		{"bad port", PodNetwork{UID: "u", NetNS: "/x", PortMappings: []PortMapping{{HostPort: 70000, ContainerPort: 80}}}, "out of range"},
		{"bad protocol", PodNetwork{UID: "u", NetNS: "/x", PortMappings: []PortMapping{{HostPort: 80, ContainerPort: 80, Protocol: "ICMP"}}}, "unsupported protocol"},
		{"IPv6 host IP", PodNetwork{UID: "u", NetNS: "/x", PortMappings: []PortMapping{{HostPort: 80, ContainerPort: 80, HostIP: "::1"}}}, "not an IPv4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.pod.validate(true); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("validate: %v, want %q", err, tc.want)
			}
		})
	}
}
