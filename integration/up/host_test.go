package up

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fixed host resources of a one-host cluster (services/cli/internal/cluster).
const (
	ownContainerd    = "/run/gantry/containerd/containerd.sock"
	systemContainerd = "/run/containerd/containerd.sock"
	containerdNS     = "gantry" // gantry-agent's default --containerd-namespace
	proxyNFTable     = "kube-proxy"
	podLogDir        = "/var/log/pods"
	defaultAdminKC   = "/etc/gantry/admin.kubeconfig"
	defaultStateDir  = "/var/lib/gantry"
)

// clusterPorts are the TCP ports `gantry up` listens on.
var clusterPorts = []int{80, 443, 2379, 2380, 2381, 6443, 10248, 10249, 10250, 10254, 10256, 10257, 10259}

// hostLinks are the devices the agent and the proxy create.
var hostLinks = []string{"gantry0", "gantry-dns", "gantry-svc"}

// listeningPorts returns the TCP ports something listens on, from
// /proc/net/tcp and /proc/net/tcp6.
func listeningPorts() (map[int]bool, error) {
	ports := map[int]bool{}
	for _, path := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if i == 0 || len(f) < 4 || f[3] != "0A" { // the header; not LISTEN
				continue
			}
			_, hex, _ := strings.Cut(f[1], ":")
			p, err := strconv.ParseUint(hex, 16, 16)
			if err != nil {
				return nil, fmt.Errorf("%s: bad local address %q", path, f[1])
			}
			ports[int(p)] = true
		}
	}
	return ports, nil
}

// containerdAnswers reports whether a containerd serves sock.
func containerdAnswers(ctx context.Context, sock string) bool {
	if _, err := os.Stat(sock); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "ctr", "--address", sock, "version").Run() == nil
}

// proc identifies a process across pid reuse: its pid and start time.
type proc struct {
	PID   int
	Start string // field 22 of /proc/<pid>/stat
	Cmd   string
}

func (p proc) String() string { return fmt.Sprintf("pid %d (%s)", p.PID, p.Cmd) }

// statFields returns the fields of /proc/<pid>/stat after the command
// name: [0] is the state, [1] the parent pid, [19] the start time.
func statFields(pid int) ([]string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return nil, fmt.Errorf("pid %d: bad stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return nil, fmt.Errorf("pid %d: short stat", pid)
	}
	return f, nil
}

// cmdline returns a process's arguments.
func cmdline(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}

// procOf returns the process pid, or false if it is gone or a zombie.
func procOf(pid int) (proc, bool) {
	f, err := statFields(pid)
	if err != nil || f[0] == "Z" || f[0] == "X" {
		return proc{}, false
	}
	return proc{PID: pid, Start: f[19], Cmd: strings.Join(cmdline(pid), " ")}, true
}

// alive reports whether p still runs (not a zombie, not a new process
// with its pid).
func (p proc) alive() bool {
	q, ok := procOf(p.PID)
	return ok && q.Start == p.Start
}

// allPIDs lists the pids in /proc.
func allPIDs() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// shims returns the live containerd shims serving namespace ns (of the
// containerd at address, if not empty).
func shims(ns, address string) []proc {
	var out []proc
	for _, pid := range allPIDs() {
		args := cmdline(pid)
		if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		if flagValue(args, "-namespace") != ns || (address != "" && flagValue(args, "-address") != address) {
			continue
		}
		if p, ok := procOf(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

func flagValue(args []string, name string) string {
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// descendants returns the live descendants of roots: the containers'
// processes and log writers below containerd shims.
func descendants(roots []proc) []proc {
	parent := map[int]int{}
	for _, pid := range allPIDs() {
		if f, err := statFields(pid); err == nil && f[0] != "Z" {
			ppid, _ := strconv.Atoi(f[1])
			parent[pid] = ppid
		}
	}
	in := map[int]bool{}
	for _, r := range roots {
		in[r.PID] = true
	}
	var out []proc
	for changed := true; changed; {
		changed = false
		for pid, ppid := range parent {
			if in[ppid] && !in[pid] {
				in[pid] = true
				changed = true
				if p, ok := procOf(pid); ok {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// hostNetworkLeftovers lists the Service and pod networking of a cluster
// in this host's network namespace: KUBE-* and GANTRY-* iptables chains,
// the proxy's nftables table and the agent's and proxy's devices.
func hostNetworkLeftovers(ctx context.Context) ([]string, error) {
	var found []string
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			if tool == "iptables-save" {
				return nil, fmt.Errorf("%s not found: %w", tool, err)
			}
			continue
		}
		out, err := exec.CommandContext(ctx, tool).Output()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tool, err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, ":KUBE-") || strings.HasPrefix(l, ":GANTRY") {
				chain, _, _ := strings.Cut(l[1:], " ")
				found = append(found, tool+" chain "+chain)
			}
		}
	}
	out, err := exec.CommandContext(ctx, "nft", "list", "tables").Output()
	if err != nil {
		return nil, fmt.Errorf("nft list tables: %w", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "table" && f[2] == proxyNFTable {
			found = append(found, "nftables "+strings.TrimSpace(l))
		}
	}
	for _, name := range hostLinks {
		if _, err := net.InterfaceByName(name); err == nil {
			found = append(found, "link "+name)
		}
	}
	return found, nil
}

// mountsInvolving lists the mounts whose mount point is at or below dir
// or whose source or options name a path below it (the overlay root
// file systems of containers whose layers live there).
func mountsInvolving(dir string) ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		mp := f[4]
		if mp == dir || strings.HasPrefix(mp, dir+"/") || strings.Contains(l, dir+"/") {
			out = append(out, l)
		}
	}
	return out, nil
}

// fileState describes a path for a before/after comparison.
func fileState(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "absent"
	}
	if fi.IsDir() {
		entries, _ := os.ReadDir(path)
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return fmt.Sprintf("directory %v", names)
	}
	data, _ := os.ReadFile(path)
	return fmt.Sprintf("file of %d bytes, modified %s, sha256 %x", fi.Size(), fi.ModTime().Format(time.RFC3339Nano), sha256.Sum256(data))
}

// dirNames returns the names in dir (none if it does not exist).
func dirNames(dir string) map[string]bool {
	entries, _ := os.ReadDir(dir)
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	return names
}
