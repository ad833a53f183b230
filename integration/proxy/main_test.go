// Package proxy_test holds gantry-proxy's end-to-end tests: a real
// store, API server, gantry-controllers (the EndpointSlice and Endpoints
// controllers), gantry-scheduler, a real node (package node: containerd,
// CNI bridge, gantry-agent) and a gantry-proxy process for that node,
// programming the host's real iptables. Clients are kubectl, client-go,
// busybox in pods (wget, nc) and the test process itself on the host.
//
// The tests share one environment (started by the first test that asks
// for it, torn down in TestMain); each works in a namespace of its own.
// Services get ClusterIPs from 10.251.0.0/16 and pods addresses from the
// node's /24 of 10.250.0.0/16, so the traffic stays on this machine: pod
// network namespaces, the bridge, loopback.
//
// The proxy's chains carry a prefix of the test's own (--iptables-chain-
// prefix), so they collide neither with a real gantry-proxy on the host
// nor with other test runs; when the package ends the proxy is stopped and
// `gantry-proxy --cleanup` removes its chains.
//
// The proxies run in iptables mode, or in the mode GANTRY_PROXY_MODE
// names (make test runs the package once per mode: iptables, nftables);
// in nftables mode the rules are the proxy's own table,
// "<prefix>-proxy" lower-cased.
//
// Other test files of the package can add proxy flags (e.g. the cluster
// DNS's) by appending to extraProxyArgs in an init function.
package proxy_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/controlplane"
	"github.com/gantry-dev/gantry/integration/node"
)

const image = "gantry.local/busybox:latest"

// ClusterDNS is the cluster DNS address pods get (the agent's
// --cluster-dns in package node).
const ClusterDNS = "10.251.0.10"

// extraProxyArgs are added to the shared proxy's flags.
var extraProxyArgs []string

// proxyMode is the --proxy-mode of every proxy the tests start.
var proxyMode = cmp.Or(os.Getenv("GANTRY_PROXY_MODE"), "iptables")

func TestMain(m *testing.M) {
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	if proxyMode != "iptables" && proxyMode != "nftables" {
		fmt.Fprintf(os.Stderr, "GANTRY_PROXY_MODE=%q: want iptables or nftables\n", proxyMode)
		os.Exit(2)
	}
	fmt.Printf("gantry-proxy runs in %s mode\n", proxyMode)
	code := m.Run()
	shared.close()
	cluster.RemoveBuilt()
	os.Exit(code)
}

var shared sharedEnv

// sharedEnv is the environment every test uses.
type sharedEnv struct {
	once  sync.Once
	err   error
	dir   string
	token string // file with the admin token
	store *cluster.Cluster
	cp    *controlplane.ControlPlane
	node  *node.Node
	cs    *kubernetes.Clientset
	procs []*cluster.Process
	proxy *proxyProc
}

// proxyProc is a running gantry-proxy.
type proxyProc struct {
	proc       *cluster.Process
	prefix     string
	dnsDevice  string
	healthzURL string
	metricsURL string
}

