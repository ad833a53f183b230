package cluster

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/services/cli/internal/tokens"
)

func workerConfig() *Config {
	return &Config{Role: RoleWorker, NodeName: "worker1", AdvertiseAddress: "10.0.0.5",
		APIServers: []string{"https://10.0.0.1:6443", "https://10.0.0.2:6443"}}
}

func controlPlaneConfig() *Config {
	return &Config{Role: RoleControlPlane, NodeName: "cp2", AdvertiseAddress: "10.0.0.2",
		APIServers:          []string{"https://10.0.0.2:6443", "https://10.0.0.1:6443"},
		InitialCluster:      "cp1=https://10.0.0.1:2380,cp2=https://10.0.0.2:2380",
		InitialClusterState: "existing", LearnerID: 0x1234}
}

// multiHostCluster saves cfg in a new state directory and returns the
// Cluster New makes of it (under another node name, which the config
// overrides).
func multiHostCluster(t *testing.T, cfg *Config) *Cluster {
	t.Helper()
	c := testCluster(t)
	if err := c.saveConfig(cfg); err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Layout: c.l, NodeName: "not-the-node"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// touch creates the PKI file name with some content.
func touch(t *testing.T, c *Cluster, name string) {
	t.Helper()
	if err := os.MkdirAll(c.l.PKIDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.pkiFile(name), []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// flagValue returns the value following the only occurrence of flag in
// args; a flag that is absent or repeated fails the test.
func flagValue(t *testing.T, args []string, flag string) string {
	t.Helper()
	n := 0
	v := ""
	for i, a := range args {
		if a != flag {
			continue
		}
		n++
		if i+1 >= len(args) || strings.HasPrefix(args[i+1], "--") {
			t.Errorf("%s has no value in %q", flag, args)
			return ""
		}
		v = args[i+1]
	}
	if n != 1 {
		t.Errorf("%s appears %d times in %q, want once", flag, n, args)
	}
	return v
}

func wantFlags(t *testing.T, what string, args []string, want map[string]string, absent ...string) {
	t.Helper()
	for flag, w := range want {
		if got := flagValue(t, args, flag); got != w {
			t.Errorf("%s: %s = %q, want %q", what, flag, got, w)
		}
	}
	for _, flag := range absent {
		if slices.Contains(args, flag) {
			t.Errorf("%s: unexpected %s in %q", what, flag, args)
		}
	}
}

func TestLoadConfigNone(t *testing.T) {
	cfg, err := loadConfig(t.TempDir())
	if cfg != nil || err != nil {
		t.Errorf("loadConfig of an empty directory = %+v, %v; want nil, nil", cfg, err)
	}
	if c := testCluster(t); c.MultiHost() || c.cfg != nil || c.nodeName != "host1" {
		t.Errorf("a state directory without %s: multi-host %v, node %q", configName, c.MultiHost(), c.nodeName)
	}
}

func TestConfigRoundTrip(t *testing.T) {
	for _, cfg := range []*Config{workerConfig(), controlPlaneConfig(),
		{Role: RoleControlPlane, NodeName: "cp1", AdvertiseAddress: "fd00::1", APIServers: []string{"https://[fd00::1]:6443"},
			InitialCluster: "cp1=https://[fd00::1]:2380", InitialClusterState: "new", Ingress: true, SharedMachine: true}} {
		t.Run(cfg.NodeName, func(t *testing.T) {
			c := testCluster(t)
			want := *cfg
			if err := c.saveConfig(cfg); err != nil {
				t.Fatal(err)
			}
			if !c.MultiHost() || c.cfg != cfg {
				t.Error("saveConfig did not keep the config")
			}
			data, err := os.ReadFile(filepath.Join(c.l.StateDir, "cluster.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(data) {
				t.Errorf("cluster.json is not JSON: %q", data)
			}
			back, err := New(Options{Layout: c.l, NodeName: "other"})
			if err != nil {
				t.Fatal(err)
			}
			if !back.MultiHost() || back.cfg == nil || !reflect.DeepEqual(*back.cfg, want) {
				t.Errorf("New loaded %+v, want %+v", back.cfg, want)
			}
			if back.nodeName != want.NodeName {
				t.Errorf("node name %q, want %q from the config", back.nodeName, want.NodeName)
			}
			if got, err := loadConfig(c.l.StateDir); err != nil || !reflect.DeepEqual(got, &want) {
				t.Errorf("loadConfig = %+v, %v", got, err)
			}
		})
	}
}

func TestConfigRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		err    string
	}{
		{"no role", func(c *Config) { c.Role = "" }, `role ""`},
		{"unknown role", func(c *Config) { c.Role = "master" }, `role "master"`},
		{"loopback address", func(c *Config) { c.AdvertiseAddress = "127.0.0.1" }, `advertise address "127.0.0.1"`},
		{"IPv6 loopback address", func(c *Config) { c.AdvertiseAddress = "::1" }, `advertise address "::1"`},
		{"unspecified address", func(c *Config) { c.AdvertiseAddress = "0.0.0.0" }, `advertise address "0.0.0.0"`},
		{"no address", func(c *Config) { c.AdvertiseAddress = "" }, `advertise address ""`},
		{"host name address", func(c *Config) { c.AdvertiseAddress = "node1.example" }, `advertise address "node1.example"`},
		{"no API servers", func(c *Config) { c.APIServers = nil }, "no API servers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := workerConfig()
			tc.change(cfg)
			c := testCluster(t)
			if err := c.saveConfig(cfg); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("saveConfig: %v; want an error with %q", err, tc.err)
			}
			if c.MultiHost() {
				t.Error("saveConfig kept a rejected config")
			}
			path := filepath.Join(c.l.StateDir, configName)
			if _, err := os.Stat(path); err == nil {
				t.Errorf("saveConfig wrote %s", path)
			}
			// A file written by hand is rejected when it is loaded.
			data, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = New(Options{Layout: c.l, NodeName: "n"})
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), path) {
				t.Errorf("New: %v; want an error naming %s and %q", err, path, tc.err)
			}
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, configName)
		if err := os.WriteFile(path, []byte(`{"role":`), 0o644); err != nil {
			t.Fatal(err)
		}
		if cfg, err := loadConfig(dir); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("loadConfig = %+v, %v; want an error naming %s", cfg, err, path)
		}
	})
}

