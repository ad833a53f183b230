package volumes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// fakeClaims serves claims and volumes from memory.
type fakeClaims struct {
	claims  map[string]*corev1.PersistentVolumeClaim
	volumes map[string]*corev1.PersistentVolume
}

func (f fakeClaims) PersistentVolumeClaim(_ context.Context, ns, name string) (*corev1.PersistentVolumeClaim, error) {
	if c, ok := f.claims[ns+"/"+name]; ok {
		return c, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("persistentvolumeclaims"), name)
}

func (f fakeClaims) PersistentVolume(_ context.Context, name string) (*corev1.PersistentVolume, error) {
	if pv, ok := f.volumes[name]; ok {
		return pv, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("persistentvolumes"), name)
}

func boundClaim(name, volume string) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID(name + "-uid")}}
	if volume != "" {
		c.Spec.VolumeName = volume
		c.Status.Phase = corev1.ClaimBound
	} else {
		c.Status.Phase = corev1.ClaimPending
	}
	return c
}

func claimVolume(name string, claim *corev1.PersistentVolumeClaim, src corev1.PersistentVolumeSource) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
		PersistentVolumeSource: src,
		ClaimRef:               &corev1.ObjectReference{Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID},
	}}
}

func claimVol(name, claim string, readOnly bool) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: readOnly}}}
}

func TestClaimVolumes(t *testing.T) {
	host := t.TempDir()
	dataDir := filepath.Join(host, "pvc-data-uid_default_data")
	localDir := filepath.Join(host, "disk")
	if err := os.Mkdir(localDir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := boundClaim("data", "pvc-data-uid")
	local := boundClaim("local", "local-pv")
	other := boundClaim("other", "taken")
	nfs := boundClaim("nfs", "nfs-pv")
	src := fakeClaims{
		claims: map[string]*corev1.PersistentVolumeClaim{
			"default/data": data, "default/local": local, "default/pending": boundClaim("pending", ""),
			"default/other": other, "default/nfs": nfs, "default/lost": boundClaim("lost", "gone"),
		},
		volumes: map[string]*corev1.PersistentVolume{
			"pvc-data-uid": claimVolume("pvc-data-uid", data, corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: dataDir, Type: ptr(corev1.HostPathDirectoryOrCreate)}}),
			"local-pv": claimVolume("local-pv", local, corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: localDir}}),
			"taken":    claimVolume("taken", boundClaim("someone-else", ""), corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: host}}),
			"nfs-pv":   claimVolume("nfs-pv", nfs, corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "/x"}}),
		},
	}
	m := New(Config{Claims: src})
	podDir := t.TempDir()

	t.Run("hostPath volume is created and used in place", func(t *testing.T) {
		pod := testPod(claimVol("data", "data", false), claimVol("disk", "local", true))
		pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "disk", MountPath: "/disk"}}
		paths, err := m.Setup(context.Background(), pod, podDir)
		if err != nil {
			t.Fatal(err)
		}
		if paths["data"] != dataDir || paths["disk"] != localDir {
			t.Errorf("paths = %v", paths)
		}
		if fi, err := os.Stat(dataDir); err != nil || !fi.IsDir() {
			t.Errorf("volume directory not created: %v", err)
		}
		mounts, err := m.Mounts(pod, &pod.Spec.Containers[0], paths, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(mounts) != 2 || mounts[0].ReadOnly || !mounts[1].ReadOnly {
			t.Errorf("mounts = %+v, want data read-write and disk read-only", mounts)
		}
	})

	for _, tt := range []struct{ claim, want string }{
		{"pending", "error processing PVC default/pending: PVC is not bound"},
		{"missing", `persistentvolumeclaim "missing" not found`},
		{"lost", `error processing PVC default/lost: persistentvolume "gone" not found`},
		{"other", "error processing PVC default/other: volume taken is not bound to it"},
		{"nfs", "volume type nfs is not supported"},
	} {
		t.Run(tt.claim, func(t *testing.T) {
			_, err := m.Setup(context.Background(), testPod(claimVol("v", tt.claim, false)), podDir)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), `MountVolume.SetUp failed for volume "v" : `) {
				t.Errorf("Setup error = %v, want %q", err, tt.want)
			}
		})
	}

	t.Run("no claim source", func(t *testing.T) {
		_, err := New(Config{}).Setup(context.Background(), testPod(claimVol("v", "data", false)), podDir)
		if err == nil || !strings.Contains(err.Error(), "no source of persistent volume claims") {
			t.Errorf("Setup error = %v", err)
		}
	})
}
