package volumes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

func configMapVolume(name, cm string, mutate ...func(*corev1.ConfigMapVolumeSource)) corev1.Volume {
	src := &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm}}
	for _, f := range mutate {
		f(src)
	}
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: src}}
}

func secretVolume(name, secret string, mutate ...func(*corev1.SecretVolumeSource)) corev1.Volume {
	src := &corev1.SecretVolumeSource{SecretName: secret}
	for _, f := range mutate {
		f(src)
	}
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: src}}
}

// file is what a test expects at a path of an atomic volume.
type file struct {
	content string
	mode    os.FileMode
}

// checkAtomicVolume checks the atomic-writer layout of dir and that the
// user-visible paths are exactly want.
func checkAtomicVolume(t *testing.T, dir string, want map[string]file) {
	t.Helper()
	ts := readlink(t, filepath.Join(dir, dataDirName))
	if !isTsDirName(ts) || strings.Contains(ts, "/") {
		t.Fatalf("..data -> %q, want a sibling timestamped directory", ts)
	}
	for name, f := range want {
		path := filepath.Join(dir, name)
		if got := readFile(t, path); got != f.content {
			t.Errorf("%s: content %q, want %q", name, got, f.content)
		}
		if got := perm(t, path); got != f.mode {
			t.Errorf("%s: mode %v, want %v", name, got, f.mode)
		}
		top, _, _ := strings.Cut(name, "/")
		if got := readlink(t, filepath.Join(dir, top)); got != filepath.Join(dataDirName, top) {
			t.Errorf("%s -> %q, want ..data/%s", top, got, top)
		}
		// The data itself lives in the timestamped directory.
		if _, err := os.Lstat(filepath.Join(dir, ts, name)); err != nil {
			t.Errorf("%s not in %s: %v", name, ts, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var visible []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") {
			visible = append(visible, e.Name())
		}
	}
	tops := map[string]bool{}
	for name := range want {
		top, _, _ := strings.Cut(name, "/")
		tops[top] = true
	}
	if len(visible) != len(tops) {
		t.Errorf("visible entries %v, want the top-level paths of %v", visible, want)
	}
}

func TestConfigMapAndSecretVolumes(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name    string
		vol     corev1.Volume
		want    map[string]file // nil when an error is expected
		wantErr string
	}{
		{
			name: "configMap all keys with defaultMode",
			vol:  configMapVolume("cfg", "app", func(s *corev1.ConfigMapVolumeSource) { s.DefaultMode = ptr[int32](0o400) }),
			want: map[string]file{"a.conf": {"A", 0o400}, "b.conf": {"B", 0o400}, "bin": {"\x00\x01", 0o400}},
		},
		{
			name: "configMap items with paths and modes",
			vol: configMapVolume("cfg", "app", func(s *corev1.ConfigMapVolumeSource) {
				s.Items = []corev1.KeyToPath{
					{Key: "a.conf", Path: "etc/nested/a", Mode: ptr[int32](0o600)},
					{Key: "bin", Path: "bin.dat"},
				}
			}),
			want: map[string]file{"etc/nested/a": {"A", 0o600}, "bin.dat": {"\x00\x01", 0o644}},
		},
		{
			name:    "configMap missing",
			vol:     configMapVolume("cfg", "x"),
			wantErr: `MountVolume.SetUp failed for volume "cfg" : configmap "x" not found`,
		},
		{
			name: "configMap missing but optional",
			vol:  configMapVolume("cfg", "x", func(s *corev1.ConfigMapVolumeSource) { s.Optional = ptr(true) }),
			want: map[string]file{},
		},
		{
			name: "configMap item with missing key",
			vol: configMapVolume("cfg", "app", func(s *corev1.ConfigMapVolumeSource) {
				s.Items = []corev1.KeyToPath{{Key: "nope", Path: "nope"}}
			}),
			wantErr: `MountVolume.SetUp failed for volume "cfg" : configmap references non-existent config key: nope`,
		},
		{
			name: "configMap item with missing key, optional",
			vol: configMapVolume("cfg", "app", func(s *corev1.ConfigMapVolumeSource) {
				s.Optional = ptr(true)
				s.Items = []corev1.KeyToPath{{Key: "nope", Path: "nope"}, {Key: "a.conf", Path: "a"}}
			}),
			want: map[string]file{"a": {"A", 0o644}},
		},
		{
			name: "configMap item path escaping the volume",
			vol: configMapVolume("cfg", "app", func(s *corev1.ConfigMapVolumeSource) {
				s.Items = []corev1.KeyToPath{{Key: "a.conf", Path: "../a"}}
			}),
			wantErr: `MountVolume.SetUp failed for volume "cfg" : invalid path: must not contain '..': ../a`,
		},
		{
			name: "secret",
			vol:  secretVolume("creds", "db", func(s *corev1.SecretVolumeSource) { s.DefaultMode = ptr[int32](0o440) }),
			want: map[string]file{"user": {"admin", 0o440}, "password": {"s3cret", 0o440}},
		},
		{
			name: "secret items",
			vol: secretVolume("creds", "db", func(s *corev1.SecretVolumeSource) {
				s.Items = []corev1.KeyToPath{{Key: "password", Path: "pw/db", Mode: ptr[int32](0o400)}}
			}),
			want: map[string]file{"pw/db": {"s3cret", 0o400}},
		},
		{
			name:    "secret missing",
			vol:     secretVolume("creds", "nope"),
			wantErr: `MountVolume.SetUp failed for volume "creds" : secret "nope" not found`,
		},
		{
			name: "secret missing but optional",
			vol:  secretVolume("creds", "nope", func(s *corev1.SecretVolumeSource) { s.Optional = ptr(true) }),
			want: map[string]file{},
		},
		{
			name: "secret item with missing key",
			vol: secretVolume("creds", "db", func(s *corev1.SecretVolumeSource) {
				s.Items = []corev1.KeyToPath{{Key: "token", Path: "token"}}
			}),
			wantErr: `MountVolume.SetUp failed for volume "creds" : references non-existent secret key: token`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, src, podDir := newManager(t)
			src.setConfigMap("app", map[string]string{"a.conf": "A", "b.conf": "B"})
			src.configMaps["default/app"].BinaryData = map[string][]byte{"bin": {0, 1}}
			src.setSecret("db", map[string]string{"user": "admin", "password": "s3cret"})

			paths, err := m.Setup(context.Background(), testPod(tt.vol), podDir)
			wantErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				if strings.Contains(tt.wantErr, "not found") && !apierrors.IsNotFound(err) {
					t.Errorf("apierrors.IsNotFound(%v) = false", err)
				}
				return
			}
			dir := paths[tt.vol.Name]
			plugin := configMapPlugin
			if tt.vol.Secret != nil {
				plugin = secretPlugin
			}
			if want := volumeDir(podDir, plugin, tt.vol.Name); dir != want {
				t.Fatalf("host path %q, want %q", dir, want)
			}
			checkAtomicVolume(t, dir, tt.want)

			mounts := mountsUnder(t, dir)
			if tt.vol.Secret != nil && (len(mounts) != 1 || mounts[0].fsType != "tmpfs") {
				t.Errorf("secret volume mounts %+v, want one tmpfs", mounts)
			}
			if tt.vol.ConfigMap != nil && len(mounts) != 0 {
				t.Errorf("configMap volume mounts %+v, want none", mounts)
			}
		})
	}
}

