package node

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Machine is what the node measures of the host it runs on.
type Machine interface {
	// Stats measures the machine now. A total left zero (CPUs,
	// MemoryBytes, DiskBytes, Inodes, PIDMax) is unknown with its
	// companion: it adds no capacity and raises no pressure. On an error,
	// what was measured is still returned.
	Stats() (MachineStats, error)
	// SystemInfo describes the machine: kernel, OS image, machine and
	// boot IDs. It is read once, when the node is made.
	SystemInfo() (corev1.NodeSystemInfo, error)
}

// MachineStats are a measurement of the machine.
type MachineStats struct {
	CPUs int64
	// MemoryBytes is the total memory, MemoryAvailableBytes what the
	// kernel can give without swapping (MemAvailable).
	MemoryBytes, MemoryAvailableBytes int64
	// DiskBytes and DiskAvailableBytes are of the state directory's
	// filesystem; Inodes and InodesFree too.
	DiskBytes, DiskAvailableBytes int64
	Inodes, InodesFree            int64
	// PIDMax is the most processes (threads) the kernel allows, PIDs how
	// many exist.
	PIDMax, PIDs int64
}

// over is s with what s did not measure (a zero total) taken from last.
func (s MachineStats) over(last MachineStats) MachineStats {
	if s.CPUs == 0 {
		s.CPUs = last.CPUs
	}
	if s.MemoryBytes == 0 {
		s.MemoryBytes, s.MemoryAvailableBytes = last.MemoryBytes, last.MemoryAvailableBytes
	}
	if s.DiskBytes == 0 {
		s.DiskBytes, s.DiskAvailableBytes = last.DiskBytes, last.DiskAvailableBytes
	}
	if s.Inodes == 0 {
		s.Inodes, s.InodesFree = last.Inodes, last.InodesFree
	}
	if s.PIDMax == 0 {
		s.PIDMax, s.PIDs = last.PIDMax, last.PIDs
	}
	return s
}

// StaticMachine is a Machine that always reports the same: for simulated
// nodes and tests.
type StaticMachine struct {
	Measured MachineStats
	Info     corev1.NodeSystemInfo
}

// Stats returns m.Measured.
func (m StaticMachine) Stats() (MachineStats, error) { return m.Measured, nil }

// SystemInfo returns m.Info.
func (m StaticMachine) SystemInfo() (corev1.NodeSystemInfo, error) { return m.Info, nil }

// parseMeminfo reads MemTotal and MemAvailable (in bytes) from the text
// of /proc/meminfo.
func parseMeminfo(text string) (total, available int64, err error) {
	sc := bufio.NewScanner(strings.NewReader(text))
	found := 0
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "MemTotal" && name != "MemAvailable") {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, 0, fmt.Errorf("meminfo: %s has no value", name)
		}
		v, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("meminfo: %s: %w", name, err)
		}
		if len(fields) > 1 && fields[1] == "kB" {
			v *= 1024
		}
		if name == "MemTotal" {
			total = v
		} else {
			available = v
		}
		found++
	}
	if found < 2 {
		return 0, 0, errors.New("meminfo: no MemTotal and MemAvailable")
	}
	return total, available, nil
}

// parseLoadavgThreads reads the number of scheduling entities (threads)
// from /proc/loadavg ("0.00 0.01 0.05 1/345 6789").
func parseLoadavgThreads(text string) (int64, error) {
	fields := strings.Fields(text)
	if len(fields) < 4 {
		return 0, fmt.Errorf("loadavg: %q", text)
	}
	_, total, ok := strings.Cut(fields[3], "/")
	if !ok {
		return 0, fmt.Errorf("loadavg: %q", text)
	}
	return strconv.ParseInt(total, 10, 64)
}

// parseOSRelease returns PRETTY_NAME from the text of /etc/os-release.
func parseOSRelease(text string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "PRETTY_NAME="); ok {
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}
