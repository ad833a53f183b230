package registry

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDaemonSetTemplateGeneration(t *testing.T) {
	ds := func(gen int64, annotation, image string) *appsv1.DaemonSet {
		d := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Generation: gen},
			Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "main", Image: image}}}}}}
		if annotation != "" {
			d.Annotations = map[string]string{appsv1.DeprecatedTemplateGeneration: annotation}
		}
		return d
	}
	t.Run("create", func(t *testing.T) {
		for _, tc := range []struct{ given, want string }{{"", "1"}, {"0", "1"}, {"x", "1"}, {"4", "4"}} {
			d := ds(1, tc.given, "a")
			prepareDaemonSet(d)
			if got := d.Annotations[appsv1.DeprecatedTemplateGeneration]; got != tc.want {
				t.Errorf("annotation %q given: %q, want %q", tc.given, got, tc.want)
			}
		}
	})
	for _, tc := range []struct {
		name      string
		old, next *appsv1.DaemonSet
		want      string
	}{
		{"template unchanged", ds(3, "2", "a"), ds(4, "", "a"), "2"},
		{"template changed", ds(3, "2", "a"), ds(4, "", "b"), "3"},
		{"client's value ignored", ds(3, "2", "a"), ds(4, "9", "a"), "2"},
		{"stored without one: from its generation", ds(3, "", "a"), ds(4, "", "b"), "4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := bumpTemplateGeneration(context.Background(), tc.next, tc.old); err != nil {
				t.Fatal(err)
			}
			if got := tc.next.Annotations[appsv1.DeprecatedTemplateGeneration]; got != tc.want {
				t.Errorf("annotation %q, want %q", got, tc.want)
			}
		})
	}
}