func (s *sharedEnv) start() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if os.Geteuid() != 0 {
		s.err = fmt.Errorf("the proxy's end-to-end tests need root")
		return
	}
	for _, tool := range []string{"iptables", "iptables-save", "iptables-restore", "conntrack"} {
		if _, err := exec.LookPath(tool); err != nil {
			s.err = fmt.Errorf("the proxy's end-to-end tests need %s: %v", tool, err)
			return
		}
	}
	flavor, err := cluster.FlavorFromEnv()
	if err != nil {
		s.err = err
		return
	}
	if s.store, err = cluster.Launch(ctx, cluster.Options{Flavor: flavor, Members: 1}); err != nil {
		s.err = fmt.Errorf("start store: %w", err)
		return
	}
	if s.dir, err = os.MkdirTemp("", "gantry-proxy-e2e-"); err != nil {
		s.err = err
		return
	}
	s.node = node.New(node.Options{})
	if s.cp, err = controlplane.Launch(ctx, s.store, s.dir, controlplane.Options{
		Tokens: []string{s.node.TokenLine()},
		Args:   []string{"--service-cluster-ip-range", node.ServiceCIDR},
	}); err != nil {
		s.err = fmt.Errorf("start API server: %w", err)
		return
	}
	s.token = filepath.Join(s.dir, "admin.token")
	if s.err = os.WriteFile(s.token, []byte(s.cp.AdminToken+"\n"), 0o600); s.err != nil {
		return
	}
	ndir, err := os.MkdirTemp("", "gantry-node-")
	if err != nil {
		s.err = err
		return
	}
	if err := s.node.Launch(ctx, s.cp, ndir); err != nil {
		s.err = fmt.Errorf("start node: %w", err)
		return
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", s.cp.Kubeconfig)
	if err != nil {
		s.err = err
		return
	}
	cfg.QPS, cfg.Burst = 200, 400
	if s.cs, s.err = kubernetes.NewForConfig(cfg); s.err != nil {
		return
	}
	ctrl, err := s.startDaemon("controllers", "gantry-controllers", "--metrics-address",
		"--leader-elect=false", "--controllers=endpointslice,endpoint")
	if err != nil {
		s.err = err
		return
	}
	if s.err = waitHTTP(ctx, ctrl.metricsURL+"/readyz", ctrl.proc); s.err != nil {
		return
	}
	if _, err := s.startDaemon("scheduler", "gantry-scheduler", "--metrics-address", "--leader-elect=false"); err != nil {
		s.err = err
		return
	}
	s.proxy, s.err = s.startProxy(ctx, extraProxyArgs...)
}

type daemon struct {
	proc       *cluster.Process
	metricsURL string
}

// startDaemon runs a control-plane daemon with the admin token, its
// metrics on a free port given with metricsFlag.
func (s *sharedEnv) startDaemon(svc, name, metricsFlag string, args ...string) (*daemon, error) {
	bin, err := cluster.Binary(svc, name)
	if err != nil {
		return nil, err
	}
	ports, err := cluster.FreePorts(1)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	d := &daemon{proc: &cluster.Process{Name: name, LogPath: filepath.Join(s.dir, name+".log")}, metricsURL: "http://" + addr}
	common := []string{"--api-servers", s.cp.Servers[0].URL, "--ca-file", s.cp.CAFile, "--token-file", s.token, metricsFlag, addr}
	if err := d.proc.Start(bin, append(common, args...)); err != nil {
		return nil, err
	}
	s.procs = append(s.procs, d.proc)
	return d, nil
}

// startProxy runs a gantry-proxy for the node with chains of a prefix
// of its own and waits until it has programmed the rules.
func (s *sharedEnv) startProxy(ctx context.Context, args ...string) (*proxyProc, error) {
	bin, err := cluster.Binary("proxy", "gantry-proxy")
	if err != nil {
		return nil, err
	}
	ports, err := cluster.FreePorts(2)
	if err != nil {
		return nil, err
	}
	hex := strings.ToUpper(cluster.RandomHex(2))
	p := &proxyProc{
		prefix:     "GT" + hex,
		dnsDevice:  "gtdns" + strings.ToLower(hex),
		healthzURL: "http://127.0.0.1:" + strconv.Itoa(ports[0]) + "/healthz",
		metricsURL: "http://127.0.0.1:" + strconv.Itoa(ports[1]) + "/metrics",
	}
	p.proc = &cluster.Process{Name: "gantry-proxy " + p.prefix, LogPath: filepath.Join(s.dir, "proxy-"+p.prefix+".log")}
	flags := append([]string{
		"--api-servers", s.cp.Servers[0].URL, "--ca-file", s.cp.CAFile, "--token-file", s.token,
		"--hostname-override", s.node.Name, "--cluster-cidr", node.ClusterCIDR,
		"--proxy-mode", proxyMode,
		"--iptables-chain-prefix", p.prefix, "--iptables-min-sync-period", "100ms",
		"--healthz-bind-address", "127.0.0.1:" + strconv.Itoa(ports[0]),
		"--metrics-bind-address", "127.0.0.1:" + strconv.Itoa(ports[1]),
		"--cluster-dns", ClusterDNS, "--dns-device", p.dnsDevice,
		// Names outside the cluster go nowhere unless a test says.
		"--dns-upstreams", "127.0.0.1:1",
		"--log-level", "debug",
	}, args...)
	if err := p.proc.Start(bin, flags); err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p.proc)
	if err := waitHTTP(ctx, p.healthzURL, p.proc); err != nil {
		return p, err
	}
	return p, nil
}

