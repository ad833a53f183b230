package containerd

import (
	"errors"
	"fmt"
	"os"
	goruntime "runtime"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Namespace kinds a sandbox pins.
type nsKind struct {
	flag int    // unshare flag
	proc string // name under /proc/<pid>/task/<tid>/ns
}

var (
	netNS = nsKind{unix.CLONE_NEWNET, "net"}
	ipcNS = nsKind{unix.CLONE_NEWIPC, "ipc"}
)

// pinNewNamespace creates a namespace of kind and keeps it alive by bind
// mounting it on path (a new empty file), so containers can join it by
// path. A new network namespace gets its loopback interface up.
//
// Namespaces belong to OS threads: the work happens on a goroutine locked
// to its thread, which enters the new namespace, pins it and goes back to
// its original namespace. Only once back does it unlock; a thread that
// could not go back stays locked, so the Go runtime ends it with the
// goroutine instead of handing it to other goroutines.
func pinNewNamespace(path string, kind nsKind) (err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("%s namespace file: %w", kind.proc, err)
	}
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(path)
		}
	}()

	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		self := fmt.Sprintf("/proc/%d/task/%d/ns/%s", os.Getpid(), unix.Gettid(), kind.proc)
		orig, err := os.Open(self)
		if err != nil {
			goruntime.UnlockOSThread()
			errc <- fmt.Errorf("open this thread's %s namespace: %w", kind.proc, err)
			return
		}
		defer orig.Close()
		if err := unix.Unshare(kind.flag); err != nil {
			goruntime.UnlockOSThread()
			errc <- fmt.Errorf("unshare %s namespace: %w", kind.proc, err)
			return
		}
		err = pinCurrent(self, path, kind)
		if serr := unix.Setns(int(orig.Fd()), kind.flag); serr == nil {
			goruntime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// pinCurrent bind mounts the calling thread's namespace (self) on path.
func pinCurrent(self, path string, kind nsKind) error {
	if err := unix.Mount(self, path, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount %s namespace on %s: %w", kind.proc, path, err)
	}
	if kind == netNS {
		if err := loopbackUp(); err != nil {
			unix.Unmount(path, unix.MNT_DETACH)
			return err
		}
	}
	return nil
}

// loopbackUp sets lo up in the calling thread's network namespace.
func loopbackUp() error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	return nil
}

// isNamespaceFile tells whether path is a pinned namespace (a bind mount
// of an nsfs file) rather than the empty file left after a reboot.
func isNamespaceFile(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}

// isMountPoint tells whether path is mounted on (tmpfs shm).
func isMountPoint(path string) bool {
	var st, parent unix.Stat_t
	if unix.Lstat(path, &st) != nil || unix.Lstat(path+"/..", &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}

// unpin unmounts path if it is mounted and removes it. A missing path is
// not an error.
func unpin(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil &&
		!errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
