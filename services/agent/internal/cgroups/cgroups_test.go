package cgroups

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/libs/testutil/containerdtest"
)

func TestValidateParent(t *testing.T) {
	for _, tc := range []struct {
		parent string
		ok     bool
	}{
		{"/gantry", true},
		{"/gantry/node-1", true},
		{"", false},
		{"gantry", false},
		{"/", false},
		{"/gantry/", false},
		{"/gantry/../x", false},
		{"//gantry", false},
	} {
		if err := ValidateParent(tc.parent); (err == nil) != tc.ok {
			t.Errorf("ValidateParent(%q) = %v; want ok %v", tc.parent, err, tc.ok)
		}
	}
	if _, err := New(Config{Parent: "relative"}); err == nil {
		t.Error("New accepted a relative parent")
	}
}

// fakeRoot makes hierarchies under a temporary root, "cpuacct" as a link
// to "cpu", and returns the root.
func fakeRoot(t *testing.T, hierarchies ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, h := range hierarchies {
		if err := os.MkdirAll(filepath.Join(root, h), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("cpu", filepath.Join(root, "cpuacct")); err != nil {
		t.Fatal(err)
	}
	return root
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestListAndRemove(t *testing.T) {
	root := fakeRoot(t, "memory", "cpu", "pids")
	p, err := New(Config{Root: root, Parent: "/g/node", Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.PodCgroup("u1"); got != "/g/node/podu1" {
		t.Errorf("PodCgroup = %q", got)
	}
	mkdirs(t,
		filepath.Join(root, "memory/g/node/podu1/ctr-a"),
		filepath.Join(root, "cpu/g/node/podu1/ctr-a/nested"),
		filepath.Join(root, "pids/g/node/podu2"),
		filepath.Join(root, "memory/g/node/system"),   // not a pod's
		filepath.Join(root, "memory/g/node/pod"),      // no uid
		filepath.Join(root, "memory/g/node/pod.u3"),   // not a uid
		filepath.Join(root, "memory/g/other/podu4"),   // another parent
		filepath.Join(root, "memory/g/podu5"),         // above the parent
		filepath.Join(root, "cpu/g/node/podu6/ctr-b"), // busy: see below
	)
	if err := os.WriteFile(filepath.Join(root, "memory/g/node/podfile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A file stands in for tasks: rmdir fails as on a cgroup in use.
	if err := os.WriteFile(filepath.Join(root, "cpu/g/node/podu6/ctr-b/cgroup.procs"), []byte("7\n8\n9\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	uids, err := p.List()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"u1", "u2", "u6"}; !slices.Equal(uids, want) {
		t.Errorf("List = %v; want %v", uids, want)
	}

	for _, uid := range []string{"u1", "u2"} {
		if err := p.Remove(uid); err != nil {
			t.Errorf("Remove(%s): %v", uid, err)
		}
	}
	for _, d := range []string{"memory/g/node/podu1", "cpu/g/node/podu1", "pids/g/node/podu2"} {
		if exists(filepath.Join(root, d)) {
			t.Errorf("%s left", d)
		}
	}
	for _, d := range []string{"memory/g/node/system", "memory/g/node/pod", "memory/g/node/pod.u3", "memory/g/other/podu4", "memory/g/podu5", "memory/g/node", "cpuacct"} {
		if !exists(filepath.Join(root, d)) {
			t.Errorf("%s removed", d)
		}
	}
	if err := p.Remove("u1"); err != nil {
		t.Errorf("Remove of a removed cgroup: %v", err)
	}

	err = p.Remove("u6")
	if err == nil || !strings.Contains(err.Error(), "ctr-b") || !strings.Contains(err.Error(), "(3 tasks still in it)") ||
		!strings.Contains(err.Error(), "in cpu") {
		t.Errorf("Remove of a busy cgroup: %v; want the cgroup, its hierarchy and its tasks named", err)
	}
	if !exists(filepath.Join(root, "cpu/g/node/podu6/ctr-b")) {
		t.Error("the busy cgroup was removed")
	}

	for _, uid := range []string{"", "../u1", "u1/ctr-a", ".."} {
		if err := p.Remove(uid); err == nil || !strings.Contains(err.Error(), "invalid pod uid") {
			t.Errorf("Remove(%q) = %v; want invalid pod uid", uid, err)
		}
	}
}

func TestUnifiedOnlyRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpu memory pids\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mkdirs(t, filepath.Join(root, "gantry/podu1/ctr"), filepath.Join(root, "init.scope"))
	p, err := New(Config{Root: root, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	uids, err := p.List()
	if err != nil || !slices.Equal(uids, []string{"u1"}) {
		t.Fatalf("List = %v, %v; want [u1]", uids, err)
	}
	if err := p.Remove("u1"); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(root, "gantry/podu1")) || !exists(filepath.Join(root, "init.scope")) {
		t.Error("Remove did not remove just the pod's cgroup")
	}
}

// TestRemoveKeepsCgroupWithTasks runs on the host's cgroup v1
// hierarchies: a pod cgroup with a live process in a child stays; once
// the process has exited, it goes from every hierarchy.
func TestRemoveKeepsCgroupWithTasks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it makes cgroups on the host")
	}
	if _, err := os.Stat(filepath.Join(DefaultRoot, "memory", "cgroup.procs")); err != nil {
		t.Skipf("needs the cgroup v1 memory hierarchy at %s/memory: %v", DefaultRoot, err)
	}
	parent := containerdtest.CgroupParent(t) // removed when the test ends
	p, err := New(Config{Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	const uid = "0b8c2d1e-1111-4222-8333-444455556666"
	var dirs []string
	for _, h := range []string{"memory", "pids"} {
		d := filepath.Join(DefaultRoot, h, p.PodCgroup(uid), "ctr")
		mkdirs(t, d)
		dirs = append(dirs, d)
	}
	sleep := exec.Command("sleep", "600")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() {
		if !exited {
			sleep.Process.Kill()
			sleep.Wait()
		}
	})
	if err := os.WriteFile(filepath.Join(dirs[0], "cgroup.procs"), []byte(strconv.Itoa(sleep.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}

	if uids, err := p.List(); err != nil || !slices.Equal(uids, []string{uid}) {
		t.Errorf("List = %v, %v; want [%s]", uids, err, uid)
	}
	err = p.Remove(uid)
	if err == nil || !strings.Contains(err.Error(), "in memory") || !strings.Contains(err.Error(), "(1 tasks still in it)") {
		t.Errorf("Remove with a live task: %v; want the memory cgroup named with its task", err)
	}
	if !exists(dirs[0]) {
		t.Fatal("the cgroup with a live task was removed")
	}
	if exists(dirs[1]) {
		t.Error("the pids cgroup, which had no task, stayed")
	}

	sleep.Process.Kill()
	sleep.Wait()
	exited = true
	if err := p.Remove(uid); err != nil {
		t.Fatalf("Remove once the task exited: %v", err)
	}
	for _, h := range []string{"memory", "pids"} {
		if d := filepath.Join(DefaultRoot, h, p.PodCgroup(uid)); exists(d) {
			t.Errorf("%s left", d)
		}
	}
}
