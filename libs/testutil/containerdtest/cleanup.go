package containerdtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// stop takes down everything c started and removes its directory.
func (c *Containerd) stop() error {
	var errs []error
	if c.PID != 0 {
		if err := c.deleteContainers(); err != nil {
			errs = append(errs, fmt.Errorf("delete containers: %w", err))
		}
		if err := c.stopDaemon(); err != nil {
			errs = append(errs, err)
		}
	}
	// Last resorts, for what a failed test or a dead containerd left.
	if err := c.deleteRuncContainers(); err != nil {
		errs = append(errs, err)
	}
	if err := c.killShims(); err != nil {
		errs = append(errs, err)
	}
	if err := UnmountAll(c.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		errs = append(errs, err)
	}
	if c.holder != nil {
		c.holder.close()
	}
	return errors.Join(errs...)
}

// deleteContainers kills and deletes every task and container, in every
// namespace, through containerd.
func (c *Containerd) deleteContainers() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, err := containerd.New(c.Address, containerd.WithTimeout(5*time.Second))
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
				// Whoever ran the task (the agent's runtime) may be
				// deleting it at the same moment: gone is fine.
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

// stopDaemon stops containerd by its PID: SIGTERM, then SIGKILL.
func (c *Containerd) stopDaemon() error {
	if c.PID == 0 {
		return nil
	}
	p, err := os.FindProcess(c.PID)
	if err != nil {
		return err
	}
	p.Signal(syscall.SIGTERM)
	select {
	case <-c.holder.exited:
	case <-time.After(10 * time.Second):
		p.Kill()
		<-c.holder.exited
	}
	c.PID = 0
	return nil
}

// deleteRuncContainers force-deletes the containers left in the private
// runc root (the runc shim keeps them in <root>/<namespace>/<id>).
func (c *Containerd) deleteRuncContainers() error {
	nss, err := os.ReadDir(c.RuncRoot)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	var errs []error
	for _, ns := range nss {
		root := filepath.Join(c.RuncRoot, ns.Name())
		ids, _ := os.ReadDir(root)
		for _, id := range ids {
			out, err := exec.Command("runc", "--root", root, "delete", "--force", id.Name()).CombinedOutput()
			if err != nil {
				errs = append(errs, fmt.Errorf("runc delete %s: %v: %s", id.Name(), err, out))
			}
		}
	}
	return errors.Join(errs...)
}

// killShims kills the shims still serving this containerd: their command
// line names its socket.
func (c *Containerd) killShims() error {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if !strings.Contains(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		if i := slices.Index(args, "-address"); i >= 0 && i+1 < len(args) && args[i+1] == c.Address {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return nil
}

// UnmountAll unmounts every mount at or below dir, deepest first.
func UnmountAll(dir string) error {
	mounts, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		return m.Mountpoint != dir && !strings.HasPrefix(m.Mountpoint, dir+"/"), false
	})
	if err != nil {
		return err
	}
	slices.SortFunc(mounts, func(a, b *mountinfo.Info) int { return len(b.Mountpoint) - len(a.Mountpoint) })
	var errs []error
	for _, m := range mounts {
		if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m.Mountpoint, err))
		}
	}
	return errors.Join(errs...)
}
