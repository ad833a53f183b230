package registry

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/libs/storageutil"
)

func storageClass(name string, isDefault bool, created time.Time, expand bool) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)},
		Provisioner: "example.com/" + name, AllowVolumeExpansion: &expand}
	if isDefault {
		sc.Annotations = map[string]string{storageutil.AnnIsDefaultClass: "true"}
	}
	return sc
}

func TestSetDefaultClass(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fast := storageClass("fast", false, t0, false)
	local := storageClass("local-path", true, t0, false)
	newer := storageClass("newer", true, t0.Add(time.Hour), false)
	sameAge := storageClass("alpha", true, t0, false)
	tests := []struct {
		name    string
		class   *string
		beta    string
		classes []*storagev1.StorageClass
		want    string // "<nil>" for no class set
	}{
		{"no default class", nil, "", []*storagev1.StorageClass{fast}, "<nil>"},
		{"the default class", nil, "", []*storagev1.StorageClass{fast, local}, "local-path"},
		{"newest of several defaults", nil, "", []*storagev1.StorageClass{local, newer}, "newer"},
		{"first by name among defaults of one age", nil, "", []*storagev1.StorageClass{local, sameAge}, "alpha"},
		{"a class given is kept", new("fast"), "", []*storagev1.StorageClass{local}, "fast"},
		{"no class, explicitly", new(""), "", []*storagev1.StorageClass{local}, ""},
		{"a beta annotation counts as a class", nil, "fast", []*storagev1.StorageClass{local}, "<nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pvc := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: tt.class}}
			if tt.beta != "" {
				pvc.Annotations = map[string]string{storageutil.AnnBetaStorageClass: tt.beta}
			}
			setDefaultClass(pvc, tt.classes)
			got := "<nil>"
			if pvc.Spec.StorageClassName != nil {
				got = *pvc.Spec.StorageClassName
			}
			if got != tt.want {
				t.Errorf("class = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCheckClaimResize(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	classes := []*storagev1.StorageClass{storageClass("fixed", false, t0, false), storageClass("elastic", false, t0, true)}
	claim := func(class, size string, phase corev1.PersistentVolumeClaimPhase) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class,
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}},
			Status: corev1.PersistentVolumeClaimStatus{Phase: phase},
		}
	}
	tests := []struct {
		name      string
		old, new  *corev1.PersistentVolumeClaim
		forbidden string
	}{
		{"same size", claim("fixed", "1Gi", corev1.ClaimBound), claim("fixed", "1Gi", corev1.ClaimBound), ""},
		{"growth allowed by the class", claim("elastic", "1Gi", corev1.ClaimBound), claim("elastic", "2Gi", corev1.ClaimBound), ""},
		{"growth of a pending claim", claim("elastic", "1Gi", corev1.ClaimPending), claim("elastic", "2Gi", corev1.ClaimPending),
			"Only bound persistent volume claims can be expanded"},
		{"growth not allowed by the class", claim("fixed", "1Gi", corev1.ClaimBound), claim("fixed", "2Gi", corev1.ClaimBound),
			"only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"},
		{"growth with an unknown class", claim("gone", "1Gi", corev1.ClaimBound), claim("gone", "2Gi", corev1.ClaimBound),
			"must support resize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkClaimResize(tt.new, tt.old, classes)
			switch {
			case tt.forbidden == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.forbidden != "" && (!apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tt.forbidden)):
				t.Errorf("error = %v, want 403 with %q", err, tt.forbidden)
			}
		})
	}
}
