package volumes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// setupHostPath checks a hostPath volume's path against its type,
// creating it for the *OrCreate types, and returns it. Checks follow
// symlinks, as kubelet's do; errors are worded as kubelet's.
func setupHostPath(src *corev1.HostPathVolumeSource) (string, error) {
	path := src.Path
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("hostPath %q must be an absolute path", path)
	}
	for _, elem := range strings.Split(path, "/") {
		if elem == ".." {
			return "", fmt.Errorf("hostPath %q must not contain '..'", path)
		}
	}
	if src.Type == nil {
		return path, nil
	}
	if err := checkHostPathType(path, *src.Type); err != nil {
		return "", err
	}
	return path, nil
}

func checkHostPathType(path string, t corev1.HostPathType) error {
	fi, err := os.Stat(path)
	exists := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	mode := os.FileMode(0)
	if exists {
		mode = fi.Mode()
	}

	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			return os.MkdirAll(path, 0o755)
		}
		fallthrough
	case corev1.HostPathDirectory:
		if !exists || !mode.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", path)
		}
	case corev1.HostPathFileOrCreate:
		if !exists {
			return createFile(path)
		}
		fallthrough
	case corev1.HostPathFile:
		if !exists || !mode.IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", path)
		}
	case corev1.HostPathSocket:
		if !exists || mode.Type() != os.ModeSocket {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", path)
		}
	case corev1.HostPathCharDev:
		if !exists || mode.Type() != os.ModeDevice|os.ModeCharDevice {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", path)
		}
	case corev1.HostPathBlockDev:
		if !exists || mode.Type() != os.ModeDevice {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", path)
		}
	default:
		return fmt.Errorf("%s is an invalid volume type", t)
	}
	return nil
}

// createFile creates an empty file (mode 0644) as kubelet's FileOrCreate
// does; its parent directory must exist.
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}
