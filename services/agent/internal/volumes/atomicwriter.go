package volumes

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Names inside an atomic volume, as kubelet's atomic writer uses them.
const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
	// tsDirLayout is the prefix of a timestamped data directory; a random
	// suffix follows.
	tsDirLayout = "..2006_01_02_15_04_05."

	maxFileNameLength = 255
	maxPathLength     = 4096
)

// atomicWriter writes payloads into dir so that readers see one complete
// version of the files or the next:
//
//  1. the payload is written to a new timestamped directory ..<date>.<rand>;
//  2. a ..data_tmp symlink to it is renamed over ..data (atomic);
//  3. each top-level path gets a symlink <name> -> ..data/<name>;
//  4. symlinks of paths no longer in the payload, and older data
//     directories, are removed.
//
// Nothing is written when the current version already holds the payload.
type atomicWriter struct {
	dir string
	// fsGroup, when set, owns the files, which are made group-readable,
	// and the directories, which are made setgid.
	fsGroup *int64
}

// write makes p the content of the volume and reports whether anything
// changed.
func (w *atomicWriter) write(p payload) (changed bool, err error) {
	clean, err := cleanPayload(p)
	if err != nil {
		return false, err
	}

	oldTsName, err := os.Readlink(filepath.Join(w.dir, dataDirName))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	if oldTsName != "" {
		same, err := w.holds(filepath.Join(w.dir, oldTsName), clean)
		if err != nil {
			return false, err
		}
		if same {
			return false, w.linkUserVisible(clean)
		}
	}

	tsDir, err := os.MkdirTemp(w.dir, time.Now().UTC().Format(tsDirLayout))
	if err != nil {
		return false, err
	}
	if err := w.writeData(tsDir, clean); err != nil {
		return false, errors.Join(err, os.RemoveAll(tsDir))
	}

	tmpLink := filepath.Join(w.dir, newDataDirName)
	if err := os.Remove(tmpLink); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	if err := os.Symlink(filepath.Base(tsDir), tmpLink); err != nil {
		return false, errors.Join(err, os.RemoveAll(tsDir))
	}
	if err := w.chownLink(tmpLink); err != nil {
		return false, err
	}
	if err := os.Rename(tmpLink, filepath.Join(w.dir, dataDirName)); err != nil {
		return false, errors.Join(err, os.Remove(tmpLink), os.RemoveAll(tsDir))
	}

	if err := w.linkUserVisible(clean); err != nil {
		return true, err
	}
	return true, w.prune(clean, filepath.Base(tsDir))
}

// cleanPayload validates the payload's paths and cleans them.
func cleanPayload(p payload) (payload, error) {
	clean := make(payload, len(p))
	for name, f := range p {
		if err := validatePath(name); err != nil {
			return nil, err
		}
		clean[path.Clean(name)] = f
	}
	return clean, nil
}

// validatePath checks a payload path as kubelet does: relative, no '..'
// element, not starting with '..' (the writer's own names), within
// length limits.
func validatePath(p string) error {
	if p == "" {
		return fmt.Errorf("invalid path: must not be empty: %q", p)
	}
	if path.IsAbs(p) {
		return fmt.Errorf("invalid path: must be relative path: %s", p)
	}
	if len(p) > maxPathLength {
		return fmt.Errorf("invalid path: must be less than or equal to %d characters", maxPathLength)
	}
	items := strings.Split(p, "/")
	for _, item := range items {
		if item == ".." {
			return fmt.Errorf("invalid path: must not contain '..': %s", p)
		}
		if len(item) > maxFileNameLength {
			return fmt.Errorf("invalid path: filenames must be less than or equal to %d characters", maxFileNameLength)
		}
	}
	if strings.HasPrefix(items[0], "..") && len(items[0]) > 2 {
		return fmt.Errorf("invalid path: must not start with '..': %s", p)
	}
	return nil
}

