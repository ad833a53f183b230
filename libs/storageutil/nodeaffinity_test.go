package storageutil

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestVolumeNodeMatches(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1",
		Labels: map[string]string{LabelHostname: "n1", "zone": "a", "disks": "4"}}}
	affinity := func(terms ...corev1.NodeSelectorTerm) *corev1.VolumeNodeAffinity {
		return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: terms}}
	}
	expr := func(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: values}}}
	}
	tests := []struct {
		name     string
		affinity *corev1.VolumeNodeAffinity
		want     bool
		wantErr  bool
	}{
		{"no affinity", nil, true, false},
		{"hostname", HostnameAffinity("n1"), true, false},
		{"other host", HostnameAffinity("n2"), false, false},
		{"terms are ORed", affinity(expr("zone", corev1.NodeSelectorOpIn, "b"), expr("zone", corev1.NodeSelectorOpIn, "a")), true, false},
		{"NotIn", affinity(expr("zone", corev1.NodeSelectorOpNotIn, "a")), false, false},
		{"Exists", affinity(expr("zone", corev1.NodeSelectorOpExists)), true, false},
		{"DoesNotExist", affinity(expr("gpu", corev1.NodeSelectorOpDoesNotExist)), true, false},
		{"Gt", affinity(expr("disks", corev1.NodeSelectorOpGt, "2")), true, false},
		{"Lt", affinity(expr("disks", corev1.NodeSelectorOpLt, "2")), false, false},
		{"matchFields", affinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}}}), true, false},
		{"empty term", affinity(corev1.NodeSelectorTerm{}), false, false},
		{"bad operator", affinity(expr("zone", "Near", "a")), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv := &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{NodeAffinity: tt.affinity}}
			got, err := VolumeNodeMatches(pv, node)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("VolumeNodeMatches = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestAffinityHostname(t *testing.T) {
	pv := &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{NodeAffinity: HostnameAffinity("n1")}}
	if got := AffinityHostname(pv); got != "n1" {
		t.Errorf("AffinityHostname = %q, want n1", got)
	}
	if got := AffinityHostname(&corev1.PersistentVolume{}); got != "" {
		t.Errorf("AffinityHostname of no affinity = %q", got)
	}
}
