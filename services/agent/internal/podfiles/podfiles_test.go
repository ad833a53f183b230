package podfiles

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-0"}}
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const localhost = "# Kubernetes-managed hosts file.\n" +
	"127.0.0.1\tlocalhost\n" +
	"::1\tlocalhost ip6-localhost ip6-loopback\n" +
	"fe00::0\tip6-localnet\n" +
	"fe00::0\tip6-mcastprefix\n" +
	"fe00::1\tip6-allnodes\n" +
	"fe00::2\tip6-allrouters\n"

func TestEtcHosts(t *testing.T) {
	nodeHosts := writeTemp(t, "hosts", "127.0.0.1 localhost\n192.168.1.10 node-1\n")
	cfg := DNSConfig{ClusterDomain: "cluster.local", HostHostsFile: nodeHosts}
	aliases := []corev1.HostAlias{
		{IP: "10.1.2.3", Hostnames: []string{"foo.local", "bar.local"}},
		{IP: "10.1.2.4", Hostnames: []string{"baz"}},
	}
	long := strings.Repeat("a", 62) + "-b"
	tests := []struct {
		name    string
		mutate  func(*corev1.Pod)
		ips     []string
		want    string
		wantErr string
	}{
		{
			name: "pod IPs",
			ips:  []string{"10.244.1.7", "fd00::7"},
			want: localhost + "10.244.1.7\tweb-0\nfd00::7\tweb-0\n",
		},
		{
			name:   "hostname and subdomain",
			mutate: func(p *corev1.Pod) { p.Spec.Hostname = "db"; p.Spec.Subdomain = "backend" },
			ips:    []string{"10.244.1.7"},
			want:   localhost + "10.244.1.7\tdb.backend.shop.svc.cluster.local\tdb\n",
		},
		{
			name:   "subdomain only",
			mutate: func(p *corev1.Pod) { p.Spec.Subdomain = "backend" },
			ips:    []string{"10.244.1.7"},
			want:   localhost + "10.244.1.7\tweb-0.backend.shop.svc.cluster.local\tweb-0\n",
		},
		{
			name:   "long pod name is cut, trailing dash dropped",
			mutate: func(p *corev1.Pod) { p.Name = long },
			ips:    []string{"10.244.1.7"},
			want:   localhost + "10.244.1.7\t" + strings.Repeat("a", 62) + "\n",
		},
		{
			name:   "hostAliases",
			mutate: func(p *corev1.Pod) { p.Spec.HostAliases = aliases },
			ips:    []string{"10.244.1.7"},
			want: localhost + "10.244.1.7\tweb-0\n" +
				"\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n10.1.2.4\tbaz\n",
		},
		{
			name:   "hostNetwork copies the node's file",
			mutate: func(p *corev1.Pod) { p.Spec.HostNetwork = true; p.Spec.HostAliases = aliases[1:] },
			ips:    []string{"192.168.1.10"},
			want: "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n192.168.1.10 node-1\n" +
				"\n# Entries added by HostAliases.\n10.1.2.4\tbaz\n",
		},
		{
			name:    "invalid hostname",
			mutate:  func(p *corev1.Pod) { p.Spec.Hostname = "Not_Valid" },
			wantErr: `pod Hostname "Not_Valid" is not a valid DNS label`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := testPod()
			if tt.mutate != nil {
				tt.mutate(pod)
			}
			podDir := t.TempDir()
			path, err := WriteEtcHosts(podDir, pod, tt.ips, cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if path != filepath.Join(podDir, "etc-hosts") {
				t.Errorf("path %q", path)
			}
			checkFile(t, path, tt.want)
		})
	}
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("content\n%s\nwant\n%s", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
}

func TestHostnameOverride(t *testing.T) {
	pod := testPod()
	override := "custom"
	pod.Spec.HostnameOverride = &override
	pod.Spec.Subdomain = "backend"
	host, domain, err := HostnameAndDomain(pod, "cluster.local")
	if err != nil || host != "custom" || domain != "" {
		t.Fatalf("HostnameAndDomain = %q, %q, %v; want custom and no domain", host, domain, err)
	}
}

func TestResolvConf(t *testing.T) {
	hostConf := writeTemp(t, "resolv.conf", "# generated\n"+
		"nameserver 192.168.1.1\n"+
		"nameserver 192.168.1.2\n"+
		"search ignored.example\n"+
		"search corp.example. lab.example .\n"+
		"options timeout:2 ndots:1\n"+
		"options attempts:3 timeout:4\n")
	cfg := DNSConfig{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local", HostResolvConf: hostConf}
	clusterSearch := "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\n"
	hostResolv := "search corp.example lab.example\nnameserver 192.168.1.1\nnameserver 192.168.1.2\noptions timeout:4 ndots:1 attempts:3\n"
	str := func(s string) *string { return &s }

	tests := []struct {
		name         string
		policy       corev1.DNSPolicy
		hostNetwork  bool
		dnsConfig    *corev1.PodDNSConfig
		cfg          *DNSConfig
		want         string
		wantWarnings []string
	}{
		{
			name:   "ClusterFirst",
			policy: corev1.DNSClusterFirst,
			want:   clusterSearch + "nameserver 10.96.0.10\noptions ndots:5\n",
		},
		{
			name:   "unset policy is ClusterFirst",
			policy: "",
			want:   clusterSearch + "nameserver 10.96.0.10\noptions ndots:5\n",
		},
		{
			name:        "ClusterFirst with hostNetwork falls back to Default",
			policy:      corev1.DNSClusterFirst,
			hostNetwork: true,
			want:        hostResolv,
		},
		{
			name:        "ClusterFirstWithHostNet",
			policy:      corev1.DNSClusterFirstWithHostNet,
			hostNetwork: true,
			want:        clusterSearch + "nameserver 10.96.0.10\noptions ndots:5\n",
		},
		{
			name:   "Default",
			policy: corev1.DNSDefault,
			want:   hostResolv,
		},
		{
			name:   "Default without a host resolver",
			policy: corev1.DNSDefault,
			cfg:    &DNSConfig{},
			want:   "search .\nnameserver 127.0.0.1\n",
		},
		{
			name:         "ClusterFirst without cluster DNS",
			policy:       corev1.DNSClusterFirst,
			cfg:          &DNSConfig{ClusterDomain: "cluster.local", HostResolvConf: hostConf},
			want:         hostResolv,
			wantWarnings: []string{`kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`},
		},
		{
			name:   "None with dnsConfig",
			policy: corev1.DNSNone,
			dnsConfig: &corev1.PodDNSConfig{
				Nameservers: []string{"1.1.1.1", "1.1.1.1", "8.8.8.8"},
				Searches:    []string{"a.example", "b.example"},
				Options:     []corev1.PodDNSConfigOption{{Name: "ndots", Value: str("2")}, {Name: "edns0"}},
			},
			want: "search a.example b.example\nnameserver 1.1.1.1\nnameserver 8.8.8.8\noptions ndots:2 edns0\n",
		},
		{
			name:   "ClusterFirst merged with dnsConfig",
			policy: corev1.DNSClusterFirst,
			dnsConfig: &corev1.PodDNSConfig{
				Nameservers: []string{"1.1.1.1"},
				Searches:    []string{"cluster.local", "extra.example"},
				Options:     []corev1.PodDNSConfigOption{{Name: "ndots", Value: str("2")}, {Name: "single-request-reopen"}},
			},
			want: "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example extra.example\n" +
				"nameserver 10.96.0.10\nnameserver 1.1.1.1\noptions ndots:2 single-request-reopen\n",
		},
		{
			name:      "too many nameservers",
			policy:    corev1.DNSNone,
			dnsConfig: &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"}},
			want:      "nameserver 1.1.1.1\nnameserver 1.0.0.1\nnameserver 8.8.8.8\n",
			wantWarnings: []string{
				"Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 1.1.1.1 1.0.0.1 8.8.8.8",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := testPod()
			pod.Spec.DNSPolicy = tt.policy
			pod.Spec.HostNetwork = tt.hostNetwork
			pod.Spec.DNSConfig = tt.dnsConfig
			c := cfg
			if tt.cfg != nil {
				c = *tt.cfg
			}
			podDir := t.TempDir()
			path, warnings, err := WriteResolvConf(podDir, pod, c)
			if err != nil {
				t.Fatal(err)
			}
			if path != filepath.Join(podDir, "resolv.conf") {
				t.Errorf("path %q", path)
			}
			checkFile(t, path, tt.want)
			if !reflect.DeepEqual(warnings, tt.wantWarnings) {
				t.Errorf("warnings %q, want %q", warnings, tt.wantWarnings)
			}
		})
	}
}

func TestSearchLimits(t *testing.T) {
	var many []string
	for i := range 40 {
		many = append(many, strings.Repeat("x", 60)+string(rune('a'+i%26))+strings.Repeat("y", i))
	}
	tooLong := strings.Repeat("z", 254)
	got, warnings := fitSearches(append([]string{tooLong}, many...))
	if len(warnings) != 1 {
		t.Fatalf("warnings %q, want one", warnings)
	}
	if len(got) > maxSearchPaths || len(strings.Join(got, " ")) > maxSearchListChars {
		t.Errorf("%d paths, %d characters: over the limits", len(got), len(strings.Join(got, " ")))
	}
	if got[0] != many[0] {
		t.Errorf("the over-long path was not dropped, or order changed: %q", got[0])
	}
	if ok, w := fitSearches([]string{"a", "b"}); len(w) != 0 || len(ok) != 2 {
		t.Errorf("within limits: %q, %q", ok, w)
	}
}

func TestRewriteKeepsInode(t *testing.T) {
	podDir := t.TempDir()
	pod := testPod()
	path, err := WriteEtcHosts(podDir, pod, []string{"10.0.0.1"}, DNSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteEtcHosts(podDir, pod, []string{"10.0.0.2"}, DNSConfig{}); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("rewrite replaced the file; bind mounts of it would keep the old content")
	}
	checkFile(t, path, localhost+"10.0.0.2\tweb-0\n")
}
