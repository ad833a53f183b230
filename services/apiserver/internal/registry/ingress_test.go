package registry

import (
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDefaultIngressClass(t *testing.T) {
	class := func(name string, def bool, age int) *networkingv1.IngressClass {
		ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name,
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, age, 0, 0, time.UTC))}}
		if def {
			ic.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}
		}
		return ic
	}
	for _, tc := range []struct {
		name    string
		classes []*networkingv1.IngressClass
		want    string
	}{
		{"none", nil, ""},
		{"no default", []*networkingv1.IngressClass{class("a", false, 0)}, ""},
		{"one default", []*networkingv1.IngressClass{class("a", false, 0), class("gantry", true, 0)}, "gantry"},
		{"newest default wins", []*networkingv1.IngressClass{class("old", true, 0), class("new", true, 5)}, "new"},
		{"same age: first by name", []*networkingv1.IngressClass{class("b", true, 1), class("a", true, 1)}, "a"},
	} {
		got := ""
		if dc := defaultIngressClass(tc.classes); dc != nil {
			got = dc.Name
		}
		if got != tc.want {
			t.Errorf("%s: default class %q, want %q", tc.name, got, tc.want)
		}
	}
}