func daemonNames(c *Cluster) []string {
	var out []string
	for _, d := range c.daemons() {
		out = append(out, d.name)
	}
	return out
}

func TestMultiHostDaemons(t *testing.T) {
	if got, want := daemonNames(multiHostCluster(t, workerConfig())), []string{"gantry-agent", "gantry-proxy"}; !slices.Equal(got, want) {
		t.Errorf("worker daemons %q, want %q", got, want)
	}
	cp := []string{"gantry-store", "gantry-apiserver", "gantry-scheduler", "gantry-controllers", "gantry-agent", "gantry-proxy"}
	if got := daemonNames(multiHostCluster(t, controlPlaneConfig())); !slices.Equal(got, cp) {
		t.Errorf("control-plane daemons without ingress %q, want %q", got, cp)
	}
	cfg := controlPlaneConfig()
	cfg.Ingress = true
	if got, want := daemonNames(multiHostCluster(t, cfg)), append(cp, "gantry-ingress"); !slices.Equal(got, want) {
		t.Errorf("control-plane daemons with ingress %q, want %q", got, want)
	}
	// Every daemon a host runs has arguments.
	for _, cfg := range []*Config{workerConfig(), cfg} {
		c := multiHostCluster(t, cfg)
		for _, d := range c.daemons() {
			if d.name != "gantry-store" && len(c.args(d.name, systemContainerd)) == 0 {
				t.Errorf("%s %s has no arguments", cfg.Role, d.name)
			}
		}
	}
}

