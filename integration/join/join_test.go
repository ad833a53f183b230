package join

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/multihost"
)

// host is one simulated host with its gantry state directory.
type host struct {
	*multihost.Machine
	dataDir string
}

type env struct {
	t      *testing.T
	ctx    context.Context
	gantry string
	binDir string
	cache  string
}

func TestInitJoin(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: it creates network namespaces and runs containerd and the node agents")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	e := &env{t: t, ctx: ctx, cache: t.TempDir()}
	var err error
	if e.gantry, err = cluster.Binary("cli", "gantry"); err != nil {
		t.Fatal(err)
	}
	e.binDir = filepath.Dir(e.gantry)
	for _, b := range [][2]string{{"store", "gantry-store"}, {"apiserver", "gantry-apiserver"},
		{"scheduler", "gantry-scheduler"}, {"controllers", "gantry-controllers"}, {"agent", "gantry-agent"},
		{"agent", "gantry-logger"}, {"proxy", "gantry-proxy"}, {"ingress", "gantry-ingress"}} {
		bin, err := cluster.Binary(b[0], b[1])
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(bin) != e.binDir {
			t.Fatalf("%s is in %s, not beside gantry in %s", b[1], filepath.Dir(bin), e.binDir)
		}
	}
	id := cluster.RandomHex(2)
	machines := multihost.Machines(t, "gj"+id+"-cp1", "gj"+id+"-cp2", "gj"+id+"-cp3", "gj"+id+"-w1")
	dir := t.TempDir()
	var hosts []*host
	for _, m := range machines {
		hosts = append(hosts, &host{Machine: m, dataDir: filepath.Join(dir, m.Name)})
	}
	cp1, cp2, cp3, w1 := hosts[0], hosts[1], hosts[2], hosts[3]
	// Registered after the machines: runs before their namespaces go.
	t.Cleanup(func() { e.downAll(hosts) })

	// 1. gantry init on the first host prints the two join commands.
	out := e.gantry1(cp1, "init", "--advertise-address", cp1.IP.String(), "--token-ttl", "1h")
	var join, joinCP []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(strings.TrimSpace(line))
		if len(f) > 2 && f[0] == "gantry" && f[1] == "join" {
			if slices.Contains(f, "--control-plane") {
				joinCP = f[2:]
			} else {
				join = f[2:]
			}
		}
	}
	if join == nil || joinCP == nil {
		t.Fatalf("gantry init printed no join commands:\n%s", out)
	}
	if !strings.Contains(strings.Join(join, " "), "--server https://"+cp1.IP.String()+":6443") {
		t.Fatalf("worker join command %q does not name the advertise address", join)
	}

	// 2. The second control-plane host joins with the printed command.
	e.gantry1(cp2, "join", joinCP...)
	// 3. The third joins with a command made on the second (a new token,
	// the credentials uploaded again under a new certificate key).
	out = e.gantry0(cp2, "token", "create", "--data-dir", cp2.dataDir, "--print-join-command", "--control-plane")
	var joinCP3 []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[1] == "join" && slices.Contains(f, "--control-plane") {
			joinCP3 = f[2:]
		}
	}
	if joinCP3 == nil || !strings.Contains(out, "--server https://"+cp2.IP.String()+":6443") {
		t.Fatalf("gantry token create --print-join-command --control-plane on %s printed:\n%s", cp2.Name, out)
	}
	e.gantry1(cp3, "join", joinCP3...)
	// 4. The worker joins with the command gantry init printed.
	e.gantry1(w1, "join", join...)

	// Every node is Ready, with a pod range from the node IPAM controller.
	e.waitNodes(cp1, []string{cp1.Name, cp2.Name, cp3.Name, w1.Name})

	// The store has three voters, all started.
	if got, want := e.storeVoters(cp1), []string{cp1.Name, cp2.Name, cp3.Name}; !slices.Equal(got, want) {
		t.Errorf("store voters %v, want %v", got, want)
	}

	// Every API server is in the kubernetes Endpoints, and a joined one
	// serves kubectl with its own admin kubeconfig.
	eps := e.kubectl(cp3, "get", "endpoints", "kubernetes", "-o", "jsonpath={.subsets[0].addresses[*].ip}")
	for _, h := range []*host{cp1, cp2, cp3} {
		if !strings.Contains(eps, h.IP.String()) {
			t.Errorf("kubernetes Endpoints %q lack %s", eps, h.IP)
		}
	}
	// The worker knows every API server.
	var wcfg struct {
		Role       string   `json:"role"`
		APIServers []string `json:"apiServers"`
	}
	data, err := os.ReadFile(filepath.Join(w1.dataDir, "cluster.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &wcfg); err != nil {
		t.Fatal(err)
	}
	if wcfg.Role != "worker" || len(wcfg.APIServers) != 3 {
		t.Errorf("worker config: role %q, API servers %v; want worker with the three API servers", wcfg.Role, wcfg.APIServers)
	}
	// The worker's certificates came through approved requests.
	csrs := e.kubectl(cp1, "get", "csr", "-o",
		`jsonpath={range .items[*]}{.spec.signerName} {.spec.username} {.status.conditions[0].type}{"\n"}{end}`)
	for _, want := range []string{"kubernetes.io/kube-apiserver-client-kubelet system:bootstrap:",
		"kubernetes.io/kubelet-serving system:node:" + w1.Name + " Approved"} {
		if !strings.Contains(csrs, want) {
			t.Errorf("no CertificateSigningRequest %q among:\n%s", want, csrs)
		}
	}

	// A pod on the worker runs, logs and execs through the API server
	// (which checks the worker's serving certificate).
	pod := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: hello
spec:
  nodeName: %s
  containers:
  - name: c
    image: gantry.local/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo hello from $(hostname); exec sleep 3600"]
`, w1.Name)
	e.kubectlIn(cp1, pod, "apply", "-f", "-")
	e.kubectl(cp1, "wait", "--for=condition=Ready", "pod/hello", "--timeout=120s")
	if logs := e.kubectl(cp2, "logs", "hello"); !strings.Contains(logs, "hello from hello") {
		t.Errorf("kubectl logs hello = %q", logs)
	}
	if got := strings.TrimSpace(e.kubectl(cp2, "exec", "hello", "--", "hostname")); got != "hello" {
		t.Errorf("kubectl exec hello -- hostname = %q", got)
	}

	// Joining again changes nothing; gantry status on the worker is
	// healthy.
	again := e.gantry1(w1, "join", join...)
	if !strings.Contains(again, "already running") {
		t.Errorf("a second gantry join did not find the daemons running:\n%s", again)
	}
	e.gantry0(w1, "status", "--data-dir", w1.dataDir)

	// The first host's agent, started with its own API server only,
	// learns the others from the kubernetes Endpoints.
	e.waitLogLine(cp1, "gantry-agent", `msg="API servers"`, cp1.IP.String(), cp2.IP.String(), cp3.IP.String())
	// Failover: with the first API server killed, the worker's agent and
	// the first host's own keep renewing their Leases through another.
	pid := e.pid(cp1, "gantry-apiserver")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitLeaseRenewed(cp2, w1.Name)
	e.waitLeaseRenewed(cp2, cp1.Name)
	// The killed API server leaves the kubernetes Endpoints once its store
	// lease expires (15 s, renewed every 10 s); gantry init again brings it
	// back, and back into them.
	e.waitEndpoints(cp2, cp1, false)
	e.gantry1(cp1, "init")
	e.waitEndpoints(cp2, cp1, true)
	e.kubectl(cp1, "delete", "pod", "hello", "--grace-period=1", "--wait=true")

	// A control-plane host that leaves for good takes its store member
	// and its API server's address with it.
	e.gantry0(cp3, "down", "--purge", "--bin-dir", e.binDir, "--data-dir", cp3.dataDir, "--grace", "10s")
	if got, want := e.storeVoters(cp1), []string{cp1.Name, cp2.Name}; !slices.Equal(got, want) {
		t.Errorf("store voters after %s left: %v, want %v", cp3.Name, got, want)
	}
	// Its address is out of the kubernetes Endpoints at once: its API
	// server, stopped first, withdrew it while its store member was still
	// there. And it stays out.
	for i := range 2 {
		if i > 0 {
			time.Sleep(12 * time.Second) // longer than a reconcile interval (10 s)
		}
		eps := e.kubectl(cp1, "get", "endpoints", "kubernetes", "-o", "jsonpath={.subsets[*].addresses[*].ip}")
		if slices.Contains(strings.Fields(eps), cp3.IP.String()) {
			t.Errorf("kubernetes Endpoints %q list %s, which left with gantry down --purge", eps, cp3.IP)
		}
	}
	e.waitEndpoints(cp1, cp2, true)
	e.kubectl(cp1, "create", "configmap", "after-leave", "--from-literal=k=v")
}

// storeVoters returns the sorted names of the store's members, read
// through h's member with etcdctl; a learner fails the test.
func (e *env) storeVoters(h *host) []string {
	e.t.Helper()
	members := e.run(h, "etcdctl", "--endpoints", "https://"+h.IP.String()+":2379",
		"--cacert", filepath.Join(h.dataDir, "pki/ca.crt"),
		"--cert", filepath.Join(h.dataDir, "pki/apiserver-etcd-client.crt"),
		"--key", filepath.Join(h.dataDir, "pki/apiserver-etcd-client.key"),
		"member", "list", "-w", "json")
	var ml struct {
		Members []struct {
			Name      string `json:"name"`
			IsLearner bool   `json:"isLearner"`
		} `json:"members"`
	}
	if err := json.Unmarshal([]byte(members), &ml); err != nil {
		e.t.Fatalf("etcdctl member list: %v\n%s", err, members)
	}
	var names []string
	for _, m := range ml.Members {
		if m.IsLearner {
			e.t.Errorf("store member %q is still a learner", m.Name)
		}
		names = append(names, m.Name)
	}
	slices.Sort(names)
	return names
}

// pid reads the pid file of daemon on h.
func (e *env) pid(h *host, daemon string) int {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(h.dataDir, daemon+".pid"))
	if err != nil {
		e.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		e.t.Fatalf("%s: %s pid file %q", h.Name, daemon, data)
	}
	return pid
}

// waitLeaseRenewed waits until node's Lease, read through h, is renewed
// after now.
// waitEndpoints waits, for a minute, until the kubernetes Endpoints read
// on h list api's address (listed) or do not.
func (e *env) waitEndpoints(h, api *host, listed bool) {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		eps := e.kubectl(h, "get", "endpoints", "kubernetes", "-o", "jsonpath={.subsets[*].addresses[*].ip}")
		if slices.Contains(strings.Fields(eps), api.IP.String()) == listed {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("kubernetes Endpoints %q: %s listed = %v after a minute, want %v", eps, api.IP, !listed, listed)
		}
		time.Sleep(time.Second)
	}
}

func (e *env) waitLeaseRenewed(h *host, node string) {
	e.t.Helper()
	since := time.Now()
	deadline := since.Add(90 * time.Second)
	for {
		out := e.kubectl(h, "get", "lease", "-n", "kube-node-lease", node, "-o", "jsonpath={.spec.renewTime}")
		if renewed, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(out)); err == nil && renewed.After(since) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the Lease of %s was not renewed within 90s of the first API server's loss (renewTime %q)", node, out)
		}
		time.Sleep(time.Second)
	}
}

// waitLogLine waits until a line of daemon's log on h holds every one of
// want.
func (e *env) waitLogLine(h *host, daemon string, want ...string) {
	e.t.Helper()
	path := filepath.Join(h.dataDir, daemon+".log")
	deadline := time.Now().Add(90 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		for _, line := range strings.Split(string(data), "\n") {
			if !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(line, w) }) {
				return
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: no line of %s holds all of %q within 90s", h.Name, path, want)
		}
		time.Sleep(time.Second)
	}
}

// gantry0 runs gantry args on h as is and fails the test if it fails.
func (e *env) gantry0(h *host, args ...string) string {
	e.t.Helper()
	out, err := h.Command(e.ctx, e.gantry, args...).CombinedOutput()
	e.t.Logf("%s: gantry %s:\n%s", h.Name, strings.Join(args, " "), out)
	if err != nil {
		e.t.Fatalf("%s: gantry %s: %v", h.Name, args[0], err)
	}
	return string(out)
}

// gantry1 runs gantry cmd on h with its state directory and the node
// name of the host, and fails the test if it fails.
func (e *env) gantry1(h *host, cmd string, args ...string) string {
	e.t.Helper()
	full := append([]string{cmd, "--bin-dir", e.binDir, "--data-dir", h.dataDir, "--node-name", h.Name,
		"--shared-machine", "--timeout", "2m"}, args...)
	out, err := h.Command(e.ctx, e.gantry, full...).CombinedOutput()
	e.t.Logf("%s: gantry %s:\n%s", h.Name, cmd, out)
	if err != nil {
		e.logTails(h)
		e.t.Fatalf("%s: gantry %s: %v", h.Name, cmd, err)
	}
	return string(out)
}

func (e *env) logTails(h *host) {
	for _, d := range []string{"gantry-store", "gantry-apiserver", "gantry-controllers", "gantry-agent", "gantry-proxy"} {
		data, err := os.ReadFile(filepath.Join(h.dataDir, d+".log"))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		e.t.Logf("--- %s %s.log (last 30 lines):\n%s", h.Name, d, strings.Join(lines[max(0, len(lines)-30):], "\n"))
	}
}

func (e *env) run(h *host, name string, args ...string) string {
	e.t.Helper()
	out, err := h.Run(e.ctx, name, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) kubectl(h *host, args ...string) string {
	e.t.Helper()
	return e.kubectlIn(h, "", args...)
}

// kubectlIn runs kubectl on h with h's admin kubeconfig.
func (e *env) kubectlIn(h *host, stdin string, args ...string) string {
	e.t.Helper()
	full := append([]string{"--kubeconfig", filepath.Join(h.dataDir, "admin.kubeconfig"), "--cache-dir", e.cache}, args...)
	cmd := h.Command(e.ctx, "kubectl", full...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		e.t.Fatalf("%s: kubectl %s: %v\n%s%s", h.Name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// waitNodes waits until exactly the nodes names are Ready with a pod
// range.
func (e *env) waitNodes(h *host, names []string) {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	for {
		out := e.kubectl(h, "get", "nodes", "-o",
			`jsonpath={range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		ok := len(lines) == len(names)
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) != 3 || !slices.Contains(names, f[0]) || f[2] != "True" {
				ok = false
			}
		}
		if ok {
			return
		}
		last = out
		if time.Now().After(deadline) {
			e.t.Fatalf("nodes not all Ready with a pod range within 2m (want %v):\n%s", names, last)
		}
		time.Sleep(time.Second)
	}
}

// downAll runs gantry down --purge on every host, workers first, and
// checks no process runs from their state directories.
func (e *env) downAll(hosts []*host) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for i := len(hosts) - 1; i >= 0; i-- {
		h := hosts[i]
		if _, err := os.Stat(h.dataDir); err != nil {
			continue
		}
		out, err := h.Command(ctx, e.gantry, "down", "--purge", "--bin-dir", e.binDir, "--data-dir", h.dataDir,
			"--grace", "10s").CombinedOutput()
		if err != nil {
			e.t.Errorf("%s: gantry down --purge: %v\n%s", h.Name, err, out)
		}
	}
	for _, h := range hosts {
		if out, err := exec.Command("pgrep", "-af", h.dataDir).Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
			e.t.Errorf("processes left from %s after gantry down --purge:\n%s", h.dataDir, out)
		}
		if left, _ := filepath.Glob("/sys/fs/cgroup/*/gantry-" + h.Name); len(left) > 0 {
			e.t.Errorf("cgroups left after gantry down --purge: %v", left)
		}
		if _, err := os.Stat(h.dataDir); err == nil {
			e.t.Errorf("%s left after gantry down --purge", h.dataDir)
		}
	}
}
