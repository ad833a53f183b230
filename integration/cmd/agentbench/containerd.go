package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"golang.org/x/sys/unix"
)

// ctrd is a private containerd: its own config, root, state and socket in
// a temporary directory.
type ctrd struct {
	dir, sock, runcRoot, logPath string
	cmd                          *exec.Cmd
	exited                       chan struct{}
}

func startContainerd(dir string) (*ctrd, error) {
	bin, err := exec.LookPath("containerd")
	if err != nil {
		return nil, fmt.Errorf("containerd not installed (make deps): %w", err)
	}
	if _, err := exec.LookPath("runc"); err != nil {
		return nil, fmt.Errorf("runc not installed (make deps): %w", err)
	}
	c := &ctrd{
		dir: dir, sock: filepath.Join(dir, "containerd.sock"),
		runcRoot: filepath.Join(dir, "runc"), logPath: filepath.Join(dir, "containerd.log"),
	}
	for _, d := range []string{"root", "state", "opt", "runc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o711); err != nil {
			return nil, err
		}
	}
	conf := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.sock, c.sock+".ttrpc", filepath.Join(dir, "opt"))
	confPath := filepath.Join(dir, "containerd.toml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	logFile, err := os.Create(c.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	c.cmd = exec.Command(bin, "--config", confPath)
	c.cmd.Stdout, c.cmd.Stderr, c.cmd.Dir = logFile, logFile, dir
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	c.exited = make(chan struct{})
	go func() { c.cmd.Wait(); close(c.exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if conn, err := net.DialTimeout("unix", c.sock, time.Second); err == nil {
			conn.Close()
			return c, nil
		}
		select {
		case <-c.exited:
			return c, fmt.Errorf("containerd exited; its log:\n%s", tailFile(c.logPath, 30))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return c, fmt.Errorf("containerd did not listen on %s within 20s; its log:\n%s", c.sock, tailFile(c.logPath, 30))
		}
	}
}

// stop deletes every container in every namespace of this containerd,
// stops it by PID, kills shims left behind (found by our socket in their
// command line), unmounts everything under dir and removes dir.
func (c *ctrd) stop() error {
	var errs []error
	if c.cmd != nil && c.cmd.Process != nil {
		select {
		case <-c.exited:
		default:
			errs = append(errs, deleteAllContainers(c.sock))
			c.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-c.exited:
			case <-time.After(10 * time.Second):
				c.cmd.Process.Kill()
				<-c.exited
			}
		}
	}
	errs = append(errs, killShims(c.sock), unmountUnder(c.dir))
	return errors.Join(errs...)
}

func deleteAllContainers(sock string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	client, err := containerd.New(sock, containerd.WithTimeout(5*time.Second))
	if err != nil {
		return err
	}
	defer client.Close()
	nss, err := client.NamespaceService().List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, ns := range nss {
		ctx := namespaces.WithNamespace(ctx, ns)
		ctrs, err := client.Containers(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, ctr := range ctrs {
			errs = append(errs, removeContainer(ctx, ctr))
		}
	}
	return errors.Join(errs...)
}

// removeContainer kills its task if any, deletes it, then the container
// and its snapshot.
func removeContainer(ctx context.Context, ctr containerd.Container) error {
	if task, err := ctr.Task(ctx, nil); err == nil {
		if wait, err := task.Wait(ctx); err == nil {
			if err := task.Kill(ctx, syscall.SIGKILL); err == nil {
				select {
				case <-wait:
				case <-time.After(10 * time.Second):
				}
			}
		}
		if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil {
			return fmt.Errorf("delete task %s: %w", ctr.ID(), err)
		}
	}
	if err := ctr.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
		return fmt.Errorf("delete container %s: %w", ctr.ID(), err)
	}
	return nil
}

// killShims kills, by PID, containerd-shim processes serving our socket.
func killShims(sock string) error {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) == 0 || !strings.Contains(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		for i, a := range args {
			if a == "-address" && i+1 < len(args) && args[i+1] == sock {
				logf("killing leftover shim %d", pid)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	return nil
}

// unmountUnder detaches every mount point at or below dir, deepest first.
func unmountUnder(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			points = append(points, mp)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func tailFile(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
