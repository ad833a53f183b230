package volumes

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeSource serves configMaps and secrets from memory, answering
// NotFound as the API server does.
type fakeSource struct {
	mu         sync.Mutex
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
}

func newFakeSource() *fakeSource {
	return &fakeSource{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
}

func (f *fakeSource) ConfigMap(_ context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cm, ok := f.configMaps[namespace+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(corev1.Resource("configmaps"), name)
	}
	return cm.DeepCopy(), nil
}

func (f *fakeSource) Secret(_ context.Context, namespace, name string) (*corev1.Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.secrets[namespace+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(corev1.Resource("secrets"), name)
	}
	return s.DeepCopy(), nil
}

func (f *fakeSource) setConfigMap(name string, data map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.configMaps["default/"+name] = &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Data:       data,
	}
}

func (f *fakeSource) setSecret(name string, data map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	f.secrets["default/"+name] = s
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount tmpfs")
	}
}

// newManager returns a Manager on a fake source and a pod directory
// whose volumes are torn down when the test ends; anything Teardown
// leaves mounted is unmounted too, so a failing test leaks no mounts.
func newManager(t *testing.T) (*Manager, *fakeSource, string) {
	t.Helper()
	src := newFakeSource()
	m := New(Config{Source: src, Allocatable: corev1.ResourceList{}})
	podDir := t.TempDir()
	t.Cleanup(func() {
		if err := m.Teardown(podDir); err != nil {
			t.Errorf("Teardown: %v", err)
		}
		for _, mp := range mountsUnder(t, podDir) {
			t.Errorf("left mounted: %s", mp.point)
			if err := unix.Unmount(mp.point, unix.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", mp.point, err)
			}
		}
	})
	return m, src, podDir
}

func testPod(vols ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: "0b6d8f3e-uid"},
		Spec: corev1.PodSpec{
			Volumes:    vols,
			Containers: []corev1.Container{{Name: "app"}},
		},
	}
}

type mountEntry struct {
	point, fsType, superOptions string
}

// mountsUnder reads /proc/self/mountinfo directly (not through the code
// under test) and returns the mounts at or below dir.
func mountsUnder(t *testing.T, dir string) []mountEntry {
	t.Helper()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		real = dir
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []mountEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(tail) < 3 {
			continue
		}
		point := strings.ReplaceAll(fields[4], `\040`, " ")
		if point == real || strings.HasPrefix(point, real+"/") {
			out = append(out, mountEntry{point: point, fsType: tail[0], superOptions: tail[2]})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// perm returns the permission bits (and setgid) of path, following
// symlinks.
func perm(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode() & (os.ModePerm | os.ModeSetgid | os.ModeSticky)
}

func readlink(t *testing.T, path string) string {
	t.Helper()
	target, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	return target
}

func statGID(fi os.FileInfo) uint32 {
	return fi.Sys().(*syscall.Stat_t).Gid
}

func ptr[T any](v T) *T { return &v }

// wantErr fails unless err's text is want (want "" means no error).
func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want %q", want)
	case want != "" && err.Error() != want:
		t.Fatalf("error %q\n want %q", err.Error(), want)
	}
}
