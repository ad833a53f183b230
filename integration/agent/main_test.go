// Package agent_test holds the node agent's end-to-end tests: a real store,
// API server, containerd, CNI network and gantry-agent process (package
// node), driven with kubectl and client-go. Pods name the node in
// spec.nodeName: there is no scheduler yet.
//
// The tests share one control plane and one node; each works in a
// namespace of its own. TestAgentRestartKeepsContainers restarts the
// agent, so it does not call t.Parallel and runs before the others.
package agent_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/controlplane"
	"github.com/gantry-dev/gantry/integration/node"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

const image = "gantry.local/busybox:latest"

func TestMain(m *testing.M) {
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	code := m.Run()
	shared.close()
	cluster.RemoveBuilt()
	os.Exit(code)
}

var shared sharedNode

type sharedNode struct {
	once  sync.Once
	err   error
	dir   string
	store *cluster.Cluster
	cp    *controlplane.ControlPlane
	node  *node.Node
	cs    *kubernetes.Clientset
}

func (s *sharedNode) start() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if os.Geteuid() != 0 {
		s.err = fmt.Errorf("the agent's end-to-end tests need root")
		return
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
	if s.dir, err = os.MkdirTemp("", "gantry-agent-e2e-"); err != nil {
		s.err = err
		return
	}
	s.node = node.New(node.Options{})
	if s.cp, err = controlplane.Launch(ctx, s.store, s.dir, controlplane.Options{Tokens: []string{s.node.TokenLine()}}); err != nil {
		s.err = fmt.Errorf("start API server: %w", err)
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
	s.cs, s.err = kubernetes.NewForConfig(cfg)
}

func (s *sharedNode) close() {
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

// env is one test's view: the shared node and a namespace of its own.
type env struct {
	t    *testing.T
	ctx  context.Context
	cp   *controlplane.ControlPlane
	node *node.Node
	cs   *kubernetes.Clientset
	ns   string
}

// newEnv returns the shared node (started by the first test) and a fresh
// namespace. When t fails, the agent's log is printed. When t ends, the
// agent must still be healthy.
func newEnv(t *testing.T) *env {
	t.Helper()
	shared.once.Do(shared.start)
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, cp: shared.cp, node: shared.node, cs: shared.cs, ns: "t-" + cluster.RandomHex(4)}
	var offset int64
	if fi, err := os.Stat(e.node.LogPath); err == nil {
		offset = fi.Size()
	}
	if _, err := e.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.node.Healthy(); err != nil {
			t.Errorf("agent unhealthy after the test: %v", err)
		}
		if t.Failed() {
			t.Logf("--- agent log during the test:\n%s", logSince(e.node.LogPath, offset, 60))
			t.Logf("--- apiserver log:\n%s", e.cp.Servers[0].LogTail(20))
		}
		// Delete the test's pods now so the node does not fill up.
		_ = e.cs.CoreV1().Pods(e.ns).DeleteCollection(context.Background(), *metav1.NewDeleteOptions(0), metav1.ListOptions{})
	})
	return e
}

// kubectl runs kubectl in the test's namespace.
func (e *env) kubectl(args ...string) (string, string, error) {
	return e.cp.Kubectl(e.ctx, nil, append([]string{"-n", e.ns}, args...)...)
}

// apply creates objects from YAML (namespace and nodeName filled in by
// the caller's template: {{NS}} and {{NODE}}).
func (e *env) apply(yaml string) {
	e.t.Helper()
	yaml = strings.NewReplacer("{{NS}}", e.ns, "{{NODE}}", e.node.Name, "{{IMAGE}}", image).Replace(yaml)
	out, errOut, err := e.cp.Kubectl(e.ctx, []byte(yaml), "-n", e.ns, "create", "--validate=false", "-f", "-")
	if err != nil {
		e.t.Fatalf("kubectl create: %v\n%s%s", err, out, errOut)
	}
}

func (e *env) pod(name string) *corev1.Pod {
	e.t.Helper()
	p, err := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// waitPod polls pod name until cond holds, and returns it.
func (e *env) waitPod(name string, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var p *corev1.Pod
	for {
		var err error
		p, err = e.cs.CoreV1().Pods(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err == nil && cond(p) {
			return p
		}
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			e.t.Fatalf("pod %s: not %s within %v (err %v); status:\n%s", name, what, timeout, err, statusString(p))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (e *env) waitRunning(name string) *corev1.Pod {
	e.t.Helper()
	return e.waitPod(name, 90*time.Second, "Ready", podReady)
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

// podCgroups lists the pod's cgroup directories under the node's cgroup
// root, in every hierarchy that has one.
func (e *env) podCgroups(uid types.UID) []string {
	dirs, err := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", e.node.CgroupRoot, "pod"+string(uid)))
	if err != nil {
		e.t.Fatal(err)
	}
	return dirs
}

// podLogDir is the pod's directory of container logs.
func (e *env) podLogDir(p *corev1.Pod) string {
	return filepath.Join(e.node.PodLogDir, p.Namespace+"_"+p.Name+"_"+string(p.UID))
}

func containerStatus(p *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	for i := range p.Status.InitContainerStatuses {
		if p.Status.InitContainerStatuses[i].Name == name {
			return &p.Status.InitContainerStatuses[i]
		}
	}
	return nil
}

func statusString(p *corev1.Pod) string {
	if p == nil {
		return "(no pod)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s podIP=%s reason=%s msg=%s\n", p.Status.Phase, p.Status.PodIP, p.Status.Reason, p.Status.Message)
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, "  cond %s=%s %s\n", c.Type, c.Status, c.Reason)
	}
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		fmt.Fprintf(&b, "  container %s ready=%v restarts=%d state=%+v last=%+v\n", cs.Name, cs.Ready, cs.RestartCount, cs.State, cs.LastTerminationState)
	}
	return b.String()
}

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
