// Package scheduler_test holds gantry-scheduler's end-to-end tests: a real
// store, API server and scheduler processes; nodes are Node objects the
// tests create (no agents: the scheduler only reads them), pods are
// created with client-go, and what the scheduler decided is read back
// from the API (spec.nodeName, PodScheduled conditions, Events).
//
// Nodes are cluster-wide, so each test has a control plane of its own.
package scheduler_test

import (
	"context"
	"fmt"
	"io"
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
	"k8s.io/apimachinery/pkg/fields"
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

const ns = "default"

type env struct {
	t    *testing.T
	ctx  context.Context
	cp   *controlplane.ControlPlane
	kube kubernetes.Interface
	// schedulers started by startScheduler.
	schedulers []*scheduler
}

type scheduler struct {
	proc       *cluster.Process
	metricsURL string
	args       []string
	bin        string
}

// newEnv starts a control plane for the test.
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	cp := controlplane.Start(t, controlplane.Options{})
	kube, err := kubernetes.NewForConfig(&rest.Config{
		Host: cp.Servers[0].URL, BearerToken: cp.AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAFile: cp.CAFile}, QPS: 1000, Burst: 1000,
		UserAgent: "scheduler-e2e",
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, cp: cp, kube: kube}
}

// startScheduler starts a gantry-scheduler with extra flags (and a
// configuration file when config is not empty).
func (e *env) startScheduler(config string, extra ...string) *scheduler {
	e.t.Helper()
	bin, err := cluster.Binary("scheduler", "gantry-scheduler")
	if err != nil {
		e.t.Fatal(err)
	}
	return e.startSchedulerBinary(bin, config, extra...)
}

// startSchedulerBinary is startScheduler with another build of the
// scheduler (one with extra plugins).
func (e *env) startSchedulerBinary(bin, config string, extra ...string) *scheduler {
	e.t.Helper()
	dir := e.t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte(e.cp.AdminToken+"\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
	ports, err := cluster.FreePorts(1)
	if err != nil {
		e.t.Fatal(err)
	}
	metrics := "127.0.0.1:" + strconv.Itoa(ports[0])
	args := []string{
		"--api-servers", e.cp.Servers[0].URL, "--ca-file", e.cp.CAFile, "--token-file", token,
		"--metrics-address", metrics, "--log-level", "debug",
	}
	if config != "" {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
			e.t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	args = append(args, extra...)
	s := &scheduler{
		proc:       &cluster.Process{Name: fmt.Sprintf("gantry-scheduler %d", len(e.schedulers)), LogPath: filepath.Join(dir, "scheduler.log")},
		metricsURL: "http://" + metrics, args: args, bin: bin,
	}
	if err := s.proc.Start(bin, args); err != nil {
		e.t.Fatal(err)
	}
	e.schedulers = append(e.schedulers, s)
	e.t.Cleanup(func() {
		if e.t.Failed() {
			e.t.Logf("--- %s log:\n%s", s.proc.Name, s.proc.LogTail(80))
		}
		if err := s.proc.Stop(10 * time.Second); err != nil {
			e.t.Errorf("stop %s: %v", s.proc.Name, err)
		}
	})
	return s
}

// nodeSpec describes a node to create.
type nodeSpec struct {
	name          string
	cpu, memory   string
	pods          int
	labels        map[string]string
	taints        []corev1.Taint
	unschedulable bool
	notReady      bool
}

// addNode creates a Ready node with the given allocatable resources.
func (e *env) addNode(n nodeSpec) {
	e.t.Helper()
	if n.cpu == "" {
		n.cpu = "4"
	}
	if n.memory == "" {
		n.memory = "8Gi"
	}
	if n.pods == 0 {
		n.pods = 110
	}
	labels := map[string]string{"kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux"}
	for k, v := range n.labels {
		labels[k] = v
	}
	ready := corev1.ConditionTrue
	if n.notReady {
		ready = corev1.ConditionFalse
	}
	alloc := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(n.cpu),
		corev1.ResourceMemory: resource.MustParse(n.memory),
		corev1.ResourcePods:   *resource.NewQuantity(int64(n.pods), resource.DecimalSI),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: n.taints, Unschedulable: n.unschedulable},
		Status: corev1.NodeStatus{
			Capacity: alloc, Allocatable: alloc,
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, Reason: "Test", LastHeartbeatTime: metav1.Now()}},
		},
	}
	created, err := e.kube.CoreV1().Nodes().Create(e.ctx, node, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create node %s: %v", n.name, err)
	}
	if len(created.Status.Allocatable) == 0 {
		created.Status = node.Status
		if _, err := e.kube.CoreV1().Nodes().UpdateStatus(e.ctx, created, metav1.UpdateOptions{}); err != nil {
			e.t.Fatalf("node %s status: %v", n.name, err)
		}
	}
}

