package controller

import (
	"io"
	"log/slog"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/ingress/internal/routes"
)

func TestOurs(t *testing.T) {
	name := func(s string) *string { return &s }
	for _, tc := range []struct {
		desc      string
		className *string
		annot     map[string]string
		isDefault bool
		want      bool
	}{
		{"class name ours", name("gantry"), nil, false, true},
		{"class name other", name("nginx"), nil, true, false},
		{"class name wins over annotation", name("gantry"), map[string]string{LegacyClassAnnotation: "gantry"}, false, true},
		{"legacy annotation ours", nil, map[string]string{LegacyClassAnnotation: "gantry"}, false, true},
		{"legacy annotation other", nil, map[string]string{LegacyClassAnnotation: "nginx"}, true, false},
		{"no class, ours is default", nil, nil, true, true},
		{"no class, ours not default", nil, nil, false, false},
	} {
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Annotations: tc.annot}, Spec: networkingv1.IngressSpec{IngressClassName: tc.className}}
		if got := Ours(ing, "gantry", tc.isDefault); got != tc.want {
			t.Errorf("%s: Ours = %v, want %v", tc.desc, got, tc.want)
		}
	}
	if !IsDefault(&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}}}) {
		t.Error("IsDefault(annotated) = false")
	}
	if IsDefault(nil) || IsDefault(&networkingv1.IngressClass{}) {
		t.Error("IsDefault(unannotated) = true")
	}
}

func TestLoadBalancerStatus(t *testing.T) {
	if got := LoadBalancerStatus("192.0.2.1"); len(got) != 1 || got[0].IP != "192.0.2.1" || got[0].Hostname != "" {
		t.Errorf("IP: %+v", got)
	}
	if got := LoadBalancerStatus("lb.example.com"); len(got) != 1 || got[0].Hostname != "lb.example.com" || got[0].IP != "" {
		t.Errorf("hostname: %+v", got)
	}
	if got := LoadBalancerStatus(""); got != nil {
		t.Errorf("empty: %+v", got)
	}
}

type fakeRecorder struct{ events []string }

func (f *fakeRecorder) Event(ref corev1.ObjectReference, eventType, reason, message string) {
	f.events = append(f.events, ref.Name+" "+eventType+" "+reason+": "+message)
}

func TestReportOnce(t *testing.T) {
	rec := &fakeRecorder{}
	c := &Controller{cfg: Config{Recorder: rec}, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		reported: map[string]map[string]bool{}, synced: map[string]int64{}}
	a := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a", UID: types.UID("ua"), Generation: 1}}
	b := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b", UID: types.UID("ub"), Generation: 1}}
	p1 := routes.Problem{Namespace: "ns", Ingress: "a", Reason: "Rejected", Message: "bad path"}
	p2 := routes.Problem{Namespace: "ns", Ingress: "gone", Reason: "Rejected", Message: "not served"}
	step := func(ings []*networkingv1.Ingress, problems []routes.Problem, want ...string) {
		t.Helper()
		rec.events = nil
		c.report(ings, problems)
		if !slices.Equal(rec.events, want) {
			t.Errorf("events %q, want %q", rec.events, want)
		}
	}
	step([]*networkingv1.Ingress{a, b}, []routes.Problem{p1, p2},
		"a Normal Sync: Scheduled for sync", "b Normal Sync: Scheduled for sync", "a Warning Rejected: bad path")
	step([]*networkingv1.Ingress{a, b}, []routes.Problem{p1}) // nothing new
	step([]*networkingv1.Ingress{a, b}, nil)                  // fixed: nothing to say
	a2 := a.DeepCopy()
	a2.Generation = 2
	step([]*networkingv1.Ingress{a2, b}, []routes.Problem{p1}, // back again, and a changed
		"a Normal Sync: Scheduled for sync", "a Warning Rejected: bad path")
}
