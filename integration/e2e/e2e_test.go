package e2e_test

import (
	"context"
	"errors"
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
	"github.com/gantry-dev/gantry/integration/multihost"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

const image = "gantry.local/busybox:latest"

func TestMain(m *testing.M) {
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	code := m.Run()
	cluster.RemoveBuilt()
	os.Exit(code)
}

// Failure detection of the cluster under test: a node whose agent stops
// renewing its Lease is NotReady after nodeGrace, and its pods are
// evicted tolerationSeconds later (Kubernetes' defaults are 40 s and
// 300 s; shorter here so the scenario is quick).
const (
	nodeGrace         = 20 * time.Second
	tolerationSeconds = 10
)

// env is the cluster the scenarios share and what they have written.
type env struct {
	c  *multihost.Cluster
	ns string
	// kube talks to API server i; kube[0] is c.Kube.
	kube []kubernetes.Interface
	// read is the API server the checks read through (one that runs).
	read int
	// acked are the ConfigMaps whose creation the API acknowledged, by
	// name, with their data value.
	mu    sync.Mutex
	acked map[string]string
}

// TestHA runs the scenarios of the package documentation in order on one
// cluster of three control plane hosts and two workers.
func TestHA(t *testing.T) {
	for _, bin := range []string{"curl", "etcdctl", "kubectl", "conntrack"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("e2e needs %s: %v", bin, err)
		}
	}
	c := multihost.Start(t, multihost.Options{
		ControlPlaneHosts: 3,
		Workers:           2,
		Proxy:             true,
		ControllerArgs:    []string{"--node-monitor-grace-period", nodeGrace.String(), "--node-monitor-period", "2s"},
		APIServerArgs: []string{
			"--default-not-ready-toleration-seconds", fmt.Sprint(tolerationSeconds),
			"--default-unreachable-toleration-seconds", fmt.Sprint(tolerationSeconds),
		},
		ReadyTimeout: 4 * time.Minute,
	})
	e := &env{c: c, ns: "e2e-" + cluster.RandomHex(3), acked: map[string]string{}}
	for _, s := range c.CP.Servers {
		cfg := rest.CopyConfig(c.RestConfig)
		cfg.Host = s.URL
		cfg.Timeout = 20 * time.Second
		kube, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		e.kube = append(e.kube, kube)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.deployWeb(ctx, t, "v1", 4)

	scenarios := []struct {
		name string
		run  func(*testing.T, *env)
	}{
		{"zero-downtime rollout", testRollout},
		{"agent restart under load", testAgentRestart},
		{"control plane loss", testControlPlaneLoss},
		{"partitioned store minority", testStoreMinority},
		{"worker loss", testWorkerLoss},
		{"full restart from disk", testFullRestart},
	}
	for _, s := range scenarios {
		ok := t.Run(s.name, func(t *testing.T) {
			s.run(t, e)
			e.checkAcked(t)
		})
		if !ok {
			t.Logf("scenario %q failed; the next ones run on what it left", s.name)
		}
	}
}

// webManifest is the web app: httpd pods answering "<version>
// <pod name>", ready once they answer, leaving the endpoints before they
// stop (preStop), updated one surge pod at a time with none unavailable;
// and a NodePort Service in front of them.
const webManifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %[1]s}
spec:
  replicas: %[3]d
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 20
      containers:
      - name: web
        image: ` + image + `
        imagePullPolicy: Never
        env: [{name: VERSION, value: %[2]s}]
        command: [sh, -c, 'mkdir -p /www && echo "$VERSION $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www']
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1, failureThreshold: 1}
        lifecycle: {preStop: {exec: {command: [sleep, "5"]}}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: %[1]s}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`

// deployWeb applies the web app at version with replicas, with kubectl,
// and waits until the rollout is complete.
func (e *env) deployWeb(ctx context.Context, t *testing.T, version string, replicas int) {
	t.Helper()
	manifest := fmt.Sprintf(webManifest, e.ns, version, replicas)
	if out, stderr, err := e.c.Kubectl(ctx, []byte(manifest), "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v\n%s%s", err, out, stderr)
	}
	e.waitDeployment(ctx, t, "web", int32(replicas))
}

// waitDeployment waits until the Deployment's controller has seen its
// latest spec and every replica is updated and available, and no other
// pod of it is left.
func (e *env) waitDeployment(ctx context.Context, t *testing.T, name string, replicas int32) {
	t.Helper()
	var last error
	if !poll(ctx, 3*time.Minute, func() bool {
		last = e.deploymentDone(ctx, name, replicas)
		return last == nil
	}) {
		t.Fatalf("deployment %s did not converge to %d replicas: %v", name, replicas, last)
	}
}

func (e *env) deploymentDone(ctx context.Context, name string, replicas int32) error {
	d, err := e.api().AppsV1().Deployments(e.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	s := d.Status
	if s.ObservedGeneration < d.Generation || *d.Spec.Replicas != replicas || s.UpdatedReplicas != replicas ||
		s.AvailableReplicas != replicas || s.ReadyReplicas != replicas || s.Replicas != replicas {
		return fmt.Errorf("generation %d observed %d; want %d replicas: replicas %d, updated %d, ready %d, available %d",
			d.Generation, s.ObservedGeneration, replicas, s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, s.AvailableReplicas)
	}
	pods, err := e.webPods(ctx)
	if err != nil {
		return err
	}
	if len(pods) != int(replicas) {
		return fmt.Errorf("%d web pods exist, want %d", len(pods), replicas)
	}
	return nil
}

// webPods lists the web app's pods, terminating ones included.
func (e *env) webPods(ctx context.Context) ([]corev1.Pod, error) {
	list, err := e.api().CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// scale sets the web Deployment's replicas through API server i,
// retrying until the API accepts it.
func (e *env) scale(ctx context.Context, t *testing.T, i int, replicas int32) {
	t.Helper()
	patch := []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas))
	var last error
	if !poll(ctx, time.Minute, func() bool {
		_, last = e.kube[i].AppsV1().Deployments(e.ns).Patch(ctx, "web", types.MergePatchType, patch, metav1.PatchOptions{})
		return last == nil
	}) {
		t.Fatalf("scale web to %d through API server %d: %v", replicas, i, last)
	}
}

// ack creates ConfigMap name through API server i, retrying while the
// API refuses, and records it once acknowledged.
func (e *env) ack(ctx context.Context, t *testing.T, i int, name string) {
	t.Helper()
	value := cluster.RandomHex(8)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns}, Data: map[string]string{"v": value}}
	var last error
	if !poll(ctx, time.Minute, func() bool {
		_, last = e.kube[i].CoreV1().ConfigMaps(e.ns).Create(ctx, cm, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(last) {
			// An earlier attempt landed though its answer was lost:
			// that write was not acknowledged, this one is no better.
			last = fmt.Errorf("%s exists after an unanswered attempt", name)
			if err := e.kube[i].CoreV1().ConfigMaps(e.ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				last = errors.Join(last, err)
			}
			return false
		}
		return last == nil
	}) {
		t.Fatalf("create configmap %s through API server %d: %v", name, i, last)
	}
	e.mu.Lock()
	e.acked[name] = value
	e.mu.Unlock()
}

// checkAcked checks that every acknowledged ConfigMap is there with its
// value.
func (e *env) checkAcked(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var list *corev1.ConfigMapList
	var err error
	if !poll(ctx, time.Minute, func() bool {
		list, err = e.api().CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
		return err == nil
	}) {
		t.Fatalf("list configmaps: %v", err)
	}
	have := map[string]string{}
	for _, cm := range list.Items {
		have[cm.Name] = cm.Data["v"]
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for name, v := range e.acked {
		if have[name] != v {
			t.Errorf("acknowledged configmap %s: have %q, want %q (lost write)", name, have[name], v)
		}
	}
}

// poll calls cond every 200 ms until it is true (true), or until ctx
// ends or d passes (false).
func poll(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// podState is what must not change about a running pod.
type podState struct {
	uid, node, ip string
	containers    map[string]string // name → container ID
	restarts      int32
}

// snapshotPods returns the state of the web app's pods by name; every
// pod must be Running and Ready.
func (e *env) snapshotPods(ctx context.Context) (map[string]podState, error) {
	pods, err := e.webPods(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]podState{}
	for _, p := range pods {
		if err := runningReady(&p); err != nil {
			return nil, err
		}
		s := podState{uid: string(p.UID), node: p.Spec.NodeName, ip: p.Status.PodIP, containers: map[string]string{}}
		for _, cs := range p.Status.ContainerStatuses {
			s.containers[cs.Name] = cs.ContainerID
			s.restarts += cs.RestartCount
		}
		out[p.Name] = s
	}
	return out, nil
}

func runningReady(p *corev1.Pod) error {
	if p.DeletionTimestamp != nil {
		return fmt.Errorf("pod %s is terminating", p.Name)
	}
	if p.Status.Phase != corev1.PodRunning {
		return fmt.Errorf("pod %s is %s", p.Name, p.Status.Phase)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status != corev1.ConditionTrue {
			return fmt.Errorf("pod %s is not Ready: %s", p.Name, c.Message)
		}
	}
	return nil
}

// samePods reports how after differs from before.
func samePods(before, after map[string]podState) error {
	var diffs []string
	for name, b := range before {
		a, ok := after[name]
		switch {
		case !ok:
			diffs = append(diffs, name+" is gone")
		case a.uid != b.uid || a.node != b.node || a.ip != b.ip:
			diffs = append(diffs, fmt.Sprintf("%s changed: %+v → %+v", name, b, a))
		case a.restarts != b.restarts:
			diffs = append(diffs, fmt.Sprintf("%s: restarts %d → %d", name, b.restarts, a.restarts))
		default:
			for c, id := range b.containers {
				if a.containers[c] != id {
					diffs = append(diffs, fmt.Sprintf("%s/%s: container %s → %s", name, c, id, a.containers[c]))
				}
			}
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			diffs = append(diffs, name+" is new")
		}
	}
	if len(diffs) > 0 {
		return errors.New(strings.Join(diffs, "; "))
	}
	return nil
}

// api is the client the checks read through.
func (e *env) api() kubernetes.Interface { return e.kube[e.read] }

// webDeployment returns the web Deployment.
func (e *env) webDeployment(ctx context.Context) (*appsv1.Deployment, error) {
	return e.api().AppsV1().Deployments(e.ns).Get(ctx, "web", metav1.GetOptions{})
}

// kubeconfigFor writes an admin kubeconfig for API server i and returns
// its path.
func (e *env) kubeconfigFor(t *testing.T, i int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(e.c.CP.KubeconfigFor(i)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCmd runs a command in the root namespace and returns its output.
func runCmd(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