// pod returns a pause-like pod requesting cpu (may be "").
func pod(name, cpu string) *corev1.Pod {
	c := corev1.Container{Name: "c", Image: "gantry.local/busybox:latest", Command: []string{"sleep", "3600"}}
	if cpu != "" {
		c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "test"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
	}
}

func (e *env) create(p *corev1.Pod) *corev1.Pod {
	e.t.Helper()
	out, err := e.kube.CoreV1().Pods(ns).Create(e.ctx, p, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create pod %s: %v", p.Name, err)
	}
	return out
}

// waitPod polls a pod until ok, or fails after d.
func (e *env) waitPod(name string, d time.Duration, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	e.t.Helper()
	deadline := time.Now().Add(d)
	var last *corev1.Pod
	for {
		p, err := e.kube.CoreV1().Pods(ns).Get(e.ctx, name, metav1.GetOptions{})
		if err == nil {
			last = p
			if ok(p) {
				return p
			}
		} else if !apierrors.IsNotFound(err) {
			e.t.Logf("get pod %s: %v", name, err)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("pod %s: not %s within %v; last seen: %s", name, what, d, describe(last))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func describe(p *corev1.Pod) string {
	if p == nil {
		return "<none>"
	}
	s := fmt.Sprintf("nodeName=%q nominated=%q deleting=%v", p.Spec.NodeName, p.Status.NominatedNodeName, p.DeletionTimestamp != nil)
	for _, c := range p.Status.Conditions {
		s += fmt.Sprintf("\n  cond %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
	}
	return s
}

// waitScheduled waits until the pod is bound and returns its node.
func (e *env) waitScheduled(name string) string {
	e.t.Helper()
	return e.waitPod(name, 30*time.Second, "scheduled", func(p *corev1.Pod) bool { return p.Spec.NodeName != "" }).Spec.NodeName
}

// waitUnschedulable waits for PodScheduled=False with the message.
func (e *env) waitUnschedulable(name, message string) *corev1.Pod {
	e.t.Helper()
	p := e.waitPod(name, 30*time.Second, "unschedulable with "+strconv.Quote(message), func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == "Unschedulable" && c.Message == message {
				return true
			}
		}
		return false
	})
	if p.Spec.NodeName != "" {
		e.t.Fatalf("pod %s: bound to %s although unschedulable", name, p.Spec.NodeName)
	}
	return p
}

// waitEvent waits for an event about the pod with reason and message
// (message "" matches any).
func (e *env) waitEvent(pod, reason, message string) {
	e.t.Helper()
	e.waitEventFrom(pod, "default-scheduler", reason, message)
}

// waitEventFrom is waitEvent for events from the profile source.
func (e *env) waitEventFrom(pod, source, reason, message string) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	sel := fields.Set{"involvedObject.name": pod, "reason": reason}.AsSelector().String()
	var seen []string
	for time.Now().Before(deadline) {
		list, err := e.kube.CoreV1().Events(ns).List(e.ctx, metav1.ListOptions{FieldSelector: sel})
		if err == nil {
			seen = seen[:0]
			for _, ev := range list.Items {
				if ev.Reason == reason && (message == "" || ev.Message == message) && ev.Source.Component == source {
					return
				}
				seen = append(seen, ev.Reason+": "+ev.Message)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.t.Fatalf("no %s event %q for pod %s; seen: %s", reason, message, pod, strings.Join(seen, " | "))
}