// cleanupProxy stops p and runs gantry-proxy --cleanup for its chains.
func cleanupProxy(p *proxyProc) error {
	if err := p.proc.Stop(15 * time.Second); err != nil {
		return err
	}
	bin, err := cluster.Binary("proxy", "gantry-proxy")
	if err != nil {
		return err
	}
	out, err := exec.Command(bin, "--cleanup", "--iptables-chain-prefix", p.prefix, "--dns-device", p.dnsDevice).CombinedOutput()
	if err != nil {
		return fmt.Errorf("gantry-proxy --cleanup: %v: %s", err, out)
	}
	return nil
}

// waitHTTP polls url until it answers 200 (or proc exits).
func waitHTTP(ctx context.Context, url string, proc *cluster.Process) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	c := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		if err := proc.Crashed(); err != nil {
			return fmt.Errorf("%s: %v\n%s", proc.Name, err, proc.LogTail(40))
		}
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status + ": " + string(b)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy at %s: %s\n%s", proc.Name, url, last, proc.LogTail(40))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *sharedEnv) close() {
	if s.proxy != nil {
		if err := cleanupProxy(s.proxy); err != nil {
			fmt.Fprintln(os.Stderr, "clean up proxy:", err)
		}
	}
	for i := len(s.procs) - 1; i >= 0; i-- {
		if err := s.procs[i].Stop(15 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "stop", s.procs[i].Name+":", err)
		}
	}
	if s.node != nil {
		if err := s.node.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "stop node:", err)
		}
	}
	if s.cp != nil {
		if err := s.cp.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "stop API server:", err)
		}
	}
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "stop store:", err)
		}
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// env is one test's view: the shared environment and a namespace.
type env struct {
	t     *testing.T
	ctx   context.Context
	cp    *controlplane.ControlPlane
	node  *node.Node
	cs    *kubernetes.Clientset
	proxy *proxyProc
	ns    string
}

// newEnv returns the shared environment (started by the first test) and
// a fresh namespace. When t fails, the proxy's and agent's logs are
// printed; when it ends, the proxy must still be healthy.
func newEnv(t *testing.T) *env {
	t.Helper()
	shared.once.Do(shared.start)
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, cp: shared.cp, node: shared.node, cs: shared.cs, proxy: shared.proxy, ns: "t-" + cluster.RandomHex(4)}
	if _, err := e.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.proxy.proc.Crashed(); err != nil {
			t.Errorf("gantry-proxy crashed: %v", err)
		}
		if t.Failed() {
			t.Logf("--- gantry-proxy log:\n%s", e.proxy.proc.LogTail(60))
			t.Logf("--- agent log:\n%s", e.node.LogTail(30))
		}
		_ = e.cs.CoreV1().Pods(e.ns).DeleteCollection(context.Background(), *metav1.NewDeleteOptions(0), metav1.ListOptions{})
		if svcs, err := e.cs.CoreV1().Services(e.ns).List(context.Background(), metav1.ListOptions{}); err == nil {
			for _, s := range svcs.Items {
				_ = e.cs.CoreV1().Services(e.ns).Delete(context.Background(), s.Name, metav1.DeleteOptions{})
			}
		}
	})
	return e
}

