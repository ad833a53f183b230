package pods

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime/fake"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// fakeAPI records what the workers write.
type fakeAPI struct {
	mu         sync.Mutex
	statuses   map[types.UID]corev1.PodStatus
	deleted    map[types.UID]bool
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	services   []corev1.Service
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{statuses: map[types.UID]corev1.PodStatus{}, deleted: map[types.UID]bool{},
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
}

func (a *fakeAPI) UpdatePodStatus(_ context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.statuses[pod.UID] = *pod.Status.DeepCopy()
	return pod, nil
}

func (a *fakeAPI) DeletePod(_ context.Context, _, _ string, uid types.UID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deleted[uid] = true
	return nil
}

func (a *fakeAPI) Secret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s, ok := a.secrets[ns+"/"+name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

func (a *fakeAPI) ConfigMap(_ context.Context, ns, name string) (*corev1.ConfigMap, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.configMaps[ns+"/"+name]; ok {
		return c, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
}

func (a *fakeAPI) Services(_ context.Context, ns string) ([]corev1.Service, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []corev1.Service
	for _, s := range a.services {
		if s.Namespace == ns {
			out = append(out, s)
		}
	}
	return out, nil
}

func (a *fakeAPI) status(uid types.UID) (corev1.PodStatus, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.statuses[uid]
	return s, ok
}

func (a *fakeAPI) wasDeleted(uid types.UID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.deleted[uid]
}

type fakeNetwork struct {
	mu   sync.Mutex
	next int
	down map[types.UID]bool
}

func (n *fakeNetwork) Setup(_ context.Context, pod *corev1.Pod, _ string) ([]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.next++
	return []string{fmt.Sprintf("10.244.1.%d", n.next)}, nil
}

func (n *fakeNetwork) Teardown(_ context.Context, pod *corev1.Pod, _ string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.down == nil {
		n.down = map[types.UID]bool{}
	}
	n.down[pod.UID] = true
	return nil
}

type env struct {
	t   *testing.T
	rt  *fake.Runtime
	api *fakeAPI
	net *fakeNetwork
	m   *Manager
	// stop stops the manager (as when the agent exits), leaving the
	// runtime's containers running.
	stop func()
}

func start(t *testing.T, rt *fake.Runtime) *env {
	t.Helper()
	return startWith(t, rt, nil)
}

// startWith is start with the manager's Config changed by configure.
func startWith(t *testing.T, rt *fake.Runtime, configure func(*Config)) *env {
	t.Helper()
	if rt == nil {
		rt = fake.New(fake.Config{Root: t.TempDir()})
		t.Cleanup(func() { rt.Close() })
	}
	e := &env{t: t, rt: rt, api: newFakeAPI(), net: &fakeNetwork{}}
	cfg := Config{
		NodeName: "n1", NodeIPs: []string{"192.0.2.10"}, Runtime: rt, Network: e.net, API: e.api,
		LogDir: t.TempDir(), BackoffBase: 100 * time.Millisecond, BackoffMax: 400 * time.Millisecond,
		ResyncPeriod: 200 * time.Millisecond,
	}
	if configure != nil {
		configure(&cfg)
	}
	e.m = New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.m.Run(ctx); close(done) }()
	var once sync.Once
	e.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(e.stop)
	// Run must have stored its context before pods arrive.
	for e.m.ctx0() == nil {
		time.Sleep(time.Millisecond)
	}
	return e
}

func (m *Manager) ctx0() context.Context {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ctx
}

func pod(name string, policy corev1.RestartPolicy, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: "n1", RestartPolicy: policy, Containers: containers},
	}
}

func ctr(name string, env ...string) corev1.Container {
	c := corev1.Container{Name: name, Image: "gantry.local/busybox:latest"}
	for i := 0; i+1 < len(env); i += 2 {
		c.Env = append(c.Env, corev1.EnvVar{Name: env[i], Value: env[i+1]})
	}
	return c
}

