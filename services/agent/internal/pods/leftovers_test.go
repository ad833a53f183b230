package pods

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/cgroups"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// host is a stand-in for the host's cgroup hierarchies and pod log
// directory, in temporary directories: "memory" and "cpu" hierarchies
// plus "cpuacct", a link to "cpu" as a co-mounted controller is.
type host struct {
	t      *testing.T
	root   string
	logDir string
	cg     *cgroups.Pods
}

var hierarchies = []string{"memory", "cpu"}

func newHost(t *testing.T) *host {
	t.Helper()
	h := &host{t: t, root: t.TempDir(), logDir: t.TempDir()}
	for _, d := range hierarchies {
		if err := os.MkdirAll(filepath.Join(h.root, d, "gantry-t"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("cpu", filepath.Join(h.root, "cpuacct")); err != nil {
		t.Fatal(err)
	}
	cg, err := cgroups.New(cgroups.Config{Root: h.root, Parent: "/gantry-t", Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	h.cg = cg
	return h
}

// mkdir makes a directory under the host's root.
func (h *host) mkdir(elem ...string) string {
	h.t.Helper()
	dir := filepath.Join(append([]string{h.root}, elem...)...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	return dir
}

// podCgroup makes a pod's cgroup in every hierarchy, with child cgroups
// (a container's, as runc makes it).
func (h *host) podCgroup(uid types.UID, children ...string) {
	h.t.Helper()
	for _, hier := range hierarchies {
		h.mkdir(hier, "gantry-t", "pod"+string(uid))
		for _, c := range children {
			h.mkdir(hier, "gantry-t", "pod"+string(uid), c)
		}
	}
}

// logDirOf makes a pod's log directory with a log file in it.
func (h *host) logDirOf(name string) string {
	h.t.Helper()
	dir := filepath.Join(h.logDir, name)
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app", "0.log"), []byte("x\n"), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return dir
}

// cgroupDirs lists a pod's cgroup directories that exist.
func (h *host) cgroupDirs(uid types.UID) []string {
	var dirs []string
	for _, hier := range append(hierarchies, "cpuacct") {
		d := filepath.Join(h.root, hier, "gantry-t", "pod"+string(uid))
		if _, err := os.Stat(d); err == nil {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// syncBuffer is a log sink tests read while workers write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// deleting returns p with a deletion timestamp, as the API server marks
// a pod being deleted gracefully.
func deleting(p *corev1.Pod) *corev1.Pod {
	del := p.DeepCopy()
	now := metav1.Now()
	grace := int64(1)
	del.DeletionTimestamp, del.DeletionGracePeriodSeconds = &now, &grace
	return del
}

// poll waits until ok holds.
func poll(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeletionRemovesPodCgroupAndLogDir(t *testing.T) {
	h := newHost(t)
	e := startWith(t, nil, func(c *Config) { c.Cgroups, c.LogDir = h.cg, h.logDir })
	p := pod("web", corev1.RestartPolicyAlways, ctr("app"))
	e.m.Update(p)
	e.waitStatus(p.UID, "Running", func(s corev1.PodStatus) bool { return s.Phase == corev1.PodRunning })
	cs, err := e.rt.ListContainers(context.Background())
	if err != nil || len(cs) != 1 {
		t.Fatalf("containers %+v, %v: want one", cs, err)
	}
	// What runc and the log writer would have made for the container.
	h.podCgroup(p.UID, cs[0].ID)
	logs := h.logDirOf(podLogDirName(p))
	other := h.logDirOf("default_other_uid-other")

	e.m.Update(deleting(p))
	poll(t, "the pod's deletion confirmed", func() bool { return e.api.wasDeleted(p.UID) })
	if dirs := h.cgroupDirs(p.UID); len(dirs) > 0 {
		t.Errorf("pod cgroup left: %v", dirs)
	}
	if exists(logs) {
		t.Errorf("pod log directory %s left", logs)
	}
	if !exists(other) {
		t.Errorf("another pod's log directory %s was removed", other)
	}
}

func TestBusyPodCgroupHoldsDeletion(t *testing.T) {
	h := newHost(t)
	var logBuf syncBuffer
	e := startWith(t, nil, func(c *Config) {
		c.Cgroups, c.LogDir = h.cg, h.logDir
		c.Log = slog.New(slog.NewTextHandler(&logBuf, nil))
	})
	p := pod("busy", corev1.RestartPolicyAlways, ctr("app"))
	e.m.Update(p)
	e.waitStatus(p.UID, "Running", func(s corev1.PodStatus) bool { return s.Phase == corev1.PodRunning })
	h.podCgroup(p.UID)
	// A file stands in for a task: rmdir fails as on a cgroup in use.
	procs := filepath.Join(h.root, "memory", "gantry-t", "pod"+string(p.UID), "cgroup.procs")
	if err := os.WriteFile(procs, []byte("4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := h.logDirOf(podLogDirName(p))

	e.m.Update(deleting(p))
	poll(t, "the busy cgroup logged", func() bool { return strings.Contains(logBuf.String(), "(1 tasks still in it)") })
	if e.api.wasDeleted(p.UID) {
		t.Error("the pod's deletion was confirmed while its cgroup was in use")
	}
	if !exists(filepath.Dir(procs)) {
		t.Error("the cgroup in use was removed")
	}
	if !exists(logs) {
		t.Error("the log directory went before the cgroup")
	}

	if err := os.Remove(procs); err != nil { // the task left
		t.Fatal(err)
	}
	poll(t, "the pod's deletion confirmed", func() bool { return e.api.wasDeleted(p.UID) })
	if dirs := h.cgroupDirs(p.UID); len(dirs) > 0 {
		t.Errorf("pod cgroup left: %v", dirs)
	}
	if exists(logs) {
		t.Errorf("pod log directory %s left", logs)
	}
}

func TestSweepLeftovers(t *testing.T) {
	h := newHost(t)
	e := startWith(t, nil, func(c *Config) { c.Cgroups, c.LogDir = h.cg, h.logDir })
	ctx := context.Background()

	// A pod with a worker, one the runtime still has a sandbox of, two
	// orphans (one with a container's cgroup left under it), and an
	// orphan whose cgroup is still in use.
	kept := pod("kept", corev1.RestartPolicyAlways, ctr("app"))
	e.m.Update(kept)
	e.waitStatus(kept.UID, "Running", func(s corev1.PodStatus) bool { return s.Phase == corev1.PodRunning })
	if _, err := e.rt.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: "uid-inruntime", Namespace: "default", Name: "inruntime"}); err != nil {
		t.Fatal(err)
	}
	for _, uid := range []types.UID{kept.UID, "uid-inruntime", "uid-orphan1", "uid-busy"} {
		h.podCgroup(uid)
	}
	h.podCgroup("3f1e0c9a-5b8d-4c1e-9a77-0123456789ab", "c0ffee")
	if err := os.WriteFile(filepath.Join(h.root, "cpu", "gantry-t", "poduid-busy", "cgroup.procs"), []byte("1\n2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	keptLogs := h.logDirOf(podLogDirName(kept))
	inRuntimeLogs := h.logDirOf("default_inruntime_uid-inruntime")
	orphanLogs := h.logDirOf("default_orphan1_uid-orphan1")
	orphanUUIDLogs := h.logDirOf("t-1_web-5ccdccdd84-5ht8n_3f1e0c9a-5b8d-4c1e-9a77-0123456789ab")
	// Not the sweep's: other names under the parent and the log
	// directory, and another parent.
	notPod := h.mkdir("memory", "gantry-t", "system")
	badUID := h.mkdir("memory", "gantry-t", "pod..")
	otherParent := h.mkdir("memory", "other", "poduid-orphan1")
	notLogDir := h.logDirOf("scratch")
	twoParts := h.logDirOf("default_orphan1")
	if err := os.WriteFile(filepath.Join(h.logDir, "a_b_uid-orphan2"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	// Until the informer has synced, nothing is anyone's leftover.
	if err := e.m.SweepLeftovers(ctx); err != nil {
		t.Fatalf("sweep before sync: %v", err)
	}
	if !exists(orphanLogs) || len(h.cgroupDirs("uid-orphan1")) == 0 {
		t.Fatal("the sweep ran before the pods were synced")
	}

	e.m.mu.Lock()
	e.m.synced = true
	e.m.mu.Unlock()
	err := e.m.SweepLeftovers(ctx)
	if err == nil || !strings.Contains(err.Error(), "poduid-busy") || !strings.Contains(err.Error(), "2 tasks still in it") {
		t.Errorf("sweep error %v: want the busy cgroup named with its tasks", err)
	}
	for _, tc := range []struct {
		name string
		uid  types.UID
		logs string
		gone bool
	}{
		{"pod with a worker", kept.UID, keptLogs, false},
		{"pod in the runtime", "uid-inruntime", inRuntimeLogs, false},
		{"orphan", "uid-orphan1", orphanLogs, true},
		{"orphan with a child cgroup", "3f1e0c9a-5b8d-4c1e-9a77-0123456789ab", orphanUUIDLogs, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dirs := h.cgroupDirs(tc.uid)
			if tc.gone && (len(dirs) > 0 || exists(tc.logs)) {
				t.Errorf("left: cgroups %v, log directory %v", dirs, exists(tc.logs))
			}
			if !tc.gone && (len(dirs) != 3 || !exists(tc.logs)) {
				t.Errorf("removed: cgroups left %v, log directory left %v", dirs, exists(tc.logs))
			}
		})
	}
	// The busy cgroup stays where it is in use and goes where it is not.
	if dirs := h.cgroupDirs("uid-busy"); len(dirs) != 2 || !strings.Contains(dirs[0]+dirs[1], "/cpu/") {
		t.Errorf("busy pod cgroup: left %v, want it in cpu (and its link cpuacct) only", dirs)
	}
	for _, p := range []string{notPod, badUID, otherParent, notLogDir, twoParts, filepath.Join(h.logDir, "a_b_uid-orphan2")} {
		if !exists(p) {
			t.Errorf("%s was removed: not a pod's leftover", p)
		}
	}
}

func TestCollectOrphansRemovesLeftovers(t *testing.T) {
	h := newHost(t)
	e := startWith(t, nil, func(c *Config) { c.Cgroups, c.LogDir = h.cg, h.logDir })
	ctx := context.Background()
	// A pod deleted while the agent was down: its sandbox, cgroup and
	// logs are still there.
	if _, err := e.rt.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: "uid-gone", Namespace: "default", Name: "gone"}); err != nil {
		t.Fatal(err)
	}
	h.podCgroup("uid-gone")
	logs := h.logDirOf("default_gone_uid-gone")

	e.m.CollectOrphans(ctx)
	if sbs, err := e.rt.ListSandboxes(ctx); err != nil || len(sbs) != 0 {
		t.Errorf("sandboxes %+v, %v: want none", sbs, err)
	}
	if dirs := h.cgroupDirs("uid-gone"); len(dirs) > 0 {
		t.Errorf("pod cgroup left: %v", dirs)
	}
	if exists(logs) {
		t.Errorf("pod log directory %s left", logs)
	}
}

func TestLogDirUID(t *testing.T) {
	for _, tc := range []struct {
		name string
		uid  types.UID
		ok   bool
	}{
		{"default_web-1_0d2ae292-0cff-49d4-92da-807f94310ddd", "0d2ae292-0cff-49d4-92da-807f94310ddd", true},
		{"ns_name_uid", "uid", true},
		{"ns_name", "", false},
		{"ns__uid", "", false},
		{"a_b_c_d", "", false},
		{"lost+found", "", false},
	} {
		uid, ok := logDirUID(tc.name)
		if uid != tc.uid || ok != tc.ok {
			t.Errorf("logDirUID(%q) = %q, %v; want %q, %v", tc.name, uid, ok, tc.uid, tc.ok)
		}
	}
}