// apply creates objects from YAML ({{NS}}, {{NODE}}, {{IMAGE}} filled in).
func (e *env) apply(yaml string) {
	e.t.Helper()
	yaml = strings.NewReplacer("{{NS}}", e.ns, "{{NODE}}", e.node.Name, "{{IMAGE}}", image).Replace(yaml)
	out, errOut, err := e.cp.Kubectl(e.ctx, []byte(yaml), "-n", e.ns, "create", "--validate=false", "-f", "-")
	if err != nil {
		e.t.Fatalf("kubectl create: %v\n%s%s", err, out, errOut)
	}
}

// exec runs a command in a pod's first container.
func (e *env) exec(pod string, cmd ...string) (string, string, error) {
	return e.cp.Kubectl(e.ctx, nil, append([]string{"-n", e.ns, "exec", pod, "--"}, cmd...)...)
}

// waitReady waits until every named pod is Running and Ready.
func (e *env) waitReady(names ...string) map[string]*corev1.Pod {
	e.t.Helper()
	out := map[string]*corev1.Pod{}
	for _, name := range names {
		out[name] = e.waitPod(name, 2*time.Minute, "Ready", podReady)
	}
	return out
}

func (e *env) waitPod(name string, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	e.t.Helper()
	var p *corev1.Pod
	err := poll(e.ctx, timeout, func() (bool, error) {
		var err error
		p, err = e.cs.CoreV1().Pods(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		return err == nil && cond(p), err
	})
	if err != nil {
		e.t.Fatalf("pod %s not %s: %v (phase %v)", name, what, err, phase(p))
	}
	return p
}

func phase(p *corev1.Pod) string {
	if p == nil {
		return "none"
	}
	return string(p.Status.Phase)
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// service returns a Service of the test's namespace.
func (e *env) service(name string) *corev1.Service {
	e.t.Helper()
	s, err := e.cs.CoreV1().Services(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// ourRules returns the rules of the proxy whose chains have prefix: in
// iptables mode the lines of iptables-save that mention it, in nftables
// mode its table as "nft list table" prints it ("" when there is none).
func ourRules(ctx context.Context, prefix string) (string, error) {
	if proxyMode == "nftables" {
		table := strings.ToLower(prefix) + "-proxy"
		out, err := exec.CommandContext(ctx, "nft", "list", "table", "ip", table).CombinedOutput()
		if err != nil {
			if strings.Contains(string(out), "No such file or directory") {
				return "", nil
			}
			return "", fmt.Errorf("nft list table ip %s: %v: %s", table, err, out)
		}
		return string(out), nil
	}
	out, err := exec.CommandContext(ctx, "iptables-save").Output()
	if err != nil {
		return "", fmt.Errorf("iptables-save: %v", err)
	}
	var b strings.Builder
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, prefix+"-") {
			b.WriteString(l + "\n")
		}
	}
	return b.String(), nil
}

// waitRules polls the shared proxy's rules until cond holds.
func (e *env) waitRules(what string, cond func(rules string) bool) {
	e.t.Helper()
	var last string
	err := poll(e.ctx, time.Minute, func() (bool, error) {
		var err error
		last, err = ourRules(e.ctx, e.proxy.prefix)
		return err == nil && cond(last), err
	})
	if err != nil {
		if len(last) > 8000 {
			last = last[:8000] + "\n... (cut)"
		}
		e.t.Fatalf("rules never %s: %v\n%s", what, err, last)
	}
}

// byMode returns the iptables or the nftables form of a rule fragment.
func byMode(iptables, nftables string) string {
	if proxyMode == "nftables" {
		return nftables
	}
	return iptables
}

// poll calls f until it returns true, ctx ends or timeout passes; it
// returns f's last error on timeout.
func poll(ctx context.Context, timeout time.Duration, f func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		ok, err := f()
		if ok {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return last
		case <-time.After(250 * time.Millisecond):
		}
	}
}
