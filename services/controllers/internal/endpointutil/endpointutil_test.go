package endpointutil

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
)

func pod(mut ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", ResourceVersion: "1", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
			{Name: "dns", ContainerPort: 5353, Protocol: corev1.ProtocolUDP},
		}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	for _, m := range mut {
		m(p)
	}
	return p
}

func TestFindPort(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	sidecar := func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: &always,
			Ports: []corev1.ContainerPort{{Name: "proxy", ContainerPort: 15001, Protocol: corev1.ProtocolTCP}}}}
	}
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		port    corev1.ServicePort
		want    int32
		wantErr bool
	}{
		{"number", pod(), corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(9376)}, 9376, false},
		{"number not defaulted: the port", pod(), corev1.ServicePort{Port: 80}, 80, false},
		{"name", pod(), corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}, 8080, false},
		{"name of another protocol", pod(), corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("dns")}, 0, true},
		{"name and protocol", pod(), corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")}, 5353, false},
		{"unknown name", pod(), corev1.ServicePort{Port: 80, TargetPort: intstr.FromString("nope")}, 0, true},
		{"sidecar port", pod(sidecar), corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("proxy")}, 15001, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FindPort(tc.pod, &tc.port)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("got %d, %v; want %d, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestShouldPodBeInEndpoints(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		name               string
		pod                *corev1.Pod
		includeTerminating bool
		want               bool
	}{
		{"running", pod(), false, true},
		{"podIP only", pod(func(p *corev1.Pod) { p.Status.PodIPs = nil }), false, true},
		{"no IP", pod(func(p *corev1.Pod) { p.Status.PodIP, p.Status.PodIPs = "", nil }), false, false},
		{"terminating excluded", pod(func(p *corev1.Pod) { p.DeletionTimestamp = &now }), false, false},
		{"terminating included", pod(func(p *corev1.Pod) { p.DeletionTimestamp = &now }), true, true},
		{"succeeded, never restarted", pod(func(p *corev1.Pod) {
			p.Spec.RestartPolicy, p.Status.Phase = corev1.RestartPolicyNever, corev1.PodSucceeded
		}), false, false},
		{"failed, restarted on failure", pod(func(p *corev1.Pod) {
			p.Spec.RestartPolicy, p.Status.Phase = corev1.RestartPolicyOnFailure, corev1.PodFailed
		}), false, true},
		{"succeeded, restarted on failure", pod(func(p *corev1.Pod) {
			p.Spec.RestartPolicy, p.Status.Phase = corev1.RestartPolicyOnFailure, corev1.PodSucceeded
		}), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ShouldPodBeInEndpoints(tc.pod, tc.includeTerminating); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestServicesToSync(t *testing.T) {
	svc := func(name string, sel map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Spec: corev1.ServiceSpec{Selector: sel}}
	}
	svcs := []*corev1.Service{
		svc("web", map[string]string{"app": "web"}),
		svc("canary", map[string]string{"app": "web", "track": "canary"}),
		svc("db", map[string]string{"app": "db"}),
		svc("manual", nil),
	}
	now := metav1.Now()
	bump := func(p *corev1.Pod) { p.ResourceVersion = "2" }
	for _, tc := range []struct {
		name string
		cur  *corev1.Pod
		want []string
	}{
		{"resync", pod(), nil},
		{"irrelevant change", pod(bump, func(p *corev1.Pod) { p.Annotations = map[string]string{"a": "b"} }), nil},
		{"readiness", pod(bump, func(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }), []string{"ns/web"}},
		{"deletion", pod(bump, func(p *corev1.Pod) { p.DeletionTimestamp = &now }), []string{"ns/web"}},
		{"new IP", pod(bump, func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.2"}} }), []string{"ns/web"}},
		{"hostname", pod(bump, func(p *corev1.Pod) { p.Spec.Hostname = "h" }), []string{"ns/web"}},
		{"labels only: the services joined and left", pod(bump, func(p *corev1.Pod) {
			p.Labels = map[string]string{"app": "web", "track": "canary"}
		}), []string{"ns/canary"}},
		{"labels and readiness: all", pod(bump, func(p *corev1.Pod) {
			p.Labels = map[string]string{"app": "db"}
			p.Status.Conditions[0].Status = corev1.ConditionFalse
		}), []string{"ns/db", "ns/web"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sets.List(ServicesToSync(svcs, pod(), tc.cur))
			if len(got) == 0 {
				got = nil
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTriggerTimeTracker(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", CreationTimestamp: metav1.NewTime(t0)}}
	readyAt := func(name string, at time.Time) *corev1.Pod {
		return pod(func(p *corev1.Pod) {
			p.Name = name
			p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(at)
		})
	}
	tr := NewTriggerTimeTracker()
	steps := []struct {
		name string
		pods []*corev1.Pod
		want time.Time
	}{
		{"first sync: the service's creation", []*corev1.Pod{readyAt("a", t0.Add(time.Second))}, t0},
		{"nothing changed", []*corev1.Pod{readyAt("a", t0.Add(time.Second))}, time.Time{}},
		{"a pod turned ready", []*corev1.Pod{readyAt("a", t0.Add(time.Second)), readyAt("b", t0.Add(5*time.Second))}, t0.Add(5 * time.Second)},
		{"two changed: the earliest", []*corev1.Pod{readyAt("a", t0.Add(8*time.Second)), readyAt("b", t0.Add(7*time.Second))}, t0.Add(7 * time.Second)},
		{"a pod went", []*corev1.Pod{readyAt("a", t0.Add(8*time.Second))}, time.Time{}},
	}
	for _, s := range steps {
		if got := tr.Compute(svc, s.pods); !got.Equal(s.want) {
			t.Errorf("%s: got %v, want %v", s.name, got, s.want)
		}
	}
	tr.Forget("ns", "web")
	if got := tr.Compute(svc, nil); !got.Equal(t0) {
		t.Errorf("after Forget: got %v, want the creation time", got)
	}
}