func TestProjectedVolume(t *testing.T) {
	requireRoot(t)
	projected := func(sources ...corev1.VolumeProjection) corev1.Volume {
		return corev1.Volume{Name: "all", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: sources, DefaultMode: ptr[int32](0o440),
		}}}
	}
	cmSource := corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{
		LocalObjectReference: corev1.LocalObjectReference{Name: "app"},
		Items:                []corev1.KeyToPath{{Key: "a.conf", Path: "config/a.conf"}},
	}}
	secretSource := corev1.VolumeProjection{Secret: &corev1.SecretProjection{
		LocalObjectReference: corev1.LocalObjectReference{Name: "db"},
		Items:                []corev1.KeyToPath{{Key: "password", Path: "password", Mode: ptr[int32](0o400)}},
	}}
	downwardSource := corev1.VolumeProjection{DownwardAPI: &corev1.DownwardAPIProjection{
		Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
	}}
	tokenSource := corev1.VolumeProjection{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}
	missingOptional := corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{
		LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: ptr(true),
	}}
	missing := corev1.VolumeProjection{Secret: &corev1.SecretProjection{
		LocalObjectReference: corev1.LocalObjectReference{Name: "gone"},
	}}

	tests := []struct {
		name    string
		vol     corev1.Volume
		want    map[string]file
		wantErr string
	}{
		{
			name: "configMap, secret and downwardAPI",
			vol:  projected(cmSource, secretSource, downwardSource, missingOptional),
			want: map[string]file{
				"config/a.conf": {"A", 0o440},
				"password":      {"s3cret", 0o400},
				"namespace":     {"default", 0o440},
			},
		},
		{
			name:    "serviceAccountToken",
			vol:     projected(cmSource, tokenSource),
			wantErr: `MountVolume.SetUp failed for volume "all" : serviceAccountToken projections are not supported yet`,
		},
		{
			name:    "several failures",
			vol:     projected(missing, tokenSource),
			wantErr: `MountVolume.SetUp failed for volume "all" : [secret "gone" not found, serviceAccountToken projections are not supported yet]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, src, podDir := newManager(t)
			src.setConfigMap("app", map[string]string{"a.conf": "A"})
			src.setSecret("db", map[string]string{"password": "s3cret"})

			paths, err := m.Setup(context.Background(), testPod(tt.vol), podDir)
			wantErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				return
			}
			dir := paths["all"]
			checkAtomicVolume(t, dir, tt.want)
			if mounts := mountsUnder(t, dir); len(mounts) != 1 || mounts[0].fsType != "tmpfs" {
				t.Errorf("projected volume mounts %+v, want one tmpfs", mounts)
			}
		})
	}
}

func TestRefreshUpdatesAtomically(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	m, src, podDir := newManager(t)
	src.setConfigMap("app", map[string]string{"keep": "1", "change": "old", "drop": "x"})
	src.setSecret("db", map[string]string{"password": "old"})
	pod := testPod(
		configMapVolume("cfg", "app"),
		secretVolume("creds", "db"),
		corev1.Volume{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
			Items: []corev1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}},
		}}},
	)
	pod.Labels = map[string]string{"app": "web"}

	paths, err := m.Setup(ctx, pod, podDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := paths["cfg"]
	before := readlink(t, filepath.Join(cfg, dataDirName))
	secretBefore := readlink(t, filepath.Join(paths["creds"], dataDirName))

	// An unchanged source writes nothing.
	if err := m.Refresh(ctx, pod, podDir); err != nil {
		t.Fatal(err)
	}
	if got := readlink(t, filepath.Join(cfg, dataDirName)); got != before {
		t.Fatalf("Refresh without changes moved ..data from %s to %s", before, got)
	}

	// A reader holding the old version keeps seeing it whole.
	old, err := os.Open(filepath.Join(cfg, "change"))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()

	src.setConfigMap("app", map[string]string{"keep": "1", "change": "new", "added": "+"})
	pod = pod.DeepCopy()
	pod.Labels["tier"] = "front"
	if err := m.Refresh(ctx, pod, podDir); err != nil {
		t.Fatal(err)
	}

	after := readlink(t, filepath.Join(cfg, dataDirName))
	if after == before {
		t.Fatalf("..data still points to %s after an update", before)
	}
	if _, err := os.Lstat(filepath.Join(cfg, before)); !os.IsNotExist(err) {
		t.Errorf("old data dir %s not removed: %v", before, err)
	}
	checkAtomicVolume(t, cfg, map[string]file{"keep": {"1", 0o644}, "change": {"new", 0o644}, "added": {"+", 0o644}})
	if _, err := os.Lstat(filepath.Join(cfg, "drop")); !os.IsNotExist(err) {
		t.Errorf("symlink of the dropped key still there: %v", err)
	}
	buf := make([]byte, 8)
	n, _ := old.Read(buf)
	if string(buf[:n]) != "old" {
		t.Errorf("open reader saw %q, want the old content", buf[:n])
	}

	// The secret did not change; the labels did.
	if got := readlink(t, filepath.Join(paths["creds"], dataDirName)); got != secretBefore {
		t.Errorf("unchanged secret rewritten: %s -> %s", secretBefore, got)
	}
	if got, want := readFile(t, filepath.Join(paths["info"], "labels")), "app=\"web\"\ntier=\"front\""; got != want {
		t.Errorf("labels %q, want %q", got, want)
	}

	// A source that disappears is an error and leaves the files as they were.
	delete(src.configMaps, "default/app")
	wantErr(t, m.Refresh(ctx, pod, podDir), `MountVolume.SetUp failed for volume "cfg" : configmap "app" not found`)
	if got := readFile(t, filepath.Join(cfg, "change")); got != "new" {
		t.Errorf("after a failed refresh: %q, want %q", got, "new")
	}
}

func TestRefreshSkipsVolumesNotSetUp(t *testing.T) {
	m, src, podDir := newManager(t)
	src.setSecret("db", map[string]string{"password": "x"})
	if err := m.Refresh(context.Background(), testPod(secretVolume("creds", "db")), podDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(podDir, "volumes")); !os.IsNotExist(err) {
		t.Fatalf("Refresh before Setup wrote to the pod directory: %v", err)
	}
}

func TestFSGroup(t *testing.T) {
	requireRoot(t)
	m, src, podDir := newManager(t)
	src.setConfigMap("app", map[string]string{"a": "A"})
	pod := testPod(
		configMapVolume("cfg", "app", func(s *corev1.ConfigMapVolumeSource) { s.DefaultMode = ptr[int32](0o400) }),
		corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	)
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr[int64](4242)}
	paths, err := m.Setup(context.Background(), pod, podDir)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		path string
		mode os.FileMode
	}{
		{filepath.Join(paths["cfg"], "a"), 0o440},                         // 0400 | group read
		{filepath.Join(paths["cfg"], dataDirName), 0o755 | os.ModeSetgid}, // the data dir
		{paths["scratch"], 0o777 | os.ModeSetgid},
	}
	for _, c := range checks {
		if got := perm(t, c.path); got != c.mode {
			t.Errorf("%s: mode %v, want %v", c.path, got, c.mode)
		}
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if gid := statGID(fi); gid != 4242 {
			t.Errorf("%s: gid %d, want 4242", c.path, gid)
		}
	}
	// Refresh compares modes as written: nothing changes.
	before := readlink(t, filepath.Join(paths["cfg"], dataDirName))
	if err := m.Refresh(context.Background(), pod, podDir); err != nil {
		t.Fatal(err)
	}
	if after := readlink(t, filepath.Join(paths["cfg"], dataDirName)); after != before {
		t.Errorf("Refresh rewrote an unchanged volume with fsGroup")
	}
}

func TestNestedMountpoints(t *testing.T) {
	m, src, podDir := newManager(t)
	src.setConfigMap("app", map[string]string{"a": "A"})
	pod := testPod(
		configMapVolume("cfg", "app"),
		corev1.Volume{Name: "certs", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	)
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
		{Name: "cfg", MountPath: "/etc/app"},
		{Name: "certs", MountPath: "/etc/app/tls/certs"},
	}
	paths, err := m.Setup(context.Background(), pod, podDir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(paths["cfg"], "tls/certs"))
	if err != nil || !fi.IsDir() {
		t.Fatalf("mount point for the nested volume not created: %v", err)
	}
	if got := readFile(t, filepath.Join(paths["cfg"], "a")); got != "A" {
		t.Errorf("a = %q alongside the mount point", got)
	}
}

func TestConcurrentRefresh(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	m, src, podDir := newManager(t)
	src.setConfigMap("app", map[string]string{"k": "start"})
	pod := testPod(configMapVolume("cfg", "app"))
	paths, err := m.Setup(ctx, pod, podDir)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 25 {
				src.setConfigMap("app", map[string]string{"k": fmt.Sprint(i, j)})
				if err := m.Refresh(ctx, pod, podDir); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := m.Refresh(ctx, pod, podDir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(paths["cfg"])
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// ReadDir sorts: the data directory ("..2...") comes before "..data".
	if len(names) != 3 || !isTsDirName(names[0]) || names[1] != dataDirName || names[2] != "k" {
		t.Errorf("volume holds %v, want ..data, one data directory and k", names)
	}
}
