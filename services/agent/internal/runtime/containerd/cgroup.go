package containerd

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupV1Memory is the cgroup v1 memory controller's mount.
const cgroupV1Memory = "/sys/fs/cgroup/memory"

// oomKilled tells whether the OOM killer killed a process of the cgroup
// v1 path (its memory.oom_control counts kills since Linux 4.13). The
// cgroup exists until the task is deleted.
func oomKilled(cgroup string) bool {
	if cgroup == "" {
		return false
	}
	f, err := os.Open(filepath.Join(cgroupV1Memory, filepath.Clean("/"+cgroup), "memory.oom_control"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == "oom_kill" {
			n, _ := strconv.ParseUint(v, 10, 64)
			return n > 0
		}
	}
	return false
}
