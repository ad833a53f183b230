package volumes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// resolveSubPath returns the host path of subPath inside the volume at
// volumePath, with every symlink resolved, and fails if it leads out of
// the volume. Missing directories on the way are created with the
// volume's permissions, as kubelet does, without following symlinks out.
//
// The path is checked here and bind-mounted later by the runtime; a
// container that swaps a checked directory for a symlink in between is
// not stopped (kubelet closes that gap by bind-mounting an open file
// descriptor, which this package does not do yet).
func resolveSubPath(volumePath, subPath string) (string, error) {
	if filepath.IsAbs(subPath) {
		return "", fmt.Errorf("subPath %q must not be an absolute path", subPath)
	}
	for _, elem := range strings.Split(subPath, "/") {
		if elem == ".." {
			return "", fmt.Errorf("subPath %q must not contain '..'", subPath)
		}
	}
	base, err := filepath.EvalSymlinks(volumePath)
	if err != nil {
		return "", fmt.Errorf("resolving volume path: %w", err)
	}
	fi, err := os.Stat(base)
	if err != nil {
		return "", err
	}
	perm := fi.Mode().Perm()

	cur := base
	for _, elem := range strings.Split(filepath.Clean(subPath), "/") {
		if elem == "." || elem == "" {
			continue
		}
		next := filepath.Join(cur, elem)
		fi, err := os.Lstat(next)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := os.Mkdir(next, perm); err != nil {
				return "", err
			}
			if err := os.Chmod(next, perm); err != nil {
				return "", err
			}
		case err != nil:
			return "", err
		case fi.Mode()&os.ModeSymlink != 0:
			if next, err = filepath.EvalSymlinks(next); err != nil {
				return "", fmt.Errorf("subPath %q: %w", subPath, err)
			}
		}
		if !within(next, base) {
			return "", fmt.Errorf("subPath %q leads outside of its volume", subPath)
		}
		cur = next
	}
	return cur, nil
}

// within reports whether path is base or below it; both are clean.
func within(path, base string) bool {
	return path == base || strings.HasPrefix(path, strings.TrimSuffix(base, "/")+"/")
}
