package storageutil

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAccessModesString(t *testing.T) {
	tests := []struct {
		modes []corev1.PersistentVolumeAccessMode
		want  string
	}{
		{nil, ""},
		{[]corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, "RWO"},
		{[]corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOnce}, "RWO,RWX"},
		{[]corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadOnlyMany}, "ROX,RWOP"},
	}
	for _, tt := range tests {
		if got := AccessModesString(tt.modes); got != tt.want {
			t.Errorf("AccessModesString(%v) = %q, want %q", tt.modes, got, tt.want)
		}
	}
}

func TestClasses(t *testing.T) {
	fast := "fast"
	empty := ""
	tests := []struct {
		name string
		pvc  *corev1.PersistentVolumeClaim
		want string
	}{
		{"spec", &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &fast}}, "fast"},
		{"explicitly none", &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{AnnBetaStorageClass: "slow"}},
			Spec:       corev1.PersistentVolumeClaimSpec{StorageClassName: &empty}}, ""},
		{"beta annotation", &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{AnnBetaStorageClass: "slow"}}}, "slow"},
		{"none", &corev1.PersistentVolumeClaim{}, ""},
	}
	for _, tt := range tests {
		if got := ClaimClass(tt.pvc); got != tt.want {
			t.Errorf("%s: ClaimClass = %q, want %q", tt.name, got, tt.want)
		}
	}
	if !IsDefaultClass(LocalPathStorageClass().ObjectMeta) {
		t.Error("local-path is not the default class")
	}
	if IsDefaultClass(metav1.ObjectMeta{Annotations: map[string]string{AnnIsDefaultClass: "false"}}) {
		t.Error(`"false" counts as default`)
	}
}
