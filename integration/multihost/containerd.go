package multihost

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/gantry-dev/gantry/integration/cluster"
)

// hostContainerd is a host's private containerd, run in the host's
// network namespace (so that the shims, and hostNetwork pods, are there
// too). Its socket, root, state and config are under dir; the agent keeps
// its runc state in agentRuncRoot.
type hostContainerd struct {
	dir       string
	address   string
	namespace string
	proc      cluster.Process
}

// agentRuncRoot is where gantry-agent keeps the runc state of its
// containers: /run/gantry/runc/<containerd namespace>.
func agentRuncRoot(namespace string) string { return filepath.Join("/run/gantry/runc", namespace) }

func startContainerd(ctx context.Context, h *Host, dir string) (*hostContainerd, error) {
	bin, err := exec.LookPath("containerd")
	if err != nil {
		return nil, fmt.Errorf("containerd not installed (apt-get install containerd): %w", err)
	}
	c := &hostContainerd{
		dir:       dir,
		address:   filepath.Join(dir, "containerd.sock"),
		namespace: "gantry-mh-" + cluster.RandomHex(4),
	}
	c.proc = cluster.Process{Name: "containerd " + h.Name, LogPath: filepath.Join(dir, "containerd.log"), Netns: h.Netns}
	for _, d := range []string{"root", "state", "opt"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o711); err != nil {
			return nil, err
		}
	}
	config := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(config, []byte(c.configTOML()), 0o644); err != nil {
		return nil, err
	}
	if err := c.proc.Start(bin, []string{"--config", config}); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("unix", c.address, time.Second)
		if err == nil {
			conn.Close()
			return c, nil
		}
		if err := c.proc.Crashed(); err != nil {
			return c, fmt.Errorf("%v\n%s", err, c.proc.LogTail(30))
		}
		if time.Now().After(deadline) {
			return c, fmt.Errorf("containerd did not listen on %s within 20s:\n%s", c.address, c.proc.LogTail(30))
		}
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *hostContainerd) configTOML() string {
	return fmt.Sprintf(`version = 2
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
`, filepath.Join(c.dir, "root"), filepath.Join(c.dir, "state"), c.address, c.address+".ttrpc", filepath.Join(c.dir, "opt"))
}

// close deletes every container (their shims exit and remove their
// sockets), stops containerd, and as last resorts force-deletes what is
// left in the agent's runc root and kills the shims still serving this
// containerd's socket.
func (c *hostContainerd) close() error {
	var errs []error
	if c.proc.Running() {
		errs = append(errs, c.deleteContainers())
		errs = append(errs, c.proc.Stop(15*time.Second))
	}
	root := agentRuncRoot(c.namespace)
	if ids, err := os.ReadDir(root); err == nil {
		for _, id := range ids {
			if out, err := exec.Command("runc", "--root", root, "delete", "--force", id.Name()).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("runc delete %s: %v: %s", id.Name(), err, out))
			}
		}
	}
	errs = append(errs, os.RemoveAll(root), c.killShims())
	return errors.Join(errs...)
}

func (c *hostContainerd) deleteContainers() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := containerd.New(c.address, containerd.WithTimeout(5*time.Second))
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
			if task, err := ctr.Task(ctx, nil); err == nil {
				if wait, err := task.Wait(ctx); err == nil {
					if err := task.Kill(ctx, syscall.SIGKILL); err == nil {
						select {
						case <-wait:
						case <-time.After(10 * time.Second):
						}
					}
				}
				if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("task %s/%s: %w", ns, ctr.ID(), err))
				}
			}
			if err := ctr.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("container %s/%s: %w", ns, ctr.ID(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// killShims kills the shims whose command line names this containerd's
// socket (it is unique to this host).
func (c *hostContainerd) killShims() error {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) == 0 || !strings.Contains(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		for _, a := range args {
			if a == c.address {
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
					errs = append(errs, fmt.Errorf("kill shim %d: %w", pid, err))
				}
				break
			}
		}
	}
	return errors.Join(errs...)
}
