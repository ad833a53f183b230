// Package ingress_test holds gantry-ingress' end-to-end tests: a real
// store, API server, gantry-controllers (EndpointSlice controller) and
// gantry-ingress process on free loopback ports, driven with client-go.
//
// The backends are HTTP servers the test runs inside a network namespace
// it creates (joined to the host by a veth pair on 10.253.x.0/28): the
// API server refuses loopback endpoint addresses, as Kubernetes does. They
// sit behind selector-less Services whose EndpointSlices the test writes,
// so it decides when an endpoint is ready. Tests need root (ip netns).
//
// The tests share one control plane and one gantry-ingress; each works
// with Ingresses and Services of its own.
package ingress_test

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

// publishAddress is what gantry-ingress writes to Ingress status
// (TEST-NET-1: never dialled).
const publishAddress = "192.0.2.10"

// env is the shared control plane, gantry-ingress and backend namespace.
type env struct {
	t     *testing.T
	ctx   context.Context
	cp    *controlplane.ControlPlane
	kube  kubernetes.Interface
	dir   string
	token string
	ns    *backendNS

	ingressd  *daemon
	httpAddr  string // gantry-ingress' HTTP listener
	httpsAddr string
}

// daemon is a process the test started.
type daemon struct {
	proc       *cluster.Process
	metricsURL string
}

// newEnv starts everything for a test and stops it when the test ends.
func newEnv(t *testing.T) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("gantry-ingress' end-to-end tests need root (network namespaces)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	cp := controlplane.Start(t, controlplane.Options{})
	kube, err := kubernetes.NewForConfig(&rest.Config{
		Host: cp.Servers[0].URL, BearerToken: cp.AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAFile: cp.CAFile}, QPS: 1000, Burst: 1000,
		UserAgent: "ingress-e2e",
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte(cp.AdminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, cp: cp, kube: kube, dir: dir, token: token}
	e.ns = newBackendNS(t)
	e.startControllers("--controllers=endpointslice")
	e.startIngress()
	return e
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
	common := []string{"--api-servers", e.cp.Servers[0].URL, "--ca-file", e.cp.CAFile, "--token-file", e.token,
		"--metrics-address", addr}
	if err := d.proc.Start(bin, append(common, args...)); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if e.t.Failed() {
			e.t.Logf("--- %s log:\n%s", name, d.proc.LogTail(80))
		}
		if err := d.proc.Stop(15 * time.Second); err != nil {
			e.t.Errorf("stop %s: %v", name, err)
		}
	})
	return d
}

// startControllers runs gantry-controllers without leader election and
// waits until it is ready.
func (e *env) startControllers(extra ...string) *daemon {
	e.t.Helper()
	d := e.start("controllers", "gantry-controllers", append([]string{"--leader-elect=false"}, extra...))
	e.waitHTTP(d, "/readyz", time.Minute)
	return d
}

// startIngress runs gantry-ingress on free loopback ports and waits until
// it has loaded its configuration.
func (e *env) startIngress() {
	e.t.Helper()
	ports, err := cluster.FreePorts(2)
	if err != nil {
		e.t.Fatal(err)
	}
	e.httpAddr = "127.0.0.1:" + strconv.Itoa(ports[0])
	e.httpsAddr = "127.0.0.1:" + strconv.Itoa(ports[1])
	e.ingressd = e.start("ingress", "gantry-ingress", []string{
		"--http-address", e.httpAddr, "--https-address", e.httpsAddr, "--publish-address", publishAddress,
		"--log-level", "debug", "--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s",
		"--leader-elect-retry-period", "500ms", "--max-body-size", "64k",
	})
	e.waitHTTP(e.ingressd, "/healthz", time.Minute)
}

// eventually polls cond until it holds or timeout passes.
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
			e.t.Fatalf("timed out after %v waiting for %s (last: %v)", timeout, what, last)
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

// get sends a GET for host and path through gantry-ingress' HTTP port.
func (e *env) get(c *http.Client, host, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(e.ctx, "GET", "http://"+e.httpAddr+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}

// waitRoute waits until host and path answer code with a body holding
// want.
func (e *env) waitRoute(host, path string, code int, want string) {
	e.t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	e.eventually(time.Minute, fmt.Sprintf("%s%s -> %d %q", host, path, code, want), func() (bool, error) {
		got, body, err := e.get(c, host, path)
		if err != nil {
			return false, err
		}
		return got == code && strings.Contains(body, want), fmt.Errorf("%d %q", got, body)
	})
}
