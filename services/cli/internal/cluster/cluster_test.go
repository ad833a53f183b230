package cluster

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/services/cli/internal/layout"
)

func testCluster(t *testing.T) *Cluster {
	t.Helper()
	c, err := New(Options{Layout: layout.Layout{StateDir: t.TempDir(), Kubeconfig: "/etc/gantry/admin.kubeconfig",
		BinDir: "/opt/bin"}, NodeName: "host1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRejects(t *testing.T) {
	if _, err := New(Options{Layout: layout.Layout{StateDir: "rel"}, NodeName: "n"}); err == nil {
		t.Error("relative state directory accepted")
	}
	if _, err := New(Options{Layout: layout.Layout{StateDir: "/s"}}); err == nil {
		t.Error("empty node name accepted")
	}
}

func TestParseListening(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:094B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
`
	ports := map[int]bool{}
	if err := parseListening(strings.NewReader(table), ports); err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{2379: true, 80: true} // 8080 is an established connection, not a listener
	if len(ports) != len(want) || !ports[2379] || !ports[80] {
		t.Errorf("ports = %v, want %v", ports, want)
	}
	if err := parseListening(strings.NewReader("hdr\n 0: 0100007F:ZZZZ 0:0 0A\n"), ports); err == nil {
		t.Error("bad port accepted")
	}
}

func TestListeningPortsSeesOwnListener(t *testing.T) {
	// This process listens on a port of its own choosing; it must show.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ports, err := listeningPorts()
	if err != nil {
		t.Fatal(err)
	}
	if port := ln.Addr().(*net.TCPAddr).Port; !ports[port] {
		t.Errorf("listening port %d not found", port)
	}
}

func TestNodeReady(t *testing.T) {
	for _, tt := range []struct {
		body string
		ok   bool
	}{
		{`{"status":{"conditions":[{"type":"MemoryPressure","status":"False"},{"type":"Ready","status":"True"}]}}`, true},
		{`{"status":{"conditions":[{"type":"Ready","status":"False","reason":"NetworkNotReady"}]}}`, false},
		{`{"status":{}}`, false},
		{`not json`, false},
	} {
		if err := nodeReady([]byte(tt.body)); (err == nil) != tt.ok {
			t.Errorf("nodeReady(%s) = %v, want ok=%v", tt.body, err, tt.ok)
		}
	}
}

func TestStoreArgs(t *testing.T) {
	c := testCluster(t)
	old := c.storeArgs(false)
	if slices.Contains(old, "--initial-cluster") || !slices.Contains(old, c.l.StoreDir()) {
		t.Errorf("existing member args = %q", old)
	}
	fresh := c.storeArgs(true)
	i := slices.Index(fresh, "--initial-cluster")
	if i < 0 || fresh[i+1] != "default=http://127.0.0.1:2380" {
		t.Errorf("new member args = %q", fresh)
	}
}

func TestArgs(t *testing.T) {
	c := testCluster(t)
	s := c.l.StateDir
	want := map[string]string{
		"gantry-apiserver": "--bind-address 127.0.0.1 --secure-port 6443 --cert-dir " + s + "/pki --client-ca-file " + s +
			"/pki/ca.crt --token-auth-file " + s + "/pki/tokens.csv --etcd-servers http://127.0.0.1:2379",
		"gantry-agent": "--hostname-override host1 --api-servers https://127.0.0.1:6443 --ca-file " + s +
			"/pki/ca.crt --token-file " + s + "/pki/agent.token --ca-key-file " + s + "/pki/ca.key --client-ca-file " + s +
			"/pki/ca.crt --pod-cidr 10.244.0.0/24 --containerd /run/containerd/containerd.sock --root-dir " + s + "/agent",
		"gantry-ingress": "--node-name host1 --api-servers https://127.0.0.1:6443 --ca-file " + s +
			"/pki/ca.crt --token-file " + s + "/pki/ingress.token",
	}
	for name, w := range want {
		if got := strings.Join(c.args(name, systemContainerd), " "); got != w {
			t.Errorf("%s args\n got %s\nwant %s", name, got, w)
		}
	}
	for _, d := range c.daemons() {
		if d.name != "gantry-store" && len(c.args(d.name, systemContainerd)) == 0 {
			t.Errorf("%s has no arguments", d.name)
		}
	}
}

func TestContainerdConfig(t *testing.T) {
	got := string(containerdConfig("/var/lib/gantry/containerd", ownContainerdRun))
	want := `version = 2
root = "/var/lib/gantry/containerd/root"
state = "/run/gantry/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "/run/gantry/containerd/containerd.sock"
`
	if got != want {
		t.Errorf("config =\n%s\nwant\n%s", got, want)
	}
}

func TestDaemonError(t *testing.T) {
	c := testCluster(t)
	if err := os.WriteFile(c.l.LogFile("gantry-apiserver"), []byte("starting\nlisten tcp :6443: bind: address already in use\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := c.daemonError("gantry-apiserver", 42, "exited", "")
	got := err.Error()
	for _, want := range []string{"gantry-apiserver (pid 42) exited", "log: " + filepath.Join(c.l.StateDir, "gantry-apiserver.log"),
		"  listen tcp :6443: bind: address already in use"} {
		if !strings.Contains(got, want) {
			t.Errorf("error lacks %q:\n%s", want, got)
		}
	}
	var de *DaemonError
	if !errors.As(error(err), &de) || de.Name != "gantry-apiserver" {
		t.Errorf("not a DaemonError: %v", err)
	}
}

func TestPrintStatus(t *testing.T) {
	var b bytes.Buffer
	rows := []Row{
		{Name: "gantry-store", Process: "pid 7", Check: "http://127.0.0.1:2381/health"},
		{Name: "gantry-agent", Process: "not running", Check: "http://127.0.0.1:10248/healthz", Err: errors.New("connection refused\nmore")},
	}
	if err := PrintStatus(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := `COMPONENT     PROCESS      CHECK                           HEALTH
gantry-store  pid 7        http://127.0.0.1:2381/health    ok
gantry-agent  not running  http://127.0.0.1:10248/healthz  FAIL: connection refused
`
	if b.String() != want {
		t.Errorf("table\n%s\nwant\n%s", b.String(), want)
	}
}

func TestHintNamesPaths(t *testing.T) {
	c := testCluster(t)
	h := c.hint(systemContainerd)
	for _, want := range []string{"export KUBECONFIG=/etc/gantry/admin.kubeconfig", c.l.StateDir + "/gantry-store.log",
		"node agent  host1", "containerd: /run/containerd/containerd.sock", `echo "hello from \$(hostname)"`,
		"curl http://$(kubectl get svc web"} {
		if !strings.Contains(h, want) {
			t.Errorf("hint lacks %q", want)
		}
	}
}

func TestDownNothingRunning(t *testing.T) {
	// With nothing running and no binaries, Down only reports.
	c := testCluster(t)
	var b bytes.Buffer
	c.out = &b
	c.l.BinDir = t.TempDir()
	if err := c.Down(false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"gantry-ingress: not running", "gantry-proxy --cleanup skipped", "gantry-agent --cleanup skipped",
		"gantry-store: not running", "containerd: not running"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestPurge(t *testing.T) {
	c := testCluster(t)
	c.l.StateDir = filepath.Join(t.TempDir(), "state")
	c.l.Kubeconfig = filepath.Join(t.TempDir(), "admin.kubeconfig")
	c.l.BinDir = t.TempDir()
	for _, p := range []string{filepath.Join(c.l.StateDir, "pki", "tokens.csv"), c.l.Kubeconfig} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Down(true); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{c.l.StateDir, c.l.Kubeconfig} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
}

func TestAgentCleanupArgs(t *testing.T) {
	c := testCluster(t)
	s := c.l.StateDir
	got := strings.Join(c.agentCleanupArgs(c.ownContainerdSocket()), " ")
	want := "--cleanup --hostname-override host1 --cluster-cidr 10.244.0.0/16 " +
		"--containerd /run/gantry/containerd/containerd.sock --root-dir " + s + "/agent --pod-cidr 10.244.0.0/24"
	if got != want {
		t.Errorf("agent cleanup args\n got %s\nwant %s", got, want)
	}
	// No containerd of ours runs (no pid file): the agent used the system's.
	if got := c.containerdSocket(); got != systemContainerd {
		t.Errorf("containerdSocket() = %s, want %s", got, systemContainerd)
	}
}
