package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Importer is what the Watcher needs of a runtime (runtime.Runtime has
// it).
type Importer interface {
	ImportImage(ctx context.Context, archive io.Reader) ([]string, error)
}

// archiveSuffixes are the file names the Watcher imports.
var archiveSuffixes = []string{".tar", ".tar.gz", ".tgz", ".oci"}

// Watcher imports the image archives found in a directory. A file is
// imported once it has not changed for SettleTime, and a content already
// imported (under any file name) is not imported again while the Watcher
// lives; an agent restart imports every archive once more, which
// containerd makes cheap.
type Watcher struct {
	Dir string
	// Interval between scans of Dir (default 10 s).
	Interval time.Duration
	// SettleTime a file must stay unchanged before it is imported, so a
	// file still being copied is left alone (default 2 s).
	SettleTime time.Duration

	imp Importer
	log *slog.Logger

	mu       sync.Mutex
	files    map[string]fileState // by path
	imported map[string][]string  // image names by content digest
}

type fileState struct {
	size    int64
	modTime time.Time
	// done: imported, or failed and not to be retried until it changes.
	done bool
}

// NewWatcher returns a Watcher of dir importing into imp.
func NewWatcher(dir string, imp Importer, log *slog.Logger) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{
		Dir:        dir,
		Interval:   10 * time.Second,
		SettleTime: 2 * time.Second,
		imp:        imp,
		log:        log.With("component", "images"),
		files:      map[string]fileState{},
		imported:   map[string][]string{},
	}
}

// Run scans the directory now and every Interval until ctx ends. A
// missing directory is created.
func (w *Watcher) Run(ctx context.Context) error {
	if err := os.MkdirAll(w.Dir, 0o755); err != nil {
		return fmt.Errorf("images directory: %w", err)
	}
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		if err := w.Scan(ctx); err != nil {
			w.log.Warn("scan images directory", "dir", w.Dir, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Scan imports the settled archives of the directory not imported yet.
// Import failures are logged, and retried only when the file changes.
func (w *Watcher) Scan(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	entries, err := os.ReadDir(w.Dir)
	if err != nil {
		return err
	}
	present := map[string]bool{}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && isArchive(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		path := filepath.Join(w.Dir, name)
		present[path] = true
		st, err := os.Stat(path)
		if err != nil {
			continue // removed meanwhile
		}
		prev, known := w.files[path]
		if known && prev.size == st.Size() && prev.modTime.Equal(st.ModTime()) && prev.done {
			continue
		}
		if time.Since(st.ModTime()) < w.SettleTime {
			continue // maybe still being written
		}
		w.importFile(ctx, path)
		w.files[path] = fileState{size: st.Size(), modTime: st.ModTime(), done: true}
	}
	for path := range w.files {
		if !present[path] {
			delete(w.files, path)
		}
	}
	return nil
}

func (w *Watcher) importFile(ctx context.Context, path string) {
	sum, err := fileDigest(path)
	if err != nil {
		w.log.Warn("read image archive", "file", path, "err", err)
		return
	}
	if names, ok := w.imported[sum]; ok {
		w.log.Debug("image archive already imported", "file", path, "images", names)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		w.log.Warn("open image archive", "file", path, "err", err)
		return
	}
	defer f.Close()
	start := time.Now()
	names, err := w.imp.ImportImage(ctx, f)
	if err != nil {
		w.log.Warn("import image archive", "file", path, "err", err)
		return
	}
	w.imported[sum] = names
	w.log.Info("imported image archive", "file", path, "images", names, "took", time.Since(start))
}

// Imported returns the names imported from the archive content at path,
// and whether it has been imported.
func (w *Watcher) Imported(path string) ([]string, bool) {
	sum, err := fileDigest(path)
	if err != nil {
		return nil, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	names, ok := w.imported[sum]
	return names, ok
}

func isArchive(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	for _, s := range archiveSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