// waitStatus polls until the written status satisfies ok.
func (e *env) waitStatus(uid types.UID, what string, ok func(corev1.PodStatus) bool) corev1.PodStatus {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last corev1.PodStatus
	for time.Now().Before(deadline) {
		if s, found := e.api.status(uid); found {
			last = s
			if ok(s) {
				return s
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("pod %s never reached %s; last status: phase %s, containers %+v", uid, what, last.Phase, last.ContainerStatuses)
	return last
}

func ready(s corev1.PodStatus) bool {
	for _, c := range s.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func TestRunningPodReportsIPAndReady(t *testing.T) {
	e := start(t, nil)
	p := pod("web", corev1.RestartPolicyAlways, ctr("app"))
	e.m.Update(p)
	s := e.waitStatus(p.UID, "Running and Ready", func(s corev1.PodStatus) bool { return s.Phase == corev1.PodRunning && ready(s) })
	if s.PodIP == "" || s.HostIP != "192.0.2.10" || s.StartTime == nil {
		t.Errorf("podIP %q hostIP %q startTime %v", s.PodIP, s.HostIP, s.StartTime)
	}
	cs := s.ContainerStatuses[0]
	if cs.State.Running == nil || !cs.Ready || cs.RestartCount != 0 || cs.ContainerID == "" {
		t.Errorf("container status %+v", cs)
	}
}

func TestRestartPolicies(t *testing.T) {
	tests := []struct {
		name   string
		policy corev1.RestartPolicy
		code   string
		phase  corev1.PodPhase
	}{
		{"never-success", corev1.RestartPolicyNever, "0", corev1.PodSucceeded},
		{"never-failure", corev1.RestartPolicyNever, "3", corev1.PodFailed},
		{"onfailure-success", corev1.RestartPolicyOnFailure, "0", corev1.PodSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, nil)
			p := pod(tt.name, tt.policy, ctr("job", "FAKE_RUN_FOR", "50ms", "FAKE_EXIT_CODE", tt.code))
			e.m.Update(p)
			s := e.waitStatus(p.UID, string(tt.phase), func(s corev1.PodStatus) bool { return s.Phase == tt.phase })
			term := s.ContainerStatuses[0].State.Terminated
			if term == nil || fmt.Sprint(term.ExitCode) != tt.code {
				t.Errorf("terminated state %+v, want exit code %s", term, tt.code)
			}
		})
	}
}

func TestCrashLoopBackOffGrows(t *testing.T) {
	e := start(t, nil)
	p := pod("crash", corev1.RestartPolicyAlways, ctr("app", "FAKE_RUN_FOR", "10ms", "FAKE_EXIT_CODE", "1"))
	e.m.Update(p)
	s := e.waitStatus(p.UID, "two restarts in CrashLoopBackOff", func(s corev1.PodStatus) bool {
		c := s.ContainerStatuses[0]
		return c.RestartCount >= 2 && c.State.Waiting != nil && c.State.Waiting.Reason == "CrashLoopBackOff"
	})
	c := s.ContainerStatuses[0]
	if c.LastTerminationState.Terminated == nil || c.LastTerminationState.Terminated.ExitCode != 1 {
		t.Errorf("lastState %+v, want terminated with 1", c.LastTerminationState)
	}
	if s.Phase != corev1.PodRunning {
		t.Errorf("phase %s, want Running while restarting", s.Phase)
	}
	cs, _ := e.rt.ListContainers(context.Background())
	attempts := map[int]runtime.ContainerStatus{}
	for _, x := range cs {
		attempts[x.Attempt] = x
	}
	// Back-off doubles: the gap before attempt 2 is longer than before 1.
	if a0, a1, a2 := attempts[0], attempts[1], attempts[2]; !a2.StartedAt.IsZero() && !a1.StartedAt.IsZero() && !a0.FinishedAt.IsZero() {
		if g1, g2 := a1.StartedAt.Sub(a0.FinishedAt), a2.StartedAt.Sub(a1.FinishedAt); g2 < g1 {
			t.Errorf("back-off did not grow: %v then %v", g1, g2)
		}
	}
}

func TestInitContainersRunInOrder(t *testing.T) {
	e := start(t, nil)
	p := pod("init", corev1.RestartPolicyAlways, ctr("app"))
	p.Spec.InitContainers = []corev1.Container{ctr("first", "FAKE_RUN_FOR", "30ms"), ctr("second", "FAKE_RUN_FOR", "30ms")}
	e.m.Update(p)
	s := e.waitStatus(p.UID, "Running after init", func(s corev1.PodStatus) bool { return s.Phase == corev1.PodRunning && ready(s) })
	for _, ic := range s.InitContainerStatuses {
		if ic.State.Terminated == nil || ic.State.Terminated.ExitCode != 0 {
			t.Errorf("init container %s: %+v", ic.Name, ic.State)
		}
	}
	cs, _ := e.rt.ListContainers(context.Background())
	byName := map[string]runtime.ContainerStatus{}
	for _, c := range cs {
		byName[c.Name] = c
	}
	if !byName["second"].StartedAt.After(byName["first"].FinishedAt) && !byName["second"].StartedAt.Equal(byName["first"].FinishedAt) {
		t.Errorf("second init container started at %v, before the first finished at %v", byName["second"].StartedAt, byName["first"].FinishedAt)
	}
	if byName["app"].StartedAt.Before(byName["second"].FinishedAt) {
		t.Errorf("app started before the init containers finished")
	}
}

func TestReadinessProbeGatesReady(t *testing.T) {
	var (
		mu   sync.Mutex
		pass bool
	)
	rt := fake.New(fake.Config{Root: t.TempDir(), Exec: func(context.Context, runtime.ContainerStatus, runtime.ExecConfig) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if pass {
			return 0, nil
		}
		return 1, nil
	}})
	t.Cleanup(func() { rt.Close() })
	e := start(t, rt)
	c := ctr("app")
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 1}
	p := pod("probed", corev1.RestartPolicyAlways, c)
	e.m.Update(p)
	e.waitStatus(p.UID, "Running, not ready", func(s corev1.PodStatus) bool { return s.Phase == corev1.PodRunning && !ready(s) })
	mu.Lock()
	pass = true
	mu.Unlock()
	e.waitStatus(p.UID, "Ready", ready)
}

