package pods

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/libs/testutil/containerdtest"
	"github.com/gantry-dev/gantry/services/agent/internal/cgroups"
	"github.com/gantry-dev/gantry/services/agent/internal/images"
	"github.com/gantry-dev/gantry/services/agent/internal/logger"
	ctrd "github.com/gantry-dev/gantry/services/agent/internal/runtime/containerd"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestMain doubles as the log writer: containerd's shim runs this test
// binary as "<binary> logger <options>", as it runs the agent's.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == logger.Subcommand {
		os.Exit(logger.Main(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// TestContainerdPodLeavesNoCgroupOrLogs runs the manager on a private
// containerd and the host's cgroup v1 hierarchies, under a cgroup parent
// of the test's own: leftovers of a pod that went while no agent ran are
// swept once the pods are synced, and a pod that is deleted takes its
// cgroup (from every hierarchy) and its log directory with it.
func TestContainerdPodLeavesNoCgroupOrLogs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs containers on a private containerd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	// Registered first, so removed last: after the containers.
	parent := containerdtest.CgroupParent(t)
	cd := containerdtest.StartContainerd(t)
	rt, err := ctrd.New(ctx, ctrd.Config{
		Address: cd.Address, Namespace: cd.Namespace, StateDir: cd.StateDir, RuncRoot: cd.RuncRoot,
		DefaultCgroupParent: parent,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	if err := images.EnsureBuiltin(ctx, rt); err != nil {
		t.Fatal(err)
	}
	cg, err := cgroups.New(cgroups.Config{Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	hierarchies, err := os.ReadDir(cgroups.DefaultRoot)
	if err != nil {
		t.Fatal(err)
	}
	// podCgroups lists a pod's cgroup directories that exist.
	podCgroups := func(uid types.UID) []string {
		var dirs []string
		for _, h := range hierarchies {
			d := filepath.Join(cgroups.DefaultRoot, h.Name(), cg.PodCgroup(string(uid)))
			if exists(d) {
				dirs = append(dirs, d)
			}
		}
		return dirs
	}
	logDir := t.TempDir()

	// What a pod deleted while the agent was down leaves.
	const oldUID = "9d0c1a52-7e0b-4f7e-8f39-5a1c2b3d4e5f"
	for _, h := range hierarchies {
		if h.IsDir() {
			if err := os.MkdirAll(filepath.Join(cgroups.DefaultRoot, h.Name(), cg.PodCgroup(oldUID), "c0ffee"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	oldLogs := filepath.Join(logDir, "default_old_"+oldUID)
	if err := os.MkdirAll(filepath.Join(oldLogs, "app"), 0o755); err != nil {
		t.Fatal(err)
	}

	api := newFakeAPI()
	m := New(Config{
		NodeName: "n1", NodeIPs: []string{"192.0.2.10"}, Runtime: rt, API: api,
		LogDir: logDir, Cgroups: cg, ResyncPeriod: 200 * time.Millisecond,
	})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	for m.ctx0() == nil {
		time.Sleep(time.Millisecond)
	}
	e := &env{t: t, api: api, m: m}

	p := pod("web", corev1.RestartPolicyAlways, corev1.Container{
		Name: "app", Image: images.Builtin, Command: []string{"sh", "-c", "echo started; exec sleep 3600"},
	})
	p.UID = "5f3c9b1e-2a4d-4c6e-8b0a-112233445566"
	m.Update(p)
	e.waitStatus(p.UID, "Running", func(s corev1.PodStatus) bool { return s.Phase == corev1.PodRunning })
	m.CollectOrphans(ctx)
	if dirs := podCgroups(oldUID); len(dirs) > 0 {
		t.Errorf("the old pod's cgroup was not swept: %v", dirs)
	}
	if exists(oldLogs) {
		t.Errorf("the old pod's log directory %s was not swept", oldLogs)
	}
	logs := filepath.Join(logDir, podLogDirName(p))
	poll(t, "the container's log file", func() bool { return exists(filepath.Join(logs, "app", "0.log")) })
	if dirs := podCgroups(p.UID); len(dirs) == 0 {
		t.Fatalf("the running pod has no cgroup %s", cg.PodCgroup(string(p.UID)))
	}

	m.Update(deleting(p))
	deadline := time.Now().Add(time.Minute)
	for !api.wasDeleted(p.UID) {
		if time.Now().After(deadline) {
			t.Fatal("the pod's deletion was never confirmed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if cs, err := rt.ListContainers(ctx); err != nil || len(cs) != 0 {
		t.Errorf("containers %+v, %v: want none", cs, err)
	}
	if dirs := podCgroups(p.UID); len(dirs) > 0 {
		t.Errorf("pod cgroup left: %v", dirs)
	}
	if exists(logs) {
		t.Errorf("pod log directory %s left", logs)
	}
}
