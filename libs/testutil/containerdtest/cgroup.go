package containerdtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cgroupV1Root is where the cgroup v1 controllers are mounted.
const cgroupV1Root = "/sys/fs/cgroup"

// CgroupParent returns a cgroup path of t's own ("/gantry-test-<random>")
// to put containers under, and removes it from every cgroup v1
// controller when t ends (after the containers' own cleanup, registered
// later, has run).
func CgroupParent(t testing.TB) string {
	t.Helper()
	parent := "/gantry-test-" + randomHex(4)
	t.Cleanup(func() { RemoveCgroup(parent) })
	return parent
}

// RemoveCgroup removes a cgroup path and its empty children from every
// cgroup v1 controller (and the unified hierarchy where mounted).
func RemoveCgroup(path string) {
	ctrls, err := os.ReadDir(cgroupV1Root)
	if err != nil {
		return
	}
	for _, ctrl := range ctrls {
		dir := filepath.Join(cgroupV1Root, ctrl.Name(), path)
		if !strings.HasPrefix(dir, cgroupV1Root+"/") {
			continue
		}
		removeTree(dir)
	}
}

// removeTree removes a cgroup directory bottom-up (cgroup directories are
// removed with rmdir, their files cannot be).
func removeTree(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			removeTree(filepath.Join(dir, e.Name()))
		}
	}
	os.Remove(dir)
}
