package registry

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEndpointSliceGeneration(t *testing.T) {
	ready := true
	base := func() *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "s", Generation: 3, Labels: map[string]string{"a": "b"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(*discoveryv1.EndpointSlice)
		want   int64
	}{
		{"nothing", func(*discoveryv1.EndpointSlice) {}, 3},
		{"annotations only", func(s *discoveryv1.EndpointSlice) { s.Annotations = map[string]string{"x": "y"} }, 3},
		{"an endpoint's readiness", func(s *discoveryv1.EndpointSlice) {
			notReady := false
			s.Endpoints[0].Conditions.Ready = &notReady
		}, 4},
		{"labels", func(s *discoveryv1.EndpointSlice) { s.Labels["a"] = "c" }, 4},
		{"ports", func(s *discoveryv1.EndpointSlice) { s.Ports = []discoveryv1.EndpointPort{{}} }, 4},
	} {
		next := base()
		tc.change(next)
		if err := bumpEndpointSliceGeneration(context.Background(), next, base()); err != nil {
			t.Fatal(err)
		}
		if next.Generation != tc.want {
			t.Errorf("%s: generation %d, want %d", tc.name, next.Generation, tc.want)
		}
	}
}

func TestDefaultTolerations(t *testing.T) {
	reg := &Registry{notReadySeconds: 30, unreachableSeconds: 60}
	own := int64(5)
	pod := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: []corev1.Toleration{{
		Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &own,
	}}}}
	reg.preparePod(pod)
	got := map[string]int64{}
	for _, tol := range pod.Spec.Tolerations {
		got[tol.Key] = *tol.TolerationSeconds
	}
	if len(pod.Spec.Tolerations) != 2 || got[corev1.TaintNodeNotReady] != 30 || got[corev1.TaintNodeUnreachable] != 5 {
		t.Errorf("tolerations %v, want not-ready 30 added and the pod's own unreachable 5 kept", got)
	}
}
