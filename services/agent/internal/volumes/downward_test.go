package volumes

import (
	"context"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func downwardPod() *corev1.Pod {
	pod := testPod()
	pod.Labels = map[string]string{"app": "web", "tier": "front"}
	pod.Annotations = map[string]string{"note": `say "hi"`}
	pod.Spec.NodeName = "node-1"
	pod.Spec.ServiceAccountName = "builder"
	pod.Status.PodIP = "10.244.1.7"
	pod.Status.PodIPs = []corev1.PodIP{{IP: "10.244.1.7"}, {IP: "fd00::7"}}
	pod.Status.HostIP = "192.168.1.10"
	pod.Spec.Containers = []corev1.Container{{
		Name: "app",
		Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{
				corev1.ResourceMemory: resource.MustParse("64Mi"),
				corev1.ResourceCPU:    resource.MustParse("250m"),
			},
			Requests: corev1.ResourceList{
				corev1.ResourceMemory: resource.MustParse("32Mi"),
			},
		},
	}}
	pod.Spec.InitContainers = []corev1.Container{{Name: "setup"}}
	return pod
}

func TestDownwardAPIValues(t *testing.T) {
	allocatable := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("4"),
		corev1.ResourceMemory:           resource.MustParse("8Gi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	field := func(path string) corev1.DownwardAPIVolumeFile {
		return corev1.DownwardAPIVolumeFile{Path: "f", FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	res := func(container, name, divisor string) corev1.DownwardAPIVolumeFile {
		f := corev1.DownwardAPIVolumeFile{Path: "f", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: container, Resource: name}}
		if divisor != "" {
			f.ResourceFieldRef.Divisor = resource.MustParse(divisor)
		}
		return f
	}
	tests := []struct {
		name    string
		item    corev1.DownwardAPIVolumeFile
		want    string
		wantErr string
	}{
		{"name", field("metadata.name"), "web", ""},
		{"namespace", field("metadata.namespace"), "default", ""},
		{"uid", field("metadata.uid"), "0b6d8f3e-uid", ""},
		{"labels", field("metadata.labels"), "app=\"web\"\ntier=\"front\"", ""},
		{"annotations quoted", field("metadata.annotations"), `note="say \"hi\""`, ""},
		{"one label", field("metadata.labels['tier']"), "front", ""},
		{"one annotation", field("metadata.annotations['note']"), `say "hi"`, ""},
		{"missing label", field("metadata.labels['nope']"), "", ""},
		{"nodeName", field("spec.nodeName"), "node-1", ""},
		{"serviceAccountName", field("spec.serviceAccountName"), "builder", ""},
		{"podIP", field("status.podIP"), "10.244.1.7", ""},
		{"podIPs", field("status.podIPs"), "10.244.1.7,fd00::7", ""},
		{"hostIP", field("status.hostIP"), "192.168.1.10", ""},
		{"unsupported field", field("spec.hostname"), "", "unsupported fieldPath: spec.hostname"},

		{"limits.memory in Mi", res("app", "limits.memory", "1Mi"), "64", ""},
		{"limits.memory in bytes", res("app", "limits.memory", ""), "67108864", ""},
		{"limits.memory rounded up", res("app", "limits.memory", "1G"), "1", ""},
		{"requests.memory in Ki", res("app", "requests.memory", "1Ki"), "32768", ""},
		{"limits.cpu in millicores", res("app", "limits.cpu", "1m"), "250", ""},
		{"limits.cpu in cores rounds up", res("app", "limits.cpu", "1"), "1", ""},
		{"requests.cpu unset", res("app", "requests.cpu", "1m"), "0", ""},
		{"limits.cpu unset reads allocatable", res("setup", "limits.cpu", ""), "4", ""},
		{"limits.memory unset reads allocatable", res("setup", "limits.memory", "1Gi"), "8", ""},
		{"limits.ephemeral-storage unset", res("app", "limits.ephemeral-storage", "1Gi"), "100", ""},
		{"unknown container", res("nope", "limits.cpu", ""), "", "container nope not found"},
		{"unsupported resource", res("app", "limits.gpu", ""), "", "unsupported container resource : limits.gpu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := downwardAPIPayload([]corev1.DownwardAPIVolumeFile{tt.item}, downwardPod(), allocatable, 0o644)
			wantErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				return
			}
			if got := string(p["f"].Data); got != tt.want {
				t.Errorf("value %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDownwardAPIVolume(t *testing.T) {
	m, _, podDir := newManager(t)
	m.allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
	pod := downwardPod()
	pod.Spec.Volumes = []corev1.Volume{{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
		DefaultMode: ptr[int32](0o444),
		Items: []corev1.DownwardAPIVolumeFile{
			{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}, Mode: ptr[int32](0o400)},
			{Path: "limits/mem_mb", ResourceFieldRef: &corev1.ResourceFieldSelector{
				ContainerName: "app", Resource: "limits.memory", Divisor: resource.MustParse("1Mi"),
			}},
		},
	}}}}
	paths, err := m.Setup(context.Background(), pod, podDir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(podDir, "volumes", downwardAPIPlugin, "info"); paths["info"] != want {
		t.Fatalf("host path %q, want %q", paths["info"], want)
	}
	checkAtomicVolume(t, paths["info"], map[string]file{
		"name":          {"web", 0o444},
		"labels":        {"app=\"web\"\ntier=\"front\"", 0o400},
		"limits/mem_mb": {"64", 0o444},
	})

	// Unresolvable items are all reported, named as kubelet names them.
	pod.Spec.Volumes[0].DownwardAPI.Items = append(pod.Spec.Volumes[0].DownwardAPI.Items,
		corev1.DownwardAPIVolumeFile{Path: "x", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.bogus"}},
		corev1.DownwardAPIVolumeFile{Path: "y", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "gone", Resource: "limits.cpu"}},
	)
	wantErr(t, m.Refresh(context.Background(), pod, podDir),
		`MountVolume.SetUp failed for volume "info" : [unsupported fieldPath: spec.bogus, container gone not found]`)
}
