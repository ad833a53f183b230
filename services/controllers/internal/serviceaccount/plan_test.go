package serviceaccount

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestToCreate(t *testing.T) {
	now := metav1.Now()
	active := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	for _, tc := range []struct {
		name string
		ns   *corev1.Namespace
		want []string
		have []string
		out  []string
	}{
		{"new namespace", active, []string{"default"}, nil, []string{"default"}},
		{"has it", active, []string{"default"}, []string{"default"}, nil},
		{"has others only", active, []string{"default"}, []string{"builder"}, []string{"default"}},
		{"several wanted", active, []string{"default", "builder"}, []string{"builder"}, []string{"default"}},
		{"no phase yet", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}, []string{"default"}, nil, []string{"default"}},
		{"terminating", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"},
			Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}, []string{"default"}, nil, nil},
		{"being deleted", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", DeletionTimestamp: &now},
			Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}, []string{"default"}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := toCreate(tc.ns, tc.want, func(n string) bool { return slices.Contains(tc.have, n) })
			if !slices.Equal(got, tc.out) {
				t.Errorf("got %v, want %v", got, tc.out)
			}
		})
	}
}