// fileMode is the mode a payload file gets on disk.
func (w *atomicWriter) fileMode(mode int32) fs.FileMode {
	m := fs.FileMode(mode) & fs.ModePerm
	if w.fsGroup != nil {
		m |= 0o440
	}
	return m
}

// holds reports whether tsDir holds exactly p, with the same modes.
func (w *atomicWriter) holds(tsDir string, p payload) (bool, error) {
	seen := 0
	same := true
	err := filepath.WalkDir(tsDir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(tsDir, name)
		if err != nil {
			return err
		}
		f, ok := p[filepath.ToSlash(rel)]
		if !ok || !d.Type().IsRegular() {
			same = false
			return filepath.SkipAll
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		if info.Mode().Perm() != w.fileMode(f.Mode) || !bytes.Equal(data, f.Data) {
			same = false
			return filepath.SkipAll
		}
		seen++
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		// ..data points nowhere: write a new version.
		return false, nil
	}
	return same && err == nil && seen == len(p), err
}

// writeData writes p into the new data directory tsDir.
func (w *atomicWriter) writeData(tsDir string, p payload) error {
	if err := os.Chmod(tsDir, 0o755); err != nil {
		return err
	}
	for name, f := range p {
		file := filepath.Join(tsDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return err
		}
		mode := w.fileMode(f.Mode)
		if err := os.WriteFile(file, f.Data, mode); err != nil {
			return err
		}
		// WriteFile is subject to the umask.
		if err := os.Chmod(file, mode); err != nil {
			return err
		}
	}
	if w.fsGroup != nil {
		return setOwnership(tsDir, *w.fsGroup, true)
	}
	return nil
}

// topLevel returns the first element of each payload path.
func topLevel(p payload) map[string]bool {
	names := make(map[string]bool, len(p))
	for name := range p {
		first, _, _ := strings.Cut(name, "/")
		names[first] = true
	}
	return names
}

// linkUserVisible creates the <name> -> ..data/<name> symlinks. Anything
// else already at a name (a directory made for a nested mount point) is
// left alone, as kubelet does.
func (w *atomicWriter) linkUserVisible(p payload) error {
	for name := range topLevel(p) {
		link := filepath.Join(w.dir, name)
		target := filepath.Join(dataDirName, name)
		cur, err := os.Readlink(link)
		switch {
		case err == nil && cur == target:
			continue
		case err == nil: // a symlink to elsewhere
			if err := os.Remove(link); err != nil {
				return err
			}
		case !errors.Is(err, os.ErrNotExist): // not a symlink
			continue
		}
		if err := os.Symlink(target, link); err != nil {
			return err
		}
		if err := w.chownLink(link); err != nil {
			return err
		}
	}
	return nil
}

// prune removes user-visible symlinks that the payload no longer has and
// every data directory but current (older versions, and leftovers of an
// interrupted write).
func (w *atomicWriter) prune(p payload, current string) error {
	keep := topLevel(p)
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		full := filepath.Join(w.dir, name)
		switch {
		case name == dataDirName || name == current:
		case isTsDirName(name) && e.IsDir():
			errs = append(errs, os.RemoveAll(full))
		case !strings.HasPrefix(name, "..") && !keep[name] && e.Type() == fs.ModeSymlink:
			if target, err := os.Readlink(full); err == nil && target == filepath.Join(dataDirName, name) {
				errs = append(errs, os.Remove(full))
			}
		}
	}
	return errors.Join(errs...)
}

// isTsDirName reports whether name looks like a data directory:
// "..2024_05_01_10_00_00.<rand>".
func isTsDirName(name string) bool {
	if len(name) <= len(tsDirLayout) || !strings.HasPrefix(name, "..") {
		return false
	}
	_, err := time.Parse(tsDirLayout, name[:len(tsDirLayout)])
	return err == nil
}

func (w *atomicWriter) chownLink(link string) error {
	if w.fsGroup == nil {
		return nil
	}
	return os.Lchown(link, -1, int(*w.fsGroup))
}
