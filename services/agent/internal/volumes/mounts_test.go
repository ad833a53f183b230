package volumes

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	corev1 "k8s.io/api/core/v1"
)

func TestMountsSubPath(t *testing.T) {
	m, src, podDir := newManager(t)
	src.setConfigMap("app", map[string]string{"app.conf": "x"})
	pod := testPod(emptyDirVolume("data", "", ""), configMapVolume("cfg", "app"))
	paths, err := m.Setup(context.Background(), pod, podDir)
	if err != nil {
		t.Fatal(err)
	}
	vol := paths["data"]
	outside := t.TempDir()
	for _, d := range []string{"logs/web", "real"} {
		if err := os.MkdirAll(filepath.Join(vol, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"inside":      "real",                     // relative, stays inside
		"inside-abs":  filepath.Join(vol, "real"), // absolute, stays inside
		"out-abs":     outside,                    // absolute, leads out
		"out-rel":     "../../../../..",           // relative, climbs out
		"real/up":     "..",                       // back to the volume root: inside
		"real/escape": "../../..",                 // climbs out from a subdirectory
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(vol, name)); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name       string
		subPath    string
		expr       string
		env        []string
		wantHost   string
		wantErr    string
		wantExists bool
	}{
		{name: "directory", subPath: "logs/web", wantHost: filepath.Join(vol, "logs/web")},
		{name: "created when missing", subPath: "new/deep", wantHost: filepath.Join(vol, "new/deep"), wantExists: true},
		{name: "symlink inside", subPath: "inside", wantHost: filepath.Join(vol, "real")},
		{name: "absolute symlink inside", subPath: "inside-abs", wantHost: filepath.Join(vol, "real")},
		{name: "symlink to the root", subPath: "real/up", wantHost: vol},
		{name: "absolute symlink out", subPath: "out-abs",
			wantErr: `failed to prepare subPath for volumeMount "data" of container "app": subPath "out-abs" leads outside of its volume`},
		{name: "relative symlink out", subPath: "out-rel",
			wantErr: `failed to prepare subPath for volumeMount "data" of container "app": subPath "out-rel" leads outside of its volume`},
		{name: "nested symlink out", subPath: "real/escape/etc",
			wantErr: `failed to prepare subPath for volumeMount "data" of container "app": subPath "real/escape/etc" leads outside of its volume`},
		{name: "dot-dot", subPath: "logs/../../x",
			wantErr: `failed to prepare subPath for volumeMount "data" of container "app": subPath "logs/../../x" must not contain '..'`},
		{name: "absolute", subPath: "/etc",
			wantErr: `failed to prepare subPath for volumeMount "data" of container "app": subPath "/etc" must not be an absolute path`},
		{name: "subPathExpr", expr: "logs/$(POD_NAME)", env: []string{"POD_NAME=web"}, wantHost: filepath.Join(vol, "logs/web")},
		{name: "subPathExpr escaping", expr: "$(UP)/x", env: []string{"UP=.."},
			wantErr: `failed to prepare subPath for volumeMount "data" of container "app": subPath "../x" must not contain '..'`},
		{name: "subPathExpr missing variable", expr: "$(B)/$(A)", env: []string{"B="},
			wantErr: `volumeMount "data" of container "app": missing value for A, B`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{
				{Name: "data", MountPath: "/data", SubPath: tt.subPath, SubPathExpr: tt.expr},
			}}
			mounts, err := m.Mounts(pod, c, paths, tt.env)
			wantErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				return
			}
			want := []runtime.Mount{{HostPath: tt.wantHost, ContainerPath: "/data", Propagation: "rprivate"}}
			if !reflect.DeepEqual(mounts, want) {
				t.Fatalf("mounts %+v, want %+v", mounts, want)
			}
			if tt.wantExists {
				if got := perm(t, tt.wantHost); got != 0o777 {
					t.Errorf("created subPath has mode %v, want the volume's 0777", got)
				}
			}
		})
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("something was created outside the volume: %v", entries)
	}
}

