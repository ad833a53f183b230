// Package controllers_test holds gantry-controllers' end-to-end tests: a
// real store, API server and gantry-controllers process, clients are
// client-go and kubectl, and nodes are either Node objects the test
// writes itself (when it wants to script pod status) or simulated nodes:
// a gantry-agent running many nodes on its in-memory runtime
// (--simulate-nodes), which registers them, heartbeats, and runs the
// pods bound to them (Running and Ready once started). Pods are placed by
// a real gantry-scheduler when a test starts one, else by the test.
//
// Nodes are cluster-wide, so each test has a control plane of its own.
package controllers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/controlplane"
)

func TestMain(m *testing.M) {
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	code := m.Run()
	cluster.RemoveBuilt()
	os.Exit(code)
}

type env struct {
	t    *testing.T
	ctx  context.Context
	cp   *controlplane.ControlPlane
	kube kubernetes.Interface
	dir  string
	// token is a file holding the admin token, for the daemons.
	token string
}

// newEnv starts a control plane (store and API server) for the test.
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	cp := controlplane.Start(t, controlplane.Options{})
	kube, err := kubernetes.NewForConfig(&rest.Config{
		Host: cp.Servers[0].URL, BearerToken: cp.AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAFile: cp.CAFile}, QPS: 1000, Burst: 1000,
		UserAgent: "controllers-e2e",
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte(cp.AdminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, cp: cp, kube: kube, dir: dir, token: token}
}

// daemon is a process the test started.
type daemon struct {
	proc       *cluster.Process
	metricsURL string
}

// start runs binary name of service svc with args, stopping it when the
// test ends (after printing its log if the test failed).
func (e *env) start(svc, name string, args []string) *daemon {
	e.t.Helper()
	bin, err := cluster.Binary(svc, name)
	if err != nil {
		e.t.Fatal(err)
	}
	ports, err := cluster.FreePorts(1)
	if err != nil {
		e.t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	logName := fmt.Sprintf("%s-%s.log", name, cluster.RandomHex(3))
	d := &daemon{
		proc:       &cluster.Process{Name: name, LogPath: filepath.Join(e.dir, logName)},
		metricsURL: "http://" + addr,
	}
	common := []string{"--api-servers", e.cp.Servers[0].URL, "--ca-file", e.cp.CAFile, "--token-file", e.token}
	switch svc {
	case "agent":
		common = append(common, "--healthz-address", addr)
	default:
		common = append(common, "--metrics-address", addr)
	}
	if err := d.proc.Start(bin, append(common, args...)); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if e.t.Failed() {
			e.t.Logf("--- %s log:\n%s", name, d.proc.LogTail(60))
		}
		if err := d.proc.Stop(15 * time.Second); err != nil {
			e.t.Errorf("stop %s: %v", name, err)
		}
	})
	return d
}

// startControllers runs gantry-controllers (without leader election
// unless extra turns it on) and waits until it is ready.
func (e *env) startControllers(extra ...string) *daemon {
	e.t.Helper()
	args := append([]string{"--leader-elect=false", "--log-level", "debug"}, extra...)
	d := e.start("controllers", "gantry-controllers", args)
	e.waitHTTP(d, "/readyz", time.Minute)
	return d
}

// startScheduler runs gantry-scheduler, so that pods get nodes.
func (e *env) startScheduler() *daemon {
	e.t.Helper()
	return e.start("scheduler", "gantry-scheduler", []string{"--leader-elect=false"})
}

// startSimulatedNodes runs a gantry-agent simulating n nodes named
// <prefix>-0 ... and waits until all are Ready.
func (e *env) startSimulatedNodes(prefix string, n int, extra ...string) *daemon {
	e.t.Helper()
	ports, err := cluster.FreePorts(1)
	if err != nil {
		e.t.Fatal(err)
	}
	args := append([]string{
		"--runtime", "fake", "--simulate-nodes", strconv.Itoa(n), "--hostname-override", prefix,
		"--root-dir", filepath.Join(e.dir, "agent-"+prefix), "--pod-log-dir", filepath.Join(e.dir, "logs-"+prefix),
		"--address", "127.0.0.1:" + strconv.Itoa(ports[0]),
	}, extra...)
	d := e.start("agent", "gantry-agent", args)
	e.eventually(2*time.Minute, fmt.Sprintf("%d simulated nodes %s-* Ready", n, prefix), func() (bool, error) {
		nodes, err := e.kube.CoreV1().Nodes().List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, node := range nodes.Items {
			if strings.HasPrefix(node.Name, prefix+"-") && nodeReady(&node) {
				ready++
			}
		}
		return ready == n, nil
	})
	return d
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// addNode writes a Ready Node object with no agent behind it (the test
// plays the node: it binds pods and writes their status itself).
func (e *env) addNode(name string, labels map[string]string) *corev1.Node {
	e.t.Helper()
	l := map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
	for k, v := range labels {
		l[k] = v
	}
	alloc := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods: resource.MustParse("110"),
	}
	node, err := e.kube.CoreV1().Nodes().Create(e.ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create node %s: %v", name, err)
	}
	status := corev1.NodeStatus{
		Capacity: alloc, Allocatable: alloc,
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "Test",
			LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
	}
	// Controllers may be writing the new node too (node IPAM sets its
	// pod CIDR): retry on conflict with a fresh copy.
	for {
		node.Status = status
		updated, err := e.kube.CoreV1().Nodes().UpdateStatus(e.ctx, node, metav1.UpdateOptions{})
		if err == nil {
			return updated
		}
		if !apierrors.IsConflict(err) {
			e.t.Fatalf("node %s status: %v", name, err)
		}
		if node, err = e.kube.CoreV1().Nodes().Get(e.ctx, name, metav1.GetOptions{}); err != nil {
			e.t.Fatalf("node %s: %v", name, err)
		}
	}
}

// kubectl runs kubectl against the control plane and fails the test on
// error.
func (e *env) kubectl(args ...string) string {
	e.t.Helper()
	out, errOut, err := e.cp.Kubectl(e.ctx, nil, args...)
	if err != nil {
		e.t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// kubectlIn is kubectl with stdin.
func (e *env) kubectlIn(stdin string, args ...string) string {
	e.t.Helper()
	out, errOut, err := e.cp.Kubectl(e.ctx, []byte(stdin), args...)
	if err != nil {
		e.t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// eventually polls cond until it holds or timeout passes; what is
// awaited is named by what. The last error or state is reported.
func (e *env) eventually(timeout time.Duration, what string, cond func() (bool, error)) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			e.t.Fatalf("timed out after %v waiting for %s (last error: %v)", timeout, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitHTTP waits until path of d answers 200.
func (e *env) waitHTTP(d *daemon, path string, timeout time.Duration) {
	e.t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	e.eventually(timeout, d.proc.Name+path, func() (bool, error) {
		if err := d.proc.Crashed(); err != nil {
			e.t.Fatalf("%s exited: %v\n%s", d.proc.Name, err, d.proc.LogTail(40))
		}
		resp, err := c.Get(d.metricsURL + path)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("%s", resp.Status)
	})
}

// metrics returns d's /metrics text.
func (e *env) metrics(d *daemon) string {
	e.t.Helper()
	resp, err := http.Get(d.metricsURL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// busybox is the image test pods name (simulated nodes run anything).
const busybox = "gantry.local/busybox:latest"
