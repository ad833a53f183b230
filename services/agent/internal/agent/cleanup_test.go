package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/gantry-dev/gantry/libs/testutil/containerdtest"
	"github.com/gantry-dev/gantry/services/agent/internal/images"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	ctrd "github.com/gantry-dev/gantry/services/agent/internal/runtime/containerd"
)

// TestCleanupPods runs two pods on a private containerd, one whose
// container ignores SIGTERM and one with a tmpfs volume, and checks that
// the cleanup leaves no container, shim, sandbox or mount behind, and
// that the networking step runs between the containers and the
// sandboxes.
func TestCleanupPods(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cgroup := containerdtest.CgroupParent(t)
	c := containerdtest.StartContainerd(t)
	rt, err := ctrd.New(ctx, ctrd.Config{Address: c.Address, Namespace: c.Namespace, StateDir: c.StateDir, RuncRoot: c.RuncRoot})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	if err := images.EnsureBuiltin(ctx, rt); err != nil {
		t.Fatal(err)
	}
	img, err := rt.EnsureImage(ctx, images.Builtin, ctrd.PullNever, nil)
	if err != nil {
		t.Fatal(err)
	}
	pods := []struct {
		uid    string
		cmd    []string
		volume bool
	}{
		{uid: "stubborn", cmd: []string{"sleep", "3600"}}, // PID 1 without a handler: SIGTERM is ignored
		{uid: "polite", cmd: []string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"}, volume: true},
	}
	for _, p := range pods {
		sb, err := rt.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: p.uid, Namespace: "default", Name: p.uid, Hostname: p.uid})
		if err != nil {
			t.Fatal(err)
		}
		if p.volume {
			dir := filepath.Join(sb.Dir, "volumes", "kubernetes.io~empty-dir", "cache")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
				t.Fatal(err)
			}
		}
		id, err := rt.CreateContainer(ctx, sb, runtime.ContainerConfig{Name: "main", Image: img, Command: p.cmd,
			Resources: runtime.Resources{CgroupParent: cgroup + "/pod" + p.uid}})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.StartContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(shims(t, c.Namespace)); n != len(pods) {
		t.Fatalf("%d shims of namespace %s before the cleanup, want %d", n, c.Namespace, len(pods))
	}

	cfg := &Config{Runtime: "containerd", Containerd: c.Address, CtrdNS: c.Namespace, RootDir: c.StateDir,
		CgroupRoot: cgroup, CleanupGrace: time.Second, Log: slog.New(slog.DiscardHandler)}
	var sandboxesDuringNetwork int
	err = cleanupPods(ctx, cfg, func(ctx context.Context) error {
		cs, err := rt.ListContainers(ctx)
		if err != nil {
			return err
		}
		if len(cs) > 0 {
			t.Errorf("networking cleaned up while %d containers remain", len(cs))
		}
		sbs, err := rt.ListSandboxes(ctx)
		sandboxesDuringNetwork = len(sbs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if sandboxesDuringNetwork != len(pods) {
		t.Errorf("%d sandboxes while the networking was cleaned up, want %d (their network namespaces)", sandboxesDuringNetwork, len(pods))
	}
	if cs, err := rt.ListContainers(ctx); err != nil || len(cs) > 0 {
		t.Errorf("containers left: %v (err %v)", cs, err)
	}
	if s := shims(t, c.Namespace); len(s) > 0 {
		t.Errorf("shims left: %q", s)
	}
	if sbs, err := rt.ListSandboxes(ctx); err != nil || len(sbs) > 0 {
		t.Errorf("sandboxes left: %v (err %v)", sbs, err)
	}
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(c.StateDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		t.Errorf("still mounted: %s (%s)", m.Mountpoint, m.FSType)
	}
	entries, err := os.ReadDir(filepath.Join(c.StateDir, "pods"))
	if err != nil || len(entries) > 0 {
		t.Errorf("pods directory: %v (err %v)", entries, err)
	}

	for _, p := range pods {
		if dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", cgroup, "pod"+p.uid)); len(dirs) > 0 {
			t.Errorf("pod cgroups left: %v", dirs)
		}
	}

	// Once more: nothing left to do is not an error.
	if err := cleanupPods(ctx, cfg, nil); err != nil {
		t.Errorf("second cleanup: %v", err)
	}
}

// TestCleanupPodsWithoutContainerd: with no containerd socket there is
// no task to stop; only the networking step runs, and the state
// directory is not touched.
func TestCleanupPodsWithoutContainerd(t *testing.T) {
	root := filepath.Join(t.TempDir(), "agent")
	cfg := &Config{Runtime: "containerd", Containerd: filepath.Join(t.TempDir(), "containerd.sock"), CtrdNS: "gantry",
		RootDir: root, Log: slog.New(slog.DiscardHandler)}
	ran := false
	if err := cleanupPods(context.Background(), cfg, func(context.Context) error { ran = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if !ran {
		t.Error("the networking step did not run")
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("root directory %s: %v, want it not created", root, err)
	}
}

// TestCleanupNodeRejectsBadRanges: a bad range fails before anything is
// touched.
func TestCleanupNodeRejectsBadRanges(t *testing.T) {
	for _, tt := range []struct {
		name                   string
		cluster, service, pods string
	}{
		{"--cluster-cidr", "10.244.0.0/33", "10.96.0.0/12", ""},
		{"--service-cidr", "10.244.0.0/16", "nope", ""},
		{"--pod-cidr", "10.244.0.0/16", "10.96.0.0/12", "10.244.0.0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &Config{Runtime: "containerd", Containerd: filepath.Join(t.TempDir(), "containerd.sock"),
				RootDir: t.TempDir(), ClusterCIDR: tt.cluster, ServiceCIDR: tt.service, PodCIDR: tt.pods,
				Log: slog.New(slog.DiscardHandler)}
			err := CleanupNode(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.name) {
				t.Errorf("CleanupNode = %v, want an error about %s", err, tt.name)
			}
		})
	}
}

// shims returns the command lines of the containerd shims serving ns.
func shims(t *testing.T, ns string) []string {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-namespace" && args[i+1] == ns {
				out = append(out, strings.Join(args, " "))
			}
		}
	}
	return out
}

func TestCleanupGraceFlag(t *testing.T) {
	cfg, err := ParseFlags([]string{"--cleanup", "--hostname-override", "n1"})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Cleanup || cfg.CleanupGrace != 10*time.Second {
		t.Errorf("Cleanup %v, CleanupGrace %v; want true, 10s", cfg.Cleanup, cfg.CleanupGrace)
	}
	if _, err := ParseFlags([]string{"--cleanup", "--hostname-override", "n1", "--cleanup-grace", "-1s"}); err == nil ||
		!strings.Contains(err.Error(), "--cleanup-grace") {
		t.Errorf("negative --cleanup-grace: %v, want an error naming the flag", err)
	}
}
