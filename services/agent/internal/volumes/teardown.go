package volumes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Teardown unmounts everything mounted below <podDir>/volumes (the
// tmpfs of memory-backed volumes, and anything a container propagated
// there) and removes that directory. Removal never follows symlinks and
// never enters another filesystem: if something is still mounted below,
// Teardown fails instead of emptying it. hostPath volumes live outside
// podDir and are not touched. A pod directory without volumes is not an
// error.
func (m *Manager) Teardown(podDir string) error {
	defer m.locks.Lock(filepath.Clean(podDir))()

	dir := filepath.Join(podDir, "volumes")
	real, err := realPath(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}

	mounts, err := mountsBelow(real)
	if err != nil {
		return err
	}
	var errs []error
	for _, mp := range mounts {
		if err := unmount(mp); err != nil {
			errs = append(errs, err)
			continue
		}
		m.log.Debug("unmounted", "path", mp)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}

	// Whatever is still (or again) mounted below must not be removed.
	left, err := mountsBelow(real)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("cannot remove %s: %s is still mounted", dir, left[0])
	}
	return removeAllOneFilesystem(real)
}

// mountsBelow lists the mount points at or below dir (a real path),
// deepest first, so they can be unmounted in order.
func mountsBelow(dir string) ([]string, error) {
	infos, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(infos))
	for _, info := range infos {
		paths = append(paths, info.Mountpoint)
	}
	// Longer paths are deeper. Mounts stacked on one point appear once
	// each; every unmount of the point takes off the top one.
	sort.SliceStable(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	return paths, nil
}

// unmount unmounts path, lazily if it is busy.
func unmount(path string) error {
	err := unix.Unmount(path, unix.UMOUNT_NOFOLLOW)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(path, unix.UMOUNT_NOFOLLOW|unix.MNT_DETACH)
	}
	if err != nil && !errors.Is(err, unix.EINVAL) { // EINVAL: no longer a mount point
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	return nil
}

// removeAllOneFilesystem removes path and everything below it, like
// os.RemoveAll, but refuses to descend into a directory on another
// device (a mount point) and never follows symlinks.
func removeAllOneFilesystem(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return removeBelow(path, fi, deviceOf(fi))
}

func removeBelow(path string, fi os.FileInfo, dev uint64) error {
	if !fi.IsDir() {
		return os.Remove(path)
	}
	if deviceOf(fi) != dev {
		return fmt.Errorf("cannot delete directory %s: it is a mount point", path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	for _, e := range entries {
		child := filepath.Join(path, e.Name())
		cfi, err := os.Lstat(child)
		if err != nil {
			return err
		}
		if err := removeBelow(child, cfi, dev); err != nil {
			return err
		}
	}
	return os.Remove(path)
}

func deviceOf(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Dev
	}
	return 0
}

// realPath returns path made absolute with its symlinks resolved, as
// mount points appear in /proc/self/mountinfo.
func realPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}