// TestRestartKeepsReadiness restarts the manager (the agent) while a
// ready container runs and its readiness probe does not answer: the new
// manager reports it ready, as the API last saw it, not unready until a
// probe has run.
func TestRestartKeepsReadiness(t *testing.T) {
	var (
		mu   sync.Mutex
		hang chan struct{} // probes block on it while set
	)
	rt := fake.New(fake.Config{Root: t.TempDir(), Exec: func(ctx context.Context, _ runtime.ContainerStatus, _ runtime.ExecConfig) (int, error) {
		mu.Lock()
		h := hang
		mu.Unlock()
		if h != nil {
			select {
			case <-h:
			case <-ctx.Done():
			}
		}
		return 0, nil
	}})
	t.Cleanup(func() { rt.Close() })
	first := start(t, rt)
	c := ctr("app")
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 1, TimeoutSeconds: 30}
	p := pod("kept", corev1.RestartPolicyAlways, c)
	first.m.Update(p)
	last := first.waitStatus(p.UID, "Ready", ready)
	first.stop()

	mu.Lock()
	hang = make(chan struct{})
	mu.Unlock()
	t.Cleanup(func() { close(hang) })
	second := start(t, rt)
	p = p.DeepCopy()
	p.Status = last
	// Without the pod's conditions, so that the new manager has
	// something to write.
	p.Status.Conditions = nil
	second.m.Update(p)
	s := second.waitStatus(p.UID, "Running", func(s corev1.PodStatus) bool { return s.Phase == corev1.PodRunning })
	if !ready(s) {
		t.Fatalf("after the restart the pod is reported not ready: %+v", s.Conditions)
	}
	if s.ContainerStatuses[0].ContainerID != last.ContainerStatuses[0].ContainerID || s.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("container %s (restarts %d), want %s kept", s.ContainerStatuses[0].ContainerID, s.ContainerStatuses[0].RestartCount, last.ContainerStatuses[0].ContainerID)
	}
}

