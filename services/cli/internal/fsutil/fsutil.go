// Package fsutil holds the CLI's one way of writing a file that others
// read: atomically.
package fsutil

import (
	"fmt"
	"os"
	"path/filepath"
)

// ReplaceFile replaces path with data in one rename, so a reader sees
// the old file or the new one, never a part. The file is readable by its
// owner only (0600), as os.CreateTemp makes it.
func ReplaceFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
