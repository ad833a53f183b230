package volumes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

func TestTeardown(t *testing.T) {
	requireRoot(t)
	m, src, podDir := newManager(t)
	src.setConfigMap("app", map[string]string{"a": "A"})
	src.setSecret("db", map[string]string{"password": "x"})

	// A host directory with a canary, used as a hostPath volume, bound
	// into an emptyDir (as a container's Bidirectional mount would
	// propagate it) and linked from another.
	host := t.TempDir()
	canary := filepath.Join(host, "canary")
	if err := os.WriteFile(canary, []byte("alive"), 0o644); err != nil {
		t.Fatal(err)
	}

	pod := testPod(
		emptyDirVolume("scratch", "", ""),
		emptyDirVolume("shm", corev1.StorageMediumMemory, "1Mi"),
		configMapVolume("cfg", "app"),
		secretVolume("creds", "db"),
		corev1.Volume{Name: "all", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}}}},
		}}},
		corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: host}}},
	)
	paths, err := m.Setup(context.Background(), pod, podDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host, filepath.Join(paths["scratch"], "link-to-host")); err != nil {
		t.Fatal(err)
	}
	bind := filepath.Join(paths["shm"], "propagated")
	if err := os.Mkdir(bind, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(host, bind, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	if got := len(mountsUnder(t, podDir)); got != 4 {
		t.Fatalf("%d mounts before Teardown, want 4 (shm, creds, all, the bind)", got)
	}

	if err := m.Teardown(podDir); err != nil {
		t.Fatal(err)
	}
	if mounts := mountsUnder(t, podDir); len(mounts) != 0 {
		t.Errorf("left mounted: %+v", mounts)
	}
	if _, err := os.Lstat(filepath.Join(podDir, "volumes")); !os.IsNotExist(err) {
		t.Errorf("volumes directory still there: %v", err)
	}
	if got := readFile(t, canary); got != "alive" {
		t.Errorf("host canary: %q", got)
	}
	if err := m.Teardown(podDir); err != nil {
		t.Errorf("second Teardown: %v", err)
	}
	if err := m.Teardown(filepath.Join(podDir, "never-existed")); err != nil {
		t.Errorf("Teardown of a missing pod directory: %v", err)
	}
}

func TestRemoveAllOneFilesystemStopsAtMounts(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	inner := filepath.Join(dir, "a", "mnt")
	if err := os.MkdirAll(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := mountTmpfs(inner, 1<<20); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(inner, 0); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	keep := filepath.Join(inner, "keep")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := removeAllOneFilesystem(dir)
	if err == nil || !strings.Contains(err.Error(), "it is a mount point") {
		t.Fatalf("removeAllOneFilesystem: %v, want a mount point error", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("file on the other filesystem removed: %v", err)
	}
}
