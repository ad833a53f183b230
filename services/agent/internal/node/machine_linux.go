package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"
)

// HostMachine measures this Linux host; its disk is the filesystem of
// stateDir (or of its nearest existing parent).
func HostMachine(stateDir string) Machine { return hostMachine{stateDir: stateDir} }

type hostMachine struct{ stateDir string }

func (m hostMachine) Stats() (MachineStats, error) {
	s := MachineStats{CPUs: int64(goruntime.NumCPU())}
	var errs []error
	if text, err := os.ReadFile("/proc/meminfo"); err != nil {
		errs = append(errs, err)
	} else if s.MemoryBytes, s.MemoryAvailableBytes, err = parseMeminfo(string(text)); err != nil {
		errs = append(errs, err)
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(existingParent(m.stateDir), &fs); err != nil {
		errs = append(errs, fmt.Errorf("statfs %s: %w", m.stateDir, err))
	} else {
		s.DiskBytes = int64(fs.Blocks) * fs.Bsize
		s.DiskAvailableBytes = int64(fs.Bavail) * fs.Bsize
		s.Inodes, s.InodesFree = int64(fs.Files), int64(fs.Ffree)
	}
	if limit, err := pidMax(); err != nil {
		errs = append(errs, err)
	} else if text, err := os.ReadFile("/proc/loadavg"); err != nil {
		errs = append(errs, err)
	} else if s.PIDs, err = parseLoadavgThreads(string(text)); err != nil {
		errs = append(errs, err)
	} else {
		s.PIDMax = limit
	}
	return s, errors.Join(errs...)
}

// pidMax is the smaller of kernel.pid_max and kernel.threads-max.
func pidMax() (int64, error) {
	var out int64
	for _, f := range []string{"/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max"} {
		v, err := readInt(f)
		if err != nil {
			return 0, err
		}
		if out == 0 || v < out {
			out = v
		}
	}
	return out, nil
}

func (m hostMachine) SystemInfo() (corev1.NodeSystemInfo, error) {
	info := corev1.NodeSystemInfo{
		OperatingSystem: goruntime.GOOS,
		Architecture:    goruntime.GOARCH,
		OSImage:         "Unknown",
		MachineID:       readTrimmed("/etc/machine-id"),
		SystemUUID:      readTrimmed("/sys/class/dmi/id/product_uuid"), // root only
		BootID:          readTrimmed("/proc/sys/kernel/random/boot_id"),
		KernelVersion:   readTrimmed("/proc/sys/kernel/osrelease"), // uname -r
	}
	for _, f := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if text, err := os.ReadFile(f); err == nil {
			if name := parseOSRelease(string(text)); name != "" {
				info.OSImage = name
				break
			}
		}
	}
	if info.KernelVersion == "" {
		return info, errors.New("system info: cannot read the kernel version")
	}
	return info, nil
}

func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// existingParent is dir, or its nearest parent that exists.
func existingParent(dir string) string {
	dir = filepath.Clean(dir)
	for {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return dir
		}
		dir = parent
	}
}
