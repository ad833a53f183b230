package volumes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func emptyDirVolume(name string, medium corev1.StorageMedium, sizeLimit string) corev1.Volume {
	src := &corev1.EmptyDirVolumeSource{Medium: medium}
	if sizeLimit != "" {
		q := resource.MustParse(sizeLimit)
		src.SizeLimit = &q
	}
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: src}}
}

func TestEmptyDir(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name        string
		vol         corev1.Volume
		memoryLimit string // of the pod's one container
		allocatable string
		wantTmpfs   string // the size option mountinfo shows; "" for no tmpfs
		wantMode    os.FileMode
	}{
		{name: "disk", vol: emptyDirVolume("scratch", "", ""), wantMode: 0o777},
		{name: "disk ignores sizeLimit", vol: emptyDirVolume("scratch", "", "1Mi"), wantMode: 0o777},
		{name: "memory with sizeLimit", vol: emptyDirVolume("shm", corev1.StorageMediumMemory, "16Mi"),
			allocatable: "1Gi", wantTmpfs: "size=16384k", wantMode: 0o777 | os.ModeSticky},
		{name: "memory sized by the pod limit", vol: emptyDirVolume("shm", corev1.StorageMediumMemory, ""),
			memoryLimit: "32Mi", allocatable: "1Gi", wantTmpfs: "size=32768k", wantMode: 0o777 | os.ModeSticky},
		{name: "memory sizeLimit above the pod limit", vol: emptyDirVolume("shm", corev1.StorageMediumMemory, "64Mi"),
			memoryLimit: "32Mi", allocatable: "1Gi", wantTmpfs: "size=32768k", wantMode: 0o777 | os.ModeSticky},
		{name: "memory sized by allocatable", vol: emptyDirVolume("shm", corev1.StorageMediumMemory, ""),
			allocatable: "48Mi", wantTmpfs: "size=49152k", wantMode: 0o777 | os.ModeSticky},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, podDir := newManager(t)
			if tt.allocatable != "" {
				m.allocatable = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(tt.allocatable)}
			}
			pod := testPod(tt.vol)
			if tt.memoryLimit != "" {
				pod.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(tt.memoryLimit)}
			}
			paths, err := m.Setup(context.Background(), pod, podDir)
			if err != nil {
				t.Fatal(err)
			}
			dir := paths[tt.vol.Name]
			if want := filepath.Join(podDir, "volumes/kubernetes.io~empty-dir", tt.vol.Name); dir != want {
				t.Fatalf("host path %q, want %q", dir, want)
			}
			if got := perm(t, dir); got != tt.wantMode {
				t.Errorf("mode %v, want %v", got, tt.wantMode)
			}
			mounts := mountsUnder(t, dir)
			if tt.wantTmpfs == "" {
				if len(mounts) != 0 {
					t.Fatalf("mounts %+v, want none", mounts)
				}
				return
			}
			if len(mounts) != 1 || mounts[0].fsType != "tmpfs" || !hasOption(mounts[0].superOptions, tt.wantTmpfs) {
				t.Fatalf("mounts %+v, want one tmpfs with %s", mounts, tt.wantTmpfs)
			}
		})
	}
}

func hasOption(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

func TestSetupIsIdempotent(t *testing.T) {
	requireRoot(t)
	m, src, podDir := newManager(t)
	src.setSecret("db", map[string]string{"password": "x"})
	pod := testPod(
		emptyDirVolume("scratch", "", ""),
		emptyDirVolume("shm", corev1.StorageMediumMemory, "1Mi"),
		secretVolume("creds", "db"),
	)
	paths, err := m.Setup(context.Background(), pod, podDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"scratch", "shm"} {
		if err := os.WriteFile(filepath.Join(paths[name], "data"), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	again, err := m.Setup(context.Background(), pod, podDir)
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range paths {
		if again[name] != path {
			t.Errorf("%s: second Setup returned %q, first %q", name, again[name], path)
		}
	}
	for _, name := range []string{"scratch", "shm"} {
		if got := readFile(t, filepath.Join(paths[name], "data")); got != name {
			t.Errorf("%s lost its content: %q", name, got)
		}
	}
	if mounts := mountsUnder(t, podDir); len(mounts) != 2 {
		t.Errorf("after two Setups: mounts %+v, want one tmpfs each for shm and creds", mounts)
	}
}

func TestUnsupportedVolumes(t *testing.T) {
	m, _, podDir := newManager(t)
	pod := testPod(
		corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			NFS: &corev1.NFSVolumeSource{Server: "nfs.example.com", Path: "/exports/data"},
		}},
		emptyDirVolume("huge", corev1.StorageMediumHugePages, ""),
	)
	_, err := m.Setup(context.Background(), pod, podDir)
	wantErr(t, err, `MountVolume.SetUp failed for volume "data" : volume type nfs is not supported`+"\n"+
		`MountVolume.SetUp failed for volume "huge" : unknown storage medium "HugePages"`)
}

func TestMemoryBackedSize(t *testing.T) {
	mi := func(n int64) int64 { return n << 20 }
	limits := func(mem string) corev1.ResourceRequirements {
		if mem == "" {
			return corev1.ResourceRequirements{}
		}
		return corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(mem)}}
	}
	always := corev1.ContainerRestartPolicyAlways
	tests := []struct {
		name        string
		containers  []string // memory limits, "" for none
		inits       []string
		sidecars    []string
		overhead    string
		allocatable string
		sizeLimit   int64
		want        int64
	}{
		{name: "nothing known", containers: []string{""}, want: 0},
		{name: "allocatable only", containers: []string{""}, allocatable: "1Gi", want: mi(1024)},
		{name: "sizeLimit only", containers: []string{""}, sizeLimit: mi(8), want: mi(8)},
		{name: "sum of limits", containers: []string{"10Mi", "20Mi"}, allocatable: "1Gi", want: mi(30)},
		{name: "one container without a limit", containers: []string{"10Mi", ""}, allocatable: "1Gi", want: mi(1024)},
		{name: "init container larger", containers: []string{"10Mi"}, inits: []string{"50Mi"}, want: mi(50)},
		{name: "sidecar adds", containers: []string{"10Mi"}, sidecars: []string{"5Mi"}, inits: []string{"12Mi"}, want: mi(17)},
		{name: "overhead adds", containers: []string{"10Mi"}, overhead: "1Mi", want: mi(11)},
		{name: "sizeLimit smallest", containers: []string{"10Mi"}, allocatable: "1Gi", sizeLimit: mi(4), want: mi(4)},
		{name: "allocatable smallest", containers: []string{"10Mi"}, allocatable: "2Mi", sizeLimit: mi(4), want: mi(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := testPod()
			pod.Spec.Containers = nil
			for _, l := range tt.containers {
				pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Resources: limits(l)})
			}
			for _, l := range tt.sidecars {
				pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{Resources: limits(l), RestartPolicy: &always})
			}
			for _, l := range tt.inits {
				pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{Resources: limits(l)})
			}
			if tt.overhead != "" {
				pod.Spec.Overhead = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(tt.overhead)}
			}
			allocatable := corev1.ResourceList{}
			if tt.allocatable != "" {
				allocatable[corev1.ResourceMemory] = resource.MustParse(tt.allocatable)
			}
			var sizeLimit *int64
			if tt.sizeLimit != 0 {
				sizeLimit = &tt.sizeLimit
			}
			if got := memoryBackedSize(pod, allocatable, sizeLimit); got != tt.want {
				t.Errorf("size %d, want %d", got, tt.want)
			}
		})
	}
}