func TestImagePullFailure(t *testing.T) {
	e := start(t, nil)
	c := ctr("app")
	c.Image = "registry.example/missing:1"
	p := pod("noimage", corev1.RestartPolicyAlways, c)
	e.m.Update(p)
	s := e.waitStatus(p.UID, "ErrImagePull", func(s corev1.PodStatus) bool {
		w := s.ContainerStatuses[0].State.Waiting
		return w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff")
	})
	if s.Phase != corev1.PodPending {
		t.Errorf("phase %s, want Pending", s.Phase)
	}
}

func TestDeletionStopsAndConfirms(t *testing.T) {
	e := start(t, nil)
	p := pod("gone", corev1.RestartPolicyAlways, ctr("app"))
	e.m.Update(p)
	e.waitStatus(p.UID, "Running", func(s corev1.PodStatus) bool { return s.Phase == corev1.PodRunning })
	del := p.DeepCopy()
	now := metav1.Now()
	grace := int64(1)
	del.DeletionTimestamp, del.DeletionGracePeriodSeconds = &now, &grace
	e.m.Update(del)
	deadline := time.Now().Add(5 * time.Second)
	for !e.api.wasDeleted(p.UID) {
		if time.Now().After(deadline) {
			t.Fatal("the pod's deletion was never confirmed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cs, _ := e.rt.ListContainers(context.Background())
	if len(cs) != 0 {
		t.Errorf("%d containers left", len(cs))
	}
	if sbs, _ := e.rt.ListSandboxes(context.Background()); len(sbs) != 0 {
		t.Errorf("%d sandboxes left", len(sbs))
	}
}

func TestRestartedAgentAdoptsRunningContainers(t *testing.T) {
	rt := fake.New(fake.Config{Root: t.TempDir()})
	t.Cleanup(func() { rt.Close() })
	p := pod("kept", corev1.RestartPolicyAlways, ctr("app"))
	first := start(t, rt)
	first.m.Update(p)
	first.waitStatus(p.UID, "Running", func(s corev1.PodStatus) bool { return s.Phase == corev1.PodRunning })
	before, _ := rt.ListContainers(context.Background())

	// A second manager on the same runtime, as after an agent restart.
	second := start(t, rt)
	running := p.DeepCopy()
	running.Status, _ = first.api.status(p.UID)
	second.m.Update(running)
	time.Sleep(300 * time.Millisecond)
	after, _ := rt.ListContainers(context.Background())
	if len(after) != 1 || len(before) != 1 || after[0].ID != before[0].ID || after[0].State != runtime.StateRunning {
		t.Errorf("containers before %+v, after %+v: want the same one still running", before, after)
	}
}

func TestEnvResolution(t *testing.T) {
	e := start(t, nil)
	e.api.configMaps["default/cfg"] = &corev1.ConfigMap{Data: map[string]string{"color": "blue", "size": "L"}}
	e.api.secrets["default/sec"] = &corev1.Secret{Data: map[string][]byte{"pw": []byte("hunter2")}}
	e.api.services = []corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "web-backend", Namespace: "default"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.5.5", Ports: []corev1.ServicePort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "headless", Namespace: "default"}, Spec: corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Port: 80}}}},
	}
	p := pod("envy", corev1.RestartPolicyAlways)
	p.Labels = map[string]string{"app": "envy"}
	c := corev1.Container{Name: "app", Image: "x",
		EnvFrom: []corev1.EnvFromSource{{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		Env: []corev1.EnvVar{
			{Name: "A", Value: "one"},
			{Name: "B", Value: "$(A)-two $$(A) $(UNDEFINED)"},
			{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "pw"}}},
			{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "OPT", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Key: "k", Optional: ptr(true)}}},
		}}
	p.Spec.Containers = []corev1.Container{c}
	w := newWorker(e.m, p)
	got, err := w.env(context.Background(), p, &p.Spec.Containers[0])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
		"WEB_BACKEND_SERVICE_HOST": "10.96.5.5", "WEB_BACKEND_PORT_8080_TCP": "tcp://10.96.5.5:8080",
		"WEB_BACKEND_SERVICE_PORT_HTTP": "8080", "CM_color": "blue", "CM_size": "L", "A": "one", "B": "one-two $(A) $(UNDEFINED)", "PW": "hunter2", "POD": "envy", "APP": "envy"}
	gotMap := map[string]string{}
	for _, kv := range got {
		k, v, _ := cut(kv)
		gotMap[k] = v
	}
	for k, v := range want {
		if gotMap[k] != v {
			t.Errorf("%s = %q, want %q", k, gotMap[k], v)
		}
	}
	if _, ok := gotMap["HEADLESS_SERVICE_HOST"]; ok {
		t.Error("a headless Service got link variables")
	}
	if _, ok := gotMap["OPT"]; ok {
		t.Errorf("optional missing key set: %q", gotMap["OPT"])
	}
	p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: "BAD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "nokey"}}})
	if _, err := w.env(context.Background(), p, &p.Spec.Containers[0]); err == nil {
		t.Error("a missing secret key is not an error")
	}
}

