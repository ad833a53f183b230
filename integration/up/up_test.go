package up

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/libs/testutil/containerdtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.RemoveBuilt()
	os.Exit(code)
}

// binaries are what `gantry up` runs, by service: every services/*/cmd/*
// but the CLI's own.
var binaries = [][2]string{
	{"store", "gantry-store"}, {"apiserver", "gantry-apiserver"}, {"scheduler", "gantry-scheduler"},
	{"controllers", "gantry-controllers"}, {"agent", "gantry-agent"}, {"agent", "gantry-logger"},
	{"proxy", "gantry-proxy"}, {"ingress", "gantry-ingress"},
}

// daemons are the processes `gantry up` starts and reports, in order.
var daemons = []string{"gantry-store", "gantry-apiserver", "gantry-scheduler", "gantry-controllers",
	"containerd", "gantry-agent", "gantry-proxy", "gantry-ingress"}

// webApp is the newcomer's application: busybox httpd serving a page
// that names its version, behind a Service and an Ingress of the
// gantry class.
const webApp = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: httpd
          image: gantry.local/busybox:latest
          imagePullPolicy: IfNotPresent
          env:
            - {name: VERSION, value: v1}
          command: [sh, -c, 'echo "web $VERSION from $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www']
          ports:
            - {name: http, containerPort: 8080}
          readinessProbe:
            httpGet: {path: /, port: http}
            periodSeconds: 1
          volumeMounts:
            - {name: www, mountPath: /www}
      volumes:
        - name: www
          emptyDir: {}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: http}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  ingressClassName: gantry
  rules:
    - http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {name: web, port: {name: http}}
