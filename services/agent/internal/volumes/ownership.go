package volumes

import (
	"io/fs"
	"os"
	"path/filepath"
)

// setOwnership gives everything below root to the pod's fsGroup, as
// kubelet's SetVolumeOwnership does: group ownership; group read (and
// write, unless readOnly) permission; directories group-searchable and
// setgid, so new files inherit the group. Symlinks are re-owned but
// never followed or chmod-ed.
func setOwnership(root string, gid int64, readOnly bool) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(path, -1, int(gid)); err != nil {
			return err
		}
		if d.Type() == fs.ModeSymlink {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mask := fs.FileMode(0o660)
		if readOnly {
			mask = 0o440
		}
		if d.IsDir() {
			mask |= fs.ModeSetgid | 0o110
		}
		mode := info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		return os.Chmod(path, mode|mask)
	})
}
