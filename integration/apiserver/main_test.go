// Package apiserver_test holds the API server's end-to-end tests: a real
// store and real gantry-apiserver processes (package controlplane), driven
// by the clients users have, the kubectl binary and client-go.
//
// The tests share one control plane of two API servers on one store; each
// test works in a namespace of its own, so tests are independent and most
// run in parallel. The few that restart an API server or compact the store
// do not call t.Parallel, so they run before the parallel ones start.
package apiserver_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/controlplane"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

func TestMain(m *testing.M) {
	// client-go logs reconnections of its watches; the tests check what
	// matters.
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	code := m.Run()
	shared.close()
	cluster.RemoveBuilt()
	os.Exit(code)
}

// shared is the package's control plane, started by the first test that
// needs it and stopped by TestMain.
var shared sharedPlane

type sharedPlane struct {
	once  sync.Once
	err   error
	dir   string
	store *cluster.Cluster
	cp    *controlplane.ControlPlane
}

func (s *sharedPlane) start() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	flavor, err := cluster.FlavorFromEnv()
	if err != nil {
		s.err = err
		return
	}
	if s.store, err = cluster.Launch(ctx, cluster.Options{Flavor: flavor, Members: 1}); err != nil {
		s.err = fmt.Errorf("start store: %w", err)
		return
	}
	if s.dir, err = os.MkdirTemp("", "gantry-apiserver-e2e-"); err != nil {
		s.err = err
		return
	}
	if s.cp, err = controlplane.Launch(ctx, s.store, s.dir, controlplane.Options{APIServers: 2}); err != nil {
		s.err = fmt.Errorf("start API servers: %w", err)
	}
}

func (s *sharedPlane) close() {
	if s.cp != nil {
		if err := s.cp.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "stop API servers:", err)
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

// controlPlane returns the shared control plane: two API servers on a
// one-member store. When t fails, the API servers' logs are printed.
func controlPlane(t *testing.T) *controlplane.ControlPlane {
	t.Helper()
	shared.once.Do(shared.start)
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	offsets := make([]int64, len(shared.cp.Servers))
	for i, s := range shared.cp.Servers {
		if fi, err := os.Stat(s.LogPath); err == nil {
			offsets[i] = fi.Size()
		}
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, s := range shared.cp.Servers {
			t.Logf("--- log of apiserver %d (%s) during the test:\n%s", i, s.URL, logSince(s.LogPath, offsets[i], 40))
		}
	})
	return shared.cp
}

// logSince returns the last n lines written to a log after offset.
func logSince(path string, offset int64, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if offset > int64(len(data)) {
		offset = 0
	}
	lines := strings.Split(strings.TrimRight(string(data[offset:]), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// env is what one test works with: the shared control plane, a namespace
// of its own, clients for it and a kubectl with its own kubeconfig (whose
// default namespace is the test's) and cache directory.
type env struct {
	t    *testing.T
	ctx  context.Context
	cp   *controlplane.ControlPlane
	ns   string
	kube kubernetes.Interface // through API server 0
	dyn  dynamic.Interface

	kubeconfig string
	cacheDir   string
}

// newEnv prepares a test: it creates a namespace named after prefix.
func newEnv(t *testing.T, prefix string) *env {
	t.Helper()
	cp := controlPlane(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, cp: cp, ns: uniqueName(prefix), cacheDir: filepath.Join(t.TempDir(), "kubectl-cache")}
	e.kube = e.client(0)
	dyn, err := dynamic.NewForConfig(e.config(0))
	if err != nil {
		t.Fatal(err)
	}
	e.dyn = dyn
	if _, err := e.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", e.ns, err)
	}
	kc := strings.Replace(cp.KubeconfigFor(0), "    user: admin\n", "    user: admin\n    namespace: "+e.ns+"\n", 1)
	e.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(e.kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// uniqueName returns prefix followed by a random suffix.
func uniqueName(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// config is an admin client configuration for API server i.
func (e *env) config(i int) *rest.Config {
	return restConfig(e.cp, i)
}

func restConfig(cp *controlplane.ControlPlane, i int) *rest.Config {
	return &rest.Config{
		Host:            cp.Servers[i].URL,
		BearerToken:     cp.AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAFile: cp.CAFile},
		QPS:             1000,
		Burst:           1000,
		UserAgent:       "apiserver-e2e",
	}
}

// client is a typed clientset for API server i.
func (e *env) client(i int) kubernetes.Interface {
	e.t.Helper()
	c, err := kubernetes.NewForConfig(e.config(i))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// kubectl runs kubectl; stdin may be empty.
func (e *env) kubectl(stdin string, args ...string) (stdout, stderr string, err error) {
	return e.kubectlEnv(nil, stdin, args...)
}

// kubectlEnv runs kubectl with extra environment variables.
func (e *env) kubectlEnv(environ []string, stdin string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(e.ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", e.kubectlArgs(args)...)
	if environ != nil {
		cmd.Env = append(os.Environ(), environ...)
	}
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

func (e *env) kubectlArgs(args []string) []string {
	return append([]string{"--kubeconfig", e.kubeconfig, "--cache-dir", e.cacheDir}, args...)
}

// mustKubectl runs kubectl and fails the test if it fails.
func (e *env) mustKubectl(stdin string, args ...string) string {
	e.t.Helper()
	out, errOut, err := e.kubectl(stdin, args...)
	if err != nil {
		e.t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// kubectlFails runs kubectl that must fail and returns what it printed on
// standard error.
func (e *env) kubectlFails(stdin string, args ...string) string {
	e.t.Helper()
	out, errOut, err := e.kubectl(stdin, args...)
	if err == nil {
		e.t.Fatalf("kubectl %s succeeded, want an error\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out, errOut)
	}
	return errOut
}

// stream is a kubectl left running (get -w), its output collected.
type stream struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	lines  []string
}

// startKubectl starts kubectl in the background; it is killed when the
// test ends.
func (e *env) startKubectl(args ...string) *stream {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	cmd := exec.CommandContext(ctx, "kubectl", e.kubectlArgs(args)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	s := &stream{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			s.mu.Unlock()
		}
		cmd.Wait()
	}()
	e.t.Cleanup(s.stop)
	return s
}

func (s *stream) stop() {
	s.cancel()
	<-s.done
}

// Lines returns what the command printed so far.
func (s *stream) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// eventually polls cond until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true after %v: %v", timeout, err)
		}
		<-tick.C
	}
}

// fields splits table output into rows of columns.
func fields(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Fields(line))
		}
	}
	return rows
}