func TestMultiHostAgentArgsWorker(t *testing.T) {
	c := multiHostCluster(t, workerConfig())
	pki := c.l.PKIDir()
	args := c.args("gantry-agent", systemContainerd)
	wantFlags(t, "worker agent", args, map[string]string{
		"--hostname-override":    "worker1",
		"--node-ip":              "10.0.0.5",
		"--api-servers":          "https://10.0.0.1:6443,https://10.0.0.2:6443",
		"--ca-file":              pki + "/ca.crt",
		"--cert-file":            pki + "/node.crt",
		"--key-file":             pki + "/node.key",
		"--tls-cert-file":        pki + "/kubelet-serving.crt",
		"--tls-private-key-file": pki + "/kubelet-serving.key",
		"--client-ca-file":       pki + "/ca.crt",
		"--cluster-cidr":         clusterCIDR,
		"--containerd":           systemContainerd,
		"--root-dir":             c.l.StateDir + "/agent",
	}, "--pod-cidr", "--token-file", "--ca-key-file", "--containerd-namespace", "--cgroup-root", "--pod-log-dir")

	proxy := c.args("gantry-proxy", systemContainerd)
	wantFlags(t, "worker proxy", proxy, map[string]string{
		"--hostname-override": "worker1",
		"--api-servers":       "https://10.0.0.1:6443,https://10.0.0.2:6443",
		"--cert-file":         pki + "/node.crt",
		"--key-file":          pki + "/node.key",
	}, "--token-file")

	cleanup := c.agentCleanupArgs(systemContainerd)
	wantFlags(t, "worker agent cleanup", cleanup, map[string]string{"--hostname-override": "worker1"}, "--pod-cidr")
}

func TestMultiHostAgentArgsControlPlane(t *testing.T) {
	c := multiHostCluster(t, controlPlaneConfig())
	touch(t, c, "agent.token")
	pki := c.l.PKIDir()
	args := c.args("gantry-agent", systemContainerd)
	wantFlags(t, "control-plane agent", args, map[string]string{
		"--hostname-override": "cp2",
		"--node-ip":           "10.0.0.2",
		"--api-servers":       "https://10.0.0.2:6443,https://10.0.0.1:6443",
		"--token-file":        pki + "/agent.token",
		"--ca-key-file":       pki + "/ca.key",
		"--client-ca-file":    pki + "/ca.crt",
	}, "--pod-cidr", "--cert-file", "--key-file", "--tls-cert-file", "--tls-private-key-file")

	// A control-plane host that joined has no agent token: its agent
	// uses the node's client certificate, and still signs its serving
	// certificate with the CA key.
	c = multiHostCluster(t, controlPlaneConfig())
	args = c.args("gantry-agent", systemContainerd)
	wantFlags(t, "joined control-plane agent", args, map[string]string{
		"--cert-file":   c.l.PKIDir() + "/node.crt",
		"--key-file":    c.l.PKIDir() + "/node.key",
		"--ca-key-file": c.l.PKIDir() + "/ca.key",
	}, "--token-file", "--tls-cert-file")

	api := c.args("gantry-apiserver", "")
	wantFlags(t, "control-plane API server", api, map[string]string{
		"--advertise-address": "10.0.0.2",
		"--bind-address":      "0.0.0.0",
		"--etcd-servers":      "https://127.0.0.1:2379",
		"--etcd-certfile":     c.l.PKIDir() + "/apiserver-etcd-client.crt",
		"--etcd-keyfile":      c.l.PKIDir() + "/apiserver-etcd-client.key",
	})
	for _, name := range []string{"gantry-scheduler", "gantry-controllers"} {
		wantFlags(t, name, c.args(name, ""), map[string]string{"--leader-elect-identity": "cp2"})
	}
}

func TestSharedMachine(t *testing.T) {
	plain := multiHostCluster(t, workerConfig())
	if got, want := plain.ownContainerdSocket(), "/run/gantry/containerd/containerd.sock"; got != want {
		t.Errorf("own containerd socket without a shared machine %s, want %s", got, want)
	}

	cfg := workerConfig()
	cfg.SharedMachine = true
	c := multiHostCluster(t, cfg)
	s := c.l.StateDir
	sock := c.ownContainerdSocket()
	if want := s + "/containerd/run/containerd.sock"; sock != want {
		t.Errorf("own containerd socket %s, want %s", sock, want)
	}
	shared := map[string]string{
		"--containerd-namespace": "gantry-worker1",
		"--cgroup-root":          "/gantry-worker1",
		"--pod-log-dir":          s + "/pods",
		"--containerd":           sock,
	}
	wantFlags(t, "shared-machine agent", c.args("gantry-agent", sock), shared, "--pod-cidr")
	wantFlags(t, "shared-machine agent cleanup", c.agentCleanupArgs(sock), shared, "--pod-cidr")
}

