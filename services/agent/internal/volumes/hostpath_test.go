package volumes

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// hostFixture makes a directory standing in for the host, holding one of
// each file type.
func hostFixture(t *testing.T) string {
	t.Helper()
	host := t.TempDir()
	if err := os.Mkdir(filepath.Join(host, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("dir", filepath.Join(host, "link-to-dir")); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(host, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if os.Geteuid() == 0 {
		if err := unix.Mknod(filepath.Join(host, "blk"), unix.S_IFBLK|0o600, int(unix.Mkdev(7, 200))); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mknod(filepath.Join(host, "chr"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
	}
	return host
}

func TestHostPathTypes(t *testing.T) {
	host := hostFixture(t)
	p := func(name string) string { return filepath.Join(host, name) }
	tests := []struct {
		name     string
		path     string
		typ      *corev1.HostPathType
		root     bool // needs the device nodes only root can make
		wantErr  string
		wantMode os.FileMode // of a created path
	}{
		{name: "unset type, missing path", path: p("missing")},
		{name: "empty type, anything", path: p("sock"), typ: ptr(corev1.HostPathUnset)},

		{name: "DirectoryOrCreate existing", path: p("dir"), typ: ptr(corev1.HostPathDirectoryOrCreate)},
		{name: "DirectoryOrCreate creates", path: p("new/sub"), typ: ptr(corev1.HostPathDirectoryOrCreate), wantMode: os.ModeDir | 0o755},
		{name: "DirectoryOrCreate on a file", path: p("file"), typ: ptr(corev1.HostPathDirectoryOrCreate),
			wantErr: "hostPath type check failed: " + p("file") + " is not a directory"},
		{name: "Directory", path: p("dir"), typ: ptr(corev1.HostPathDirectory)},
		{name: "Directory through a symlink", path: p("link-to-dir"), typ: ptr(corev1.HostPathDirectory)},
		{name: "Directory missing", path: p("missing"), typ: ptr(corev1.HostPathDirectory),
			wantErr: "hostPath type check failed: " + p("missing") + " is not a directory"},

		{name: "FileOrCreate existing", path: p("file"), typ: ptr(corev1.HostPathFileOrCreate)},
		{name: "FileOrCreate creates", path: p("dir/new-file"), typ: ptr(corev1.HostPathFileOrCreate), wantMode: 0o644},
		{name: "FileOrCreate on a directory", path: p("dir"), typ: ptr(corev1.HostPathFileOrCreate),
			wantErr: "hostPath type check failed: " + p("dir") + " is not a file"},
		{name: "File", path: p("file"), typ: ptr(corev1.HostPathFile)},
		{name: "File missing", path: p("missing"), typ: ptr(corev1.HostPathFile),
			wantErr: "hostPath type check failed: " + p("missing") + " is not a file"},

		{name: "Socket", path: p("sock"), typ: ptr(corev1.HostPathSocket)},
		{name: "Socket on a file", path: p("file"), typ: ptr(corev1.HostPathSocket),
			wantErr: "hostPath type check failed: " + p("file") + " is not a socket file"},
		{name: "CharDevice", path: p("chr"), typ: ptr(corev1.HostPathCharDev), root: true},
		{name: "CharDevice /dev/null", path: "/dev/null", typ: ptr(corev1.HostPathCharDev)},
		{name: "CharDevice on a block device", path: p("blk"), typ: ptr(corev1.HostPathCharDev), root: true,
			wantErr: "hostPath type check failed: " + p("blk") + " is not a character device"},
		{name: "BlockDevice", path: p("blk"), typ: ptr(corev1.HostPathBlockDev), root: true},
		{name: "BlockDevice on a char device", path: "/dev/null", typ: ptr(corev1.HostPathBlockDev),
			wantErr: "hostPath type check failed: /dev/null is not a block device"},

		{name: "invalid type", path: p("dir"), typ: ptr(corev1.HostPathType("Fifo")), wantErr: "Fifo is an invalid volume type"},
		{name: "relative path", path: "dir", wantErr: `hostPath "dir" must be an absolute path`},
		{name: "dot-dot", path: host + "/dir/../file", wantErr: `hostPath "` + host + `/dir/../file" must not contain '..'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root && os.Geteuid() != 0 {
				t.Skip("needs root for device nodes")
			}
			m, _, podDir := newManager(t)
			vol := corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: tt.path, Type: tt.typ}}}
			paths, err := m.Setup(context.Background(), testPod(vol), podDir)
			if tt.wantErr != "" {
				wantErr(t, err, `MountVolume.SetUp failed for volume "host" : `+tt.wantErr)
				return
			}
			wantErr(t, err, "")
			if paths["host"] != tt.path {
				t.Errorf("host path %q, want %q", paths["host"], tt.path)
			}
			if tt.wantMode != 0 {
				fi, err := os.Stat(tt.path)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode() & (os.ModeType | os.ModePerm); got != tt.wantMode {
					t.Errorf("created with mode %v, want %v", got, tt.wantMode)
				}
			}
			if _, err := os.Lstat(filepath.Join(podDir, "volumes")); !os.IsNotExist(err) {
				t.Errorf("hostPath volume made a directory in the pod directory: %v", err)
			}
		})
	}
}
