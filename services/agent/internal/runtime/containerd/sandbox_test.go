package containerd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	tasktypes "github.com/containerd/containerd/api/types/task"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// threadNamespaces returns the distinct network and IPC namespaces of
// this process's threads.
func threadNamespaces(t *testing.T) map[string]bool {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, task := range tasks {
		for _, ns := range []string{"net", "ipc"} {
			if l, err := os.Readlink(filepath.Join("/proc/self/task", task.Name(), "ns", ns)); err == nil {
				out[l] = true
			}
		}
	}
	return out
}

func mountsBelow(t *testing.T, dir string) []string {
	t.Helper()
	ms, err := mountinfo.GetMounts(below(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.Mountpoint)
	}
	return out
}

func TestSandboxLifecycle(t *testing.T) {
	e := newTestEnv(t)
	before := threadNamespaces(t)
	cfg := runtime.SandboxConfig{PodUID: "sb-1", Namespace: "default", Name: "web", Hostname: "web"}
	sb, err := e.rt.CreateSandbox(e.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sb.Dir != filepath.Join(e.ctrd.StateDir, "pods", "sb-1") || !isNamespaceFile(sb.NetNS) || !isNamespaceFile(sb.IPCNS) {
		t.Fatalf("sandbox %+v", sb)
	}
	if got := len(mountsBelow(t, sb.Dir)); got != 3 {
		t.Fatalf("%d mounts below %s, want net, ipc and shm", got, sb.Dir)
	}
	// No thread of ours stayed in the pod's namespaces.
	for ns := range threadNamespaces(t) {
		if !before[ns] {
			t.Fatalf("a thread of the agent is left in namespace %s", ns)
		}
	}

	again, err := e.rt.CreateSandbox(e.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if *again != *sb {
		t.Fatalf("CreateSandbox is not idempotent: %+v then %+v", sb, again)
	}
	var st unix.Stat_t
	unix.Stat(sb.NetNS, &st)
	netIno := st.Ino

	// After a reboot the files are there but the namespaces are not:
	// CreateSandbox makes new ones.
	if err := unix.Unmount(sb.NetNS, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	repaired, err := e.rt.CreateSandbox(e.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	unix.Stat(repaired.NetNS, &st)
	if !isNamespaceFile(repaired.NetNS) || st.Ino == netIno {
		t.Fatalf("network namespace not recreated")
	}

	// An agent restarting finds it.
	list, err := e.newRuntime().ListSandboxes(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || *list[0] != *sb {
		t.Fatalf("ListSandboxes: %+v", list)
	}

	// Something else mounted below the directory (a volume) blocks the
	// removal rather than be deleted through.
	vol := filepath.Join(sb.Dir, "volumes", "cache")
	if err := os.MkdirAll(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", vol, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(vol, "keep"), []byte("x"), 0o644)
	if err := e.rt.RemoveSandbox(e.ctx, "sb-1"); err == nil || !strings.Contains(err.Error(), vol) {
		t.Fatalf("RemoveSandbox with a volume mounted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(vol, "keep")); err != nil {
		t.Fatalf("removed through a mount: %v", err)
	}
	if err := unix.Unmount(vol, 0); err != nil {
		t.Fatal(err)
	}

	if err := e.rt.RemoveSandbox(e.ctx, "sb-1"); err != nil {
		t.Fatal(err)
	}
	if m := mountsBelow(t, sb.Dir); len(m) != 0 {
		t.Fatalf("mounts left: %v", m)
	}
	if _, err := os.Stat(sb.Dir); !os.IsNotExist(err) {
		t.Fatalf("pod directory left: %v", err)
	}
	if err := e.rt.RemoveSandbox(e.ctx, "sb-1"); err != nil {
		t.Fatalf("removing a missing sandbox: %v", err)
	}
	if list, _ := e.rt.ListSandboxes(e.ctx); len(list) != 0 {
		t.Fatalf("ListSandboxes after removal: %+v", list)
	}
	for _, bad := range []string{"", "..", "a/b"} {
		if _, err := e.rt.CreateSandbox(e.ctx, runtime.SandboxConfig{PodUID: bad}); err == nil {
			t.Errorf("pod UID %q accepted", bad)
		}
	}
}

// TestSandboxOutlivesContainers removes a sandbox whose containers ran
// in its namespaces.
func TestSandboxOutlivesContainers(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("used")
	id := e.run(sb, e.config(sb, "c", "sleep", "300"))
	if err := e.rt.StopContainer(e.ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.RemoveContainer(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.RemoveSandbox(e.ctx, sb.PodUID); err != nil {
		t.Fatal(err)
	}
	if m := mountsBelow(t, sb.Dir); len(m) != 0 {
		t.Fatalf("mounts left: %v", m)
	}
}

func TestRestartReadoption(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("readopt")
	cfg := e.config(sb, "long", "sleep", "300")
	cfg.Labels = map[string]string{"app": "kept"}
	id := e.run(sb, cfg)
	short := e.run(sb, e.config(sb, "short", "sh", "-c", "sleep 1; exit 2"))

	// The agent goes away; meanwhile one container exits.
	if err := e.rt.Close(); err != nil {
		t.Fatal(err)
	}
	client, err := containerd.New(e.ctrd.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		task, err := client.TaskService().Get(namespaces.WithNamespace(e.ctx, e.ctrd.Namespace), &tasksapi.GetRequest{ContainerID: short})
		if err == nil && task.Process.Status == tasktypes.Status_STOPPED {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("short container did not exit: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// So does containerd.
	e.ctrd.Restart(t)

	rt := e.newRuntime()
	got := map[string]runtime.ContainerStatus{}
	list, err := rt.ListContainers(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		got[c.ID] = c
	}
	if c := got[id]; c.State != runtime.StateRunning || c.Labels["app"] != "kept" || c.PodUID != "readopt" || c.Name != "long" {
		t.Fatalf("running container after restarts: %+v", c)
	}
	if c := got[short]; c.State != runtime.StateExited || c.ExitCode != 2 {
		t.Fatalf("container that exited meanwhile: %+v", c)
	}
	// The exit that happened while no agent listened is reported.
	timeout := time.After(30 * time.Second)
	for seen := false; !seen; {
		select {
		case ev := <-rt.Events():
			seen = ev.ContainerID == short && ev.Type == runtime.EventExit && ev.ExitCode == 2
		case <-timeout:
			t.Fatal("no exit event for the container that exited while the agent was away")
		}
	}
	sbs, err := rt.ListSandboxes(e.ctx)
	if err != nil || len(sbs) != 1 || sbs[0].NetNS != sb.NetNS {
		t.Fatalf("sandboxes after restart: %+v %v", sbs, err)
	}
	if code, out, _ := (&testEnv{t: t, ctx: e.ctx, rt: rt}).exec(id, "echo", "still here"); code != 0 || trim(out) != "still here" {
		t.Fatalf("exec after restart: %d %q", code, out)
	}
	if err := rt.StopContainer(e.ctx, id, time.Second); err != nil {
		t.Fatal(err)
	}
	if st, err := rt.ContainerStatus(e.ctx, id); err != nil || st.State != runtime.StateExited {
		t.Fatalf("after stop: %+v %v", st, err)
	}
}
