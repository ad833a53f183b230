package images

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// recordingImporter records the content of every archive imported.
type recordingImporter struct {
	mu      sync.Mutex
	imports []string
}

func (r *recordingImporter) ImportImage(_ context.Context, archive io.Reader) ([]string, error) {
	b, err := io.ReadAll(archive)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.imports = append(r.imports, string(b))
	return []string{"example.com/" + string(b) + ":1"}, nil
}

func (r *recordingImporter) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.imports...)
}

func writeAged(t *testing.T, path, content string, age time.Duration) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-age)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

func TestWatcherImportsEachContentOnce(t *testing.T) {
	dir := t.TempDir()
	imp := &recordingImporter{}
	w := NewWatcher(dir, imp, nil)
	ctx := context.Background()

	writeAged(t, filepath.Join(dir, "a.tar"), "a", time.Minute)
	writeAged(t, filepath.Join(dir, "b.oci"), "b", time.Minute)
	writeAged(t, filepath.Join(dir, "c.tar.gz"), "a", time.Minute) // same content as a.tar
	writeAged(t, filepath.Join(dir, "notes.txt"), "n", time.Minute)
	writeAged(t, filepath.Join(dir, "fresh.tgz"), "f", 0) // maybe still being copied
	if err := w.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if got := imp.got(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("first scan imported %q, want a and b", got)
	}
	if names, ok := w.Imported(filepath.Join(dir, "c.tar.gz")); !ok || names[0] != "example.com/a:1" {
		t.Fatalf("Imported(c.tar.gz) = %v, %v", names, ok)
	}

	// Nothing changed: nothing imported. The fresh file has settled.
	writeAged(t, filepath.Join(dir, "fresh.tgz"), "f", time.Minute)
	if err := w.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if got := imp.got(); len(got) != 3 || got[2] != "f" {
		t.Fatalf("second scan: imports %q, want f added", got)
	}

	// A file replaced by new content is imported again.
	writeAged(t, filepath.Join(dir, "a.tar"), "a2", 30*time.Second)
	if err := w.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if got := imp.got(); len(got) != 4 || got[3] != "a2" {
		t.Fatalf("third scan: imports %q, want a2 added", got)
	}
}

func TestWatcherRunStopsWithContext(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "images")
	w := NewWatcher(dir, &recordingImporter{}, nil)
	w.Interval = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(dir); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not create the directory")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
