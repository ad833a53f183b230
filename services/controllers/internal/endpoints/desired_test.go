package endpoints

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func testService(mut ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"}, ClusterIP: "10.96.0.10",
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports:      []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}},
		},
	}
	for _, m := range mut {
		m(svc)
	}
	return svc
}

func testPod(name, ip string, ready bool, mut ...func(*corev1.Pod)) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(name + "-uid")},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
	for _, m := range mut {
		m(pod)
	}
	return pod
}

func addr(name, ip string) corev1.EndpointAddress {
	node := "n1"
	return corev1.EndpointAddress{IP: ip, NodeName: &node,
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: name, UID: types.UID(name + "-uid")}}
}

func httpPort(n int32) corev1.EndpointPort {
	return corev1.EndpointPort{Name: "http", Port: n, Protocol: corev1.ProtocolTCP}
}

func TestSubsetsFor(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		name string
		svc  *corev1.Service
		pods []*corev1.Pod
		want []corev1.EndpointSubset
	}{
		{
			name: "ready and not ready addresses share a subset",
			svc:  testService(),
			pods: []*corev1.Pod{testPod("b", "10.0.0.10", false), testPod("a", "10.0.0.9", true), testPod("c", "10.0.0.2", true)},
			want: []corev1.EndpointSubset{{
				Addresses:         []corev1.EndpointAddress{addr("c", "10.0.0.2"), addr("a", "10.0.0.9")},
				NotReadyAddresses: []corev1.EndpointAddress{addr("b", "10.0.0.10")},
				Ports:             []corev1.EndpointPort{httpPort(8080)},
			}},
		},
		{
			name: "terminating pods are left out",
			svc:  testService(),
			pods: []*corev1.Pod{testPod("a", "10.0.0.1", true, func(p *corev1.Pod) { p.DeletionTimestamp = &now })},
			want: []corev1.EndpointSubset{},
		},
		{
			name: "publishNotReadyAddresses: every pod is ready, terminating ones too",
			svc:  testService(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }),
			pods: []*corev1.Pod{
				testPod("a", "10.0.0.1", false),
				testPod("b", "10.0.0.2", true, func(p *corev1.Pod) { p.DeletionTimestamp = &now }),
			},
			want: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1"), addr("b", "10.0.0.2")},
				Ports:     []corev1.EndpointPort{httpPort(8080)},
			}},
		},
		{
			name: "a named port meaning different numbers: one subset per number",
			svc:  testService(),
			pods: []*corev1.Pod{
				testPod("a", "10.0.0.1", true),
				testPod("b", "10.0.0.2", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9090 }),
				testPod("c", "10.0.0.3", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil }),
			},
			want: []corev1.EndpointSubset{
				{Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []corev1.EndpointPort{httpPort(8080)}},
				{Addresses: []corev1.EndpointAddress{addr("b", "10.0.0.2")}, Ports: []corev1.EndpointPort{httpPort(9090)}},
			},
		},
		{
			name: "two ports offered by the same pods share a subset",
			svc: testService(func(s *corev1.Service) {
				s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "metrics", Port: 9100, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9100)})
			}),
			pods: []*corev1.Pod{testPod("a", "10.0.0.1", true), testPod("b", "10.0.0.2", false)},
			want: []corev1.EndpointSubset{{
				Addresses:         []corev1.EndpointAddress{addr("a", "10.0.0.1")},
				NotReadyAddresses: []corev1.EndpointAddress{addr("b", "10.0.0.2")},
				Ports: []corev1.EndpointPort{httpPort(8080),
					{Name: "metrics", Port: 9100, Protocol: corev1.ProtocolTCP}},
			}},
		},
		{
			name: "headless without ports; hostname when the subdomain names the service",
			svc: testService(func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.Ports = corev1.ClusterIPNone, nil
			}),
			pods: []*corev1.Pod{testPod("a", "10.0.0.1", true, func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "a", "web" })},
			want: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{func() corev1.EndpointAddress {
				a := addr("a", "10.0.0.1")
				a.Hostname = "a"
				return a
			}()}}},
		},
		{
			name: "an IPv6 service takes the pods' IPv6 addresses",
			svc:  testService(func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} }),
			pods: []*corev1.Pod{
				testPod("a", "10.0.0.1", true, func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}} }),
				testPod("b", "10.0.0.2", true),
			},
			want: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr("a", "fd00::1")}, Ports: []corev1.EndpointPort{httpPort(8080)}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := subsetsFor(tc.svc, tc.pods)
			if !equality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("subsets:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	addrs := func(prefix string, n int) []corev1.EndpointAddress {
		out := make([]corev1.EndpointAddress, n)
		for i := range out {
			out[i] = corev1.EndpointAddress{IP: fmt.Sprintf("10.%s.%d.%d", prefix, i/250, i%250)}
		}
		return out
	}
	for _, tc := range []struct {
		name                  string
		subsets               []corev1.EndpointSubset
		wantTruncated         bool
		wantReady, wantUnread []int
	}{
		{"under capacity", []corev1.EndpointSubset{{Addresses: addrs("1", 600), NotReadyAddresses: addrs("2", 400)}}, false, []int{600}, []int{400}},
		{"not-ready ones cut first", []corev1.EndpointSubset{
			{Addresses: addrs("1", 600), NotReadyAddresses: addrs("2", 300)},
			{Addresses: addrs("3", 200), NotReadyAddresses: addrs("4", 100)},
		}, true, []int{600, 200}, []int{150, 50}},
		{"too many ready ones: not-ready all go", []corev1.EndpointSubset{
			{Addresses: addrs("1", 1500), NotReadyAddresses: addrs("2", 10)},
			{Addresses: addrs("3", 500)},
		}, true, []int{750, 250}, []int{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := truncate(tc.subsets)
			if got != tc.wantTruncated {
				t.Fatalf("truncated %v, want %v", got, tc.wantTruncated)
			}
			total := 0
			for i, s := range tc.subsets {
				if len(s.Addresses) != tc.wantReady[i] || len(s.NotReadyAddresses) != tc.wantUnread[i] {
					t.Errorf("subset %d: %d ready, %d not ready; want %d, %d", i, len(s.Addresses), len(s.NotReadyAddresses), tc.wantReady[i], tc.wantUnread[i])
				}
				total += len(s.Addresses) + len(s.NotReadyAddresses)
			}
			if total > MaxCapacity {
				t.Errorf("%d addresses left, more than %d", total, MaxCapacity)
			}
		})
	}
}