func TestMultiHostStoreArgs(t *testing.T) {
	cfg := controlPlaneConfig()
	c := multiHostCluster(t, cfg)
	pki := c.l.PKIDir()
	common := map[string]string{
		"--data-dir":             c.l.StateDir + "/store",
		"--listen-client-urls":   "https://10.0.0.2:2379,https://127.0.0.1:2379",
		"--listen-peer-urls":     "https://10.0.0.2:2380",
		"--listen-metrics-urls":  metricsURL,
		"--cert-file":            pki + "/store.crt",
		"--key-file":             pki + "/store.key",
		"--trusted-ca-file":      pki + "/ca.crt",
		"--peer-cert-file":       pki + "/store.crt",
		"--peer-key-file":        pki + "/store.key",
		"--peer-trusted-ca-file": pki + "/ca.crt",
	}
	existing := c.storeArgs(false)
	wantFlags(t, "existing member", existing, common,
		"--initial-cluster", "--initial-cluster-state", "--name", "--initial-advertise-peer-urls")
	for _, f := range []string{"--client-cert-auth", "--peer-client-cert-auth"} {
		if !slices.Contains(existing, f) {
			t.Errorf("existing member args %q lack %s", existing, f)
		}
	}

	fresh := c.storeArgs(true)
	wantNew := map[string]string{
		"--name":                        "cp2",
		"--advertise-client-urls":       "https://10.0.0.2:2379",
		"--initial-advertise-peer-urls": "https://10.0.0.2:2380",
		"--initial-cluster":             cfg.InitialCluster,
		"--initial-cluster-state":       "existing",
	}
	for k, v := range common {
		wantNew[k] = v
	}
	wantFlags(t, "new member", fresh, wantNew)

	v6 := multiHostCluster(t, &Config{Role: RoleControlPlane, NodeName: "cp1", AdvertiseAddress: "fd00::1",
		APIServers: []string{"https://[fd00::1]:6443"}, InitialCluster: "cp1=https://[fd00::1]:2380", InitialClusterState: "new"})
	wantFlags(t, "IPv6 new member", v6.storeArgs(true), map[string]string{
		"--listen-client-urls":          "https://[fd00::1]:2379,https://127.0.0.1:2379",
		"--initial-advertise-peer-urls": "https://[fd00::1]:2380",
		"--initial-cluster-state":       "new",
	})
}

func TestStoreEndpoints(t *testing.T) {
	for _, tc := range []struct {
		in, want []string
	}{
		{in: []string{"https://10.0.0.1:6443", "https://[fd00::1]:6443"}, want: []string{"https://10.0.0.1:2379", "https://[fd00::1]:2379"}},
		{in: []string{"https://cp1.example:6443"}, want: []string{"https://cp1.example:2379"}},
		{in: []string{"10.0.0.1:6443", "://bad", ""}},
		{in: nil},
	} {
		if got := storeEndpoints(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("storeEndpoints(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func clientNames(cl []tokens.Client) []string {
	var out []string
	for _, c := range cl {
		out = append(out, c.Name)
	}
	return out
}

func TestTokenClients(t *testing.T) {
	all := []string{"agent", "scheduler", "controllers", "proxy", "ingress"}
	one := testCluster(t)
	touch(t, one, "node.crt")
	if got := clientNames(one.tokenClients()); !slices.Equal(got, all) {
		t.Errorf("one-host token clients %q, want %q", got, all)
	}
	c := multiHostCluster(t, controlPlaneConfig())
	got := c.tokenClients()
	if names := clientNames(got); !slices.Equal(names, all) {
		t.Errorf("first control-plane host's token clients %q, want %q", names, all)
	}
	if got[0].User != "system:node:cp2" {
		t.Errorf("agent user %q, want system:node:cp2 (the node name of the config)", got[0].User)
	}
	touch(t, c, "node.crt")
	if names, want := clientNames(c.tokenClients()), all[1:]; !slices.Equal(names, want) {
		t.Errorf("joined control-plane host's token clients %q, want %q", names, want)
	}
}