func TestMounts(t *testing.T) {
	hostToContainer := corev1.MountPropagationHostToContainer
	bidirectional := corev1.MountPropagationBidirectional
	none := corev1.MountPropagationNone
	bogus := corev1.MountPropagationMode("Sideways")
	pod := testPod(
		emptyDirVolume("data", "", ""),
		configMapVolume("cfg", "app"),
		secretVolume("creds", "db"),
		corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
	)
	paths := map[string]string{"data": "/pods/u/data", "cfg": "/pods/u/cfg", "creds": "/pods/u/creds", "host": "/var/log"}
	privileged := &corev1.SecurityContext{Privileged: ptr(true)}
	tests := []struct {
		name    string
		mounts  []corev1.VolumeMount
		sc      *corev1.SecurityContext
		want    []runtime.Mount
		wantErr string
	}{
		{
			name: "read-only, forced for API data",
			mounts: []corev1.VolumeMount{
				{Name: "data", MountPath: "/data"},
				{Name: "data", MountPath: "/ro", ReadOnly: true},
				{Name: "cfg", MountPath: "/etc/app"},
				{Name: "creds", MountPath: "/secrets", ReadOnly: false},
			},
			want: []runtime.Mount{
				{HostPath: "/pods/u/data", ContainerPath: "/data", Propagation: "rprivate"},
				{HostPath: "/pods/u/data", ContainerPath: "/ro", ReadOnly: true, Propagation: "rprivate"},
				{HostPath: "/pods/u/cfg", ContainerPath: "/etc/app", ReadOnly: true, Propagation: "rprivate"},
				{HostPath: "/pods/u/creds", ContainerPath: "/secrets", ReadOnly: true, Propagation: "rprivate"},
			},
		},
		{
			name: "propagation",
			mounts: []corev1.VolumeMount{
				{Name: "host", MountPath: "/a", MountPropagation: &none},
				{Name: "host", MountPath: "/b", MountPropagation: &hostToContainer},
				{Name: "host", MountPath: "/c", MountPropagation: &bidirectional},
			},
			sc: privileged,
			want: []runtime.Mount{
				{HostPath: "/var/log", ContainerPath: "/a", Propagation: "rprivate"},
				{HostPath: "/var/log", ContainerPath: "/b", Propagation: "rslave"},
				{HostPath: "/var/log", ContainerPath: "/c", Propagation: "rshared"},
			},
		},
		{
			name:    "bidirectional needs privileged",
			mounts:  []corev1.VolumeMount{{Name: "host", MountPath: "/c", MountPropagation: &bidirectional}},
			wantErr: `volumeMount "host" of container "app": Bidirectional mount propagation is available only to privileged containers`,
		},
		{
			name:    "invalid propagation",
			mounts:  []corev1.VolumeMount{{Name: "host", MountPath: "/c", MountPropagation: &bogus}},
			wantErr: `volumeMount "host" of container "app": invalid MountPropagation mode: "Sideways"`,
		},
		{
			name:    "unknown volume",
			mounts:  []corev1.VolumeMount{{Name: "nope", MountPath: "/x"}},
			wantErr: `cannot find volume "nope" to mount into container "app"`,
		},
		{
			name:    "relative mountPath",
			mounts:  []corev1.VolumeMount{{Name: "data", MountPath: "data"}},
			wantErr: `volumeMount "data" of container "app": mountPath "data" must be an absolute path`,
		},
		{name: "no mounts", want: []runtime.Mount{}},
	}
	m := New(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &corev1.Container{Name: "app", VolumeMounts: tt.mounts, SecurityContext: tt.sc}
			got, err := m.Mounts(pod, c, paths, nil)
			wantErr(t, err, tt.wantErr)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mounts\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "a", "LONG_NAME": "long"}
	mapping := func(name string) string {
		if v, ok := vars[name]; ok {
			return v
		}
		return "$(" + name + ")"
	}
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"$(A)", "a"},
		{"x/$(A)/$(LONG_NAME)/y", "x/a/long/y"},
		{"$$(A)", "$(A)"},
		{"$$", "$"},
		{"$", "$"},
		{"a$", "a$"},
		{"$x", "$x"},
		{"$(A", "$(A"},
		{"$(UNKNOWN)", "$(UNKNOWN)"},
		{"$()", "$()"},
	}
	for _, tt := range tests {
		if got := expand(tt.in, mapping); got != tt.want {
			t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