func TestDesired(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	svc := testService()
	pods := []*corev1.Pod{testPod("a", "10.0.0.1", true)}
	wantLabels := map[string]string{"team": "a", discoveryv1.LabelSkipMirror: "true"}

	first, changed := desired(svc, nil, pods, at)
	if !changed {
		t.Fatal("no Endpoints yet, yet nothing to write")
	}
	if first.Name != "web" || first.Namespace != "ns" || !equality.Semantic.DeepEqual(first.Labels, wantLabels) {
		t.Errorf("new Endpoints %s/%s labels %v", first.Namespace, first.Name, first.Labels)
	}
	if got := first.Annotations[corev1.EndpointsLastChangeTriggerTime]; got != "2025-01-02T03:04:05Z" {
		t.Errorf("trigger time %q", got)
	}
	if _, ok := first.Annotations[corev1.EndpointsOverCapacity]; ok {
		t.Error("over-capacity annotation on a small Endpoints")
	}

	stored := first.DeepCopy()
	stored.ResourceVersion = "5"
	stored.Subsets[0].Addresses[0].TargetRef.ResourceVersion = "77" // set by someone else: ignored
	if _, changed := desired(svc, stored, pods, time.Time{}); changed {
		t.Error("up to date, yet written again")
	}

	relabelled := testService(func(s *corev1.Service) {
		s.Labels = map[string]string{"team": "b"}
		s.Spec.ClusterIP = corev1.ClusterIPNone
	})
	next, changed := desired(relabelled, stored, pods, time.Time{})
	if !changed {
		t.Fatal("labels changed, yet nothing to write")
	}
	want := map[string]string{"team": "b", discoveryv1.LabelSkipMirror: "true", corev1.IsHeadlessService: ""}
	if !equality.Semantic.DeepEqual(next.Labels, want) {
		t.Errorf("labels %v, want %v", next.Labels, want)
	}
	if _, ok := next.Annotations[corev1.EndpointsLastChangeTriggerTime]; ok {
		t.Error("a write without trigger time keeps the old one")
	}
	if stored.Labels["team"] != "a" {
		t.Error("the cached object was modified")
	}

	var many []*corev1.Pod
	for i := range MaxCapacity + 5 {
		many = append(many, testPod(fmt.Sprintf("p%d", i), fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), true))
	}
	big, _ := desired(svc, stored, many, at)
	if big.Annotations[corev1.EndpointsOverCapacity] != "truncated" || len(big.Subsets[0].Addresses) != MaxCapacity {
		t.Errorf("over capacity: annotation %q, %d addresses", big.Annotations[corev1.EndpointsOverCapacity], len(big.Subsets[0].Addresses))
	}
	big.ResourceVersion = "6"
	if _, changed := desired(svc, big, many, at); changed {
		t.Error("truncated Endpoints rewritten though nothing changed")
	}
}