`

// ingressURL is gantry-ingress' HTTP listener.
const ingressURL = "http://127.0.0.1:80/"

// env is one run of the newcomer's path.
type env struct {
	t       *testing.T
	ctx     context.Context
	gantry  string // the gantry binary
	binDir  string
	dataDir string
	kubeDir string // kubectl's cache
}

func TestNewcomersPath(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the newcomer's path needs root: gantry up starts containerd, pods and host networking")
	}
	// Cancelled after the cleanups below (t.Cleanup runs last in, first out).
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	for _, tool := range []string{"kubectl", "ctr", "nft", "iptables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: %v", tool, err)
		}
	}
	e := &env{t: t, ctx: ctx, kubeDir: t.TempDir()}
	e.refuseIfTaken()
	e.buildBinaries()

	// What must not change: a default cluster's state and kubeconfig.
	kubeconfigBefore, stateBefore := fileState(defaultAdminKC), fileState(defaultStateDir)
	logsBefore := dirNames(podLogDir)
	var err error
	if e.dataDir, err = os.MkdirTemp("", "gantry-up-e2e-"); err != nil {
		t.Fatal(err)
	}
	downDone := false
	t.Cleanup(func() {
		// The test's own deadline may have passed.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		e.ctx = ctx
		if t.Failed() {
			e.logTails()
			e.clusterState()
		}
		if !downDone {
			out, code := e.run("down", "--purge")
			t.Logf("cleanup: gantry down --purge exited %d:\n%s", code, out)
			if code != 0 {
				t.Errorf("cleanup: gantry down --purge failed")
			}
		}
		e.removePodLeftovers(logsBefore)
		if _, err := os.Stat(e.dataDir); err == nil {
			if m, _ := mountsInvolving(e.dataDir); len(m) == 0 {
				os.RemoveAll(e.dataDir)
			} else {
				t.Errorf("cleanup: %s stays, still mounted: %q", e.dataDir, m)
			}
		}
	})

	pids := e.up(false)
	t.Logf("gantry up: %v", pids)
	if again := e.up(true); !maps.Equal(again, pids) {
		t.Fatalf("second gantry up: pids %v, want the first run's %v", again, pids)
	}
	e.status()
	e.gantryKubectl()
	e.runReadmeExample()

	e.kubectl([]byte(webApp), "apply", "-f", "-")
	e.waitPage("v1")
	e.kubectl(nil, "scale", "deployment/web", "--replicas=3")
	e.rollout()
	e.waitReady(3)
	e.waitPage("v1")

	e.kubectl(nil, "set", "env", "deployment/web", "VERSION=v2")
	e.rollout()
	e.waitPage("v2")

	e.kubectl(nil, "rollout", "undo", "deployment/web")
	e.rollout()
	e.waitPage("v1")
	e.status()

	// A reboot: gantry down stops every process and container but keeps
	// the data; gantry up brings back the same cluster, whose pods run
	// again.
	uid := e.kubectl(nil, "get", "deployment/web", "-o", "jsonpath={.metadata.uid}")
	if out, code := e.run("down"); code != 0 {
		t.Fatalf("gantry down (keeping the data) exited %d:\n%s", code, out)
	}
	if out, code := e.run("up", "--timeout", "90s"); code != 0 {
		t.Fatalf("gantry up after gantry down exited %d:\n%s", code, out)
	}
	pids = e.up(true)
	if again := e.kubectl(nil, "get", "deployment/web", "-o", "jsonpath={.metadata.uid}"); again != uid {
		t.Errorf("deployment web after down and up: uid %q, want %q (the same object)", again, uid)
	}
	e.waitReady(3)
	e.waitPage("v1")

	// Everything the cluster runs: its daemons, the shims of its
	// containerd namespace and what runs below them.
	sock := ownContainerd
	if pids["containerd"] == 0 {
		sock = systemContainerd
	}
	started := e.daemonProcs(pids)
	podShims := shims(containerdNS, sock)
	if len(podShims) < 3 {
		t.Errorf("%d containerd shims of namespace %s at %s, want one per pod (3)", len(podShims), containerdNS, sock)
	}
	below := descendants(podShims)
	t.Logf("the cluster runs %d daemons, %d containerd shims and %d processes below them", len(started), len(podShims), len(below))
	started = append(append(started, podShims...), below...)

	out, code := e.run("down", "--purge")
	downDone = true
	t.Logf("gantry down --purge:\n%s", out)
	if code != 0 {
		t.Errorf("gantry down --purge exited %d", code) // and what did it leave?
	}
	e.checkGone(started, sock)
	if got := fileState(defaultAdminKC); got != kubeconfigBefore {
		t.Errorf("%s changed: was %s, is %s", defaultAdminKC, kubeconfigBefore, got)
	}
	if got := fileState(defaultStateDir); got != stateBefore {
		t.Errorf("%s changed: was %s, is %s", defaultStateDir, stateBefore, got)
	}
}

// buildBinaries builds (or finds in $GANTRY_BIN_DIR) gantry and every
// binary it starts, all in one directory.
func (e *env) buildBinaries() {
	e.t.Helper()
	var err error
	if e.gantry, err = cluster.Binary("cli", "gantry"); err != nil {
		e.t.Fatal(err)
	}
	e.binDir = filepath.Dir(e.gantry)
	for _, b := range binaries {
		bin, err := cluster.Binary(b[0], b[1])
		if err != nil {
			e.t.Fatal(err)
		}
		if filepath.Dir(bin) != e.binDir {
			e.t.Fatalf("%s is in %s, not beside gantry in %s", b[1], filepath.Dir(bin), e.binDir)
		}
	}
}

// refuseIfTaken fails the test, touching nothing, if a cluster (or
// anything else) holds what `gantry up` needs.
func (e *env) refuseIfTaken() {
	e.t.Helper()
	var problems []string
	listening, err := listeningPorts()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range clusterPorts {
		if listening[p] {
			problems = append(problems, fmt.Sprintf("port %d is in use (see: ss -ltnp 'sport = :%d')", p, p))
		}
	}
	if containerdAnswers(e.ctx, ownContainerd) {
		problems = append(problems, "a Gantry cluster's containerd runs at "+ownContainerd+" (stop that cluster with: gantry down)")
	}
	if containerdAnswers(e.ctx, systemContainerd) {
		// gantry up would use it: its namespace must be empty.
		out, err := exec.CommandContext(e.ctx, "ctr", "--address", systemContainerd, "--namespace", containerdNS,
			"containers", "list", "--quiet").Output()
		if err != nil {
			problems = append(problems, fmt.Sprintf("list the containers of namespace %s at %s: %v", containerdNS, systemContainerd, err))
		} else if ids := strings.Fields(string(out)); len(ids) > 0 {
			problems = append(problems, fmt.Sprintf("containerd at %s has %d containers in namespace %s (a Gantry cluster's pods)",
				systemContainerd, len(ids), containerdNS))
		}
	}
	for _, s := range shims(containerdNS, "") {
		problems = append(problems, "a containerd shim of namespace "+containerdNS+" runs: "+s.String())
	}
	left, err := hostNetworkLeftovers(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, l := range left {
		problems = append(problems, "host networking of a Gantry cluster is there ("+l+"); gantry down would remove it")
	}
	if len(problems) > 0 {
		e.t.Fatalf("not starting a cluster: this host is not free for one (nothing was changed):\n  %s",
			strings.Join(problems, "\n  "))
	}
}

// run runs gantry cmd with the test's binaries and state directory and
// returns its combined output and exit code.
func (e *env) run(cmd string, args ...string) (string, int) {
	e.t.Helper()
	full := append([]string{cmd, "--bin-dir", e.binDir, "--data-dir", e.dataDir}, args...)
	c := exec.CommandContext(e.ctx, e.gantry, full...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	default:
		e.t.Fatalf("gantry %s: %v\n%s", cmd, err, out.String())
		return "", -1
	}
}

var stepLine = regexp.MustCompile(`^\[ *[0-9]+\.[0-9]s\] (.+)$`)

// up runs gantry up, checks it printed a line per step, and returns the
// pid each daemon has (0 for the system's containerd). again says the
// cluster runs already: every daemon must be reported as such.
func (e *env) up(again bool) map[string]int {
	e.t.Helper()
	out, code := e.run("up", "--timeout", "90s")
	if code != 0 {
		e.t.Fatalf("gantry up (again: %v) exited %d:\n%s", again, code, out)
	}
	var steps []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Gantry is up:") {
			break
		}
		if m := stepLine.FindStringSubmatch(l); m != nil {
			steps = append(steps, m[1])
		} else if strings.TrimSpace(l) != "" {
			e.t.Errorf("gantry up printed a line that is not a step: %q", l)
		}
	}
	if !strings.Contains(out, "Gantry is up:") || !strings.Contains(out, "export KUBECONFIG="+e.kubeconfig()) {
		e.t.Errorf("gantry up did not say how to use the cluster:\n%s", out)
	}
	pids := map[string]int{}
	suffix := ")"
	if again {
		suffix = ", already running)"
	}
	for _, d := range daemons {
		re := regexp.MustCompile("^" + regexp.QuoteMeta(d) + ` ready \(pid ([0-9]+)` + regexp.QuoteMeta(suffix) + "$")
		i := slices.IndexFunc(steps, func(s string) bool { return re.MatchString(s) })
		switch {
		case i >= 0:
			pids[d], _ = strconv.Atoi(re.FindStringSubmatch(steps[i])[1])
		case d == "containerd" && slices.ContainsFunc(steps, func(s string) bool { return strings.HasPrefix(s, "containerd: the system's") }):
			pids[d] = 0
		default:
			e.t.Errorf("gantry up (again: %v) printed no step %q ... %q", again, re, steps)
		}
	}
	want := []string{"wrote admin kubeconfig " + e.kubeconfig(), "node ", "cluster DNS answers"}
	if !again {
		want = append(want, "wrote tokens to "+filepath.Join(e.dataDir, "pki", "tokens.csv"))
	}
	for _, w := range want {
		if !slices.ContainsFunc(steps, func(s string) bool { return strings.HasPrefix(s, w) }) {
			e.t.Errorf("gantry up (again: %v) printed no step %q...; steps: %q", again, w, steps)
		}
	}
	if e.t.Failed() {
		e.t.FailNow()
	}
	return pids
}

func (e *env) kubeconfig() string { return filepath.Join(e.dataDir, "admin.kubeconfig") }

// status runs gantry status, which must exit 0.
func (e *env) status() {
	e.t.Helper()
	if out, code := e.run("status"); code != 0 {
		e.t.Fatalf("gantry status exited %d:\n%s", code, out)
	}
}

// gantryKubectl runs `gantry kubectl get nodes`, which finds the admin
// kubeconfig through $GANTRY_DATA_DIR, whatever $KUBECONFIG says.
func (e *env) gantryKubectl() {
	e.t.Helper()
	c := exec.CommandContext(e.ctx, e.gantry, "kubectl", "--cache-dir", e.kubeDir, "get", "nodes", "-o", "name")
	c.Env = append(os.Environ(), "GANTRY_DATA_DIR="+e.dataDir, "GANTRY_BIN_DIR="+e.binDir,
		"KUBECONFIG="+filepath.Join(e.kubeDir, "no-such-kubeconfig"))
	out, err := c.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "node/") {
		e.t.Fatalf("gantry kubectl get nodes: %v\n%s", err, out)
	}
}

// kubectl runs kubectl with the admin kubeconfig; it must succeed.
func (e *env) kubectl(stdin []byte, args ...string) string {
	e.t.Helper()
	out, err := e.tryKubectl(stdin, args...)
	if err != nil {
		e.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (e *env) tryKubectl(stdin []byte, args ...string) (string, error) {
	full := append([]string{"--kubeconfig", e.kubeconfig(), "--cache-dir", e.kubeDir}, args...)
	c := exec.CommandContext(e.ctx, "kubectl", full...)
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	if err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

// rollout waits for the web Deployment's rollout to finish.
func (e *env) rollout() {
	e.t.Helper()
	e.kubectl(nil, "rollout", "status", "deployment/web", "--timeout=120s")
}

// waitReady waits until the web Deployment has n ready replicas.
func (e *env) waitReady(n int) {
	e.t.Helper()
	e.eventually(time.Minute, fmt.Sprintf("%d ready replicas of deployment/web", n), func() error {
		out, err := e.tryKubectl(nil, "get", "deployment/web", "-o", "jsonpath={.status.readyReplicas}")
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) != strconv.Itoa(n) {
			return fmt.Errorf("readyReplicas %q", out)
		}
		return nil
	})
}

// waitPage waits until the page through the Ingress names version in
// five answers in a row (the rollout's old pods have left the
// endpoints).
func (e *env) waitPage(version string) {
	e.t.Helper()
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	want := "web " + version + " from web-"
	inARow := 0
	e.eventually(2*time.Minute, fmt.Sprintf("%s through the Ingress to answer %q", ingressURL, want), func() error {
		body, err := get(e.ctx, client, ingressURL)
		if err != nil || !strings.HasPrefix(body, want) {
			inARow = 0
			if err == nil {
				err = fmt.Errorf("answered %q", body)
			}
			return err
		}
		if inARow++; inARow < 5 {
			return fmt.Errorf("answered %q %d times in a row", body, inARow)
		}
		return nil
	})
}

func get(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return strings.TrimSpace(string(b)), nil
}

// eventually polls cond until it returns nil or timeout passes.
func (e *env) eventually(timeout time.Duration, what string, cond func() error) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			e.t.Fatalf("timed out after %v waiting for %s (last: %v)", timeout, what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// daemonProcs returns the daemons' processes as their pid files say.
func (e *env) daemonProcs(pids map[string]int) []proc {
	e.t.Helper()
	var out []proc
	for _, d := range daemons {
		if pids[d] == 0 {
			continue
		}
		p, ok := procOf(pids[d])
		if !ok {
			e.t.Fatalf("%s (pid %d) is not running", d, pids[d])
		}
		data, err := os.ReadFile(filepath.Join(e.dataDir, d+".pid"))
		if err != nil || strings.TrimSpace(string(data)) != strconv.Itoa(pids[d]) {
			e.t.Errorf("%s.pid holds %q (%v), want %d", d, data, err, pids[d])
		}
		out = append(out, p)
	}
	return out
}

// checkGone checks that gantry down --purge left nothing behind.
func (e *env) checkGone(started []proc, sock string) {
	e.t.Helper()
	for _, p := range started {
		if p.alive() {
			e.t.Errorf("still running after gantry down: %s", p)
		}
	}
	for _, s := range shims(containerdNS, sock) {
		e.t.Errorf("containerd shim of namespace %s still running: %s", containerdNS, s)
	}
	left, err := hostNetworkLeftovers(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, l := range left {
		e.t.Errorf("left behind: %s", l)
	}
	mounts, err := mountsInvolving(e.dataDir)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range mounts {
		e.t.Errorf("still mounted: %s", m)
	}
	if _, err := os.Stat(e.dataDir); !os.IsNotExist(err) {
		e.t.Errorf("state directory %s: %v, want it removed", e.dataDir, err)
	}
}

// clusterState prints, after a failure, what the API holds of the
// Services, their EndpointSlices and the pods, and the proxy's rules for
// the Services in this node's nat table: what a failed request to a
// Service needs explained.
func (e *env) clusterState() {
	out, err := e.tryKubectl(nil, "get", "services,endpointslices,pods", "-A", "-o", "wide")
	e.t.Logf("--- kubectl get services,endpointslices,pods -A -o wide (%v):\n%s", err, out)
	nat, err := exec.CommandContext(e.ctx, "iptables-save", "-t", "nat").CombinedOutput()
	var rules []string
	for _, l := range strings.Split(string(nat), "\n") {
		if strings.Contains(l, "KUBE-SVC") || strings.Contains(l, "KUBE-SEP") || strings.HasPrefix(l, "-A KUBE-SERVICES") {
			rules = append(rules, l)
		}
	}
	if len(rules) > 80 {
		rules = rules[:80]
	}
	e.t.Logf("--- iptables-save -t nat, the Services' rules (%v):\n%s", err, strings.Join(rules, "\n"))
}

// logTails prints the end of each daemon's log.
func (e *env) logTails() {
	for _, d := range daemons {
		data, err := os.ReadFile(filepath.Join(e.dataDir, d+".log"))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 60 {
			lines = lines[len(lines)-60:]
		}
		e.t.Logf("--- %s.log (last %d lines):\n%s", d, len(lines), strings.Join(lines, "\n"))
	}
}

// removePodLeftovers removes what the test's pods leave outside the
// state directory: their log directories (<ns>_<pod>_<uid>) and their
// empty pod cgroups (/gantry/pod<uid> in each cgroup v1 controller).
func (e *env) removePodLeftovers(before map[string]bool) {
	for name := range dirNames(podLogDir) {
		if before[name] || !strings.HasPrefix(name, "default_web-") {
			continue
		}
		if err := os.RemoveAll(filepath.Join(podLogDir, name)); err != nil {
			e.t.Errorf("cleanup: %v", err)
		}
		containerdtest.RemoveCgroup("/gantry/pod" + name[strings.LastIndexByte(name, '_')+1:])
	}
}