func cut(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

func TestNormalizeImage(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                  "docker.io/library/nginx:latest",
		"nginx:1.25":             "docker.io/library/nginx:1.25",
		"user/app":               "docker.io/user/app:latest",
		"127.0.0.1:5000/app:v1":  "127.0.0.1:5000/app:v1",
		"gantry.local/busybox":   "gantry.local/busybox:latest",
		"localhost/x":            "localhost/x:latest",
		"nginx@sha256:abc":       "docker.io/library/nginx@sha256:abc",
		"quay.io/org/img:tag":    "quay.io/org/img:tag",
		"registry:5000/team/img": "registry:5000/team/img:latest",
	} {
		if got := normalizeImage(in); got != want {
			t.Errorf("normalizeImage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCollectorReportsRunningContainers(t *testing.T) {
	e := start(t, nil)
	p := pod("measured", corev1.RestartPolicyAlways, ctr("app", "FAKE_CPU", "250m", "FAKE_MEMORY", "64Mi"))
	e.m.Update(p)
	e.waitStatus(p.UID, "Running", func(s corev1.PodStatus) bool { return s.Phase == corev1.PodRunning })
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(e.m))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			found[f.GetName()] += v
		}
	}
	if found["kubelet_running_pods"] != 1 || found["kubelet_running_containers"] != 1 {
		t.Errorf("running pods %v, containers %v; want 1 and 1", found["kubelet_running_pods"], found["kubelet_running_containers"])
	}
	if found["container_memory_working_set_bytes"] <= 0 {
		t.Errorf("no working set reported: %v", found)
	}
}

// countingVolumes counts refreshes.
type countingVolumes struct {
	mu        sync.Mutex
	refreshes int
}

func (v *countingVolumes) Setup(context.Context, *corev1.Pod, string) (map[string]string, error) {
	return map[string]string{}, nil
}
func (v *countingVolumes) Mounts(*corev1.Pod, *corev1.Container, map[string]string, []string) ([]runtime.Mount, error) {
	return nil, nil
}
func (v *countingVolumes) PodFiles(*corev1.Pod, string, []string) ([]runtime.Mount, error) {
	return nil, nil
}
func (v *countingVolumes) Refresh(context.Context, *corev1.Pod, string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.refreshes++
	return nil
}
func (v *countingVolumes) Teardown(context.Context, *corev1.Pod, string) error { return nil }

func TestVolumesRefreshedEveryResync(t *testing.T) {
	e := start(t, nil)
	vols := &countingVolumes{}
	e.m.cfg.Volumes = vols
	p := pod("refreshed", corev1.RestartPolicyAlways, ctr("app"))
	e.m.Update(p)
	deadline := time.Now().Add(5 * time.Second)
	for {
		vols.mu.Lock()
		n := vols.refreshes
		vols.mu.Unlock()
		if n >= 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d refreshes in 5 s with a 200 ms resync period, want 3 or more", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
