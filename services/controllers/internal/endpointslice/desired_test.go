package endpointslice

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
)

func TestDesired(t *testing.T) {
	now := metav1.Now()
	nodes := testNodes(map[string]string{"n1": "zone-a", "n2": ""})
	type group struct {
		ports     string
		endpoints []discoveryv1.Endpoint
	}
	for _, tc := range []struct {
		name    string
		svc     *corev1.Service
		pods    []*corev1.Pod
		want    map[discoveryv1.AddressType][]group
		wantErr string
	}{
		{
			name: "ready and not ready pods, zone from the node",
			svc:  testService(),
			pods: []*corev1.Pod{testPod("b", "10.0.0.2", false), testPod("a", "10.0.0.1", true)},
			want: map[discoveryv1.AddressType][]group{discoveryv1.AddressTypeIPv4: {{
				ports: "http/TCP/8080/",
				endpoints: []discoveryv1.Endpoint{
					withZone(readyEndpoint("a", "10.0.0.1"), "zone-a"),
					withZone(conditions(readyEndpoint("b", "10.0.0.2"), false, false, false), "zone-a"),
				},
			}}},
		},
		{
			name: "pods without an IP or finished for good are left out",
			svc:  testService(),
			pods: []*corev1.Pod{
				testPod("noip", "", true, func(p *corev1.Pod) { p.Status.PodIPs = nil }),
				testPod("done", "10.0.0.3", false, func(p *corev1.Pod) {
					p.Spec.RestartPolicy = corev1.RestartPolicyNever
					p.Status.Phase = corev1.PodSucceeded
				}),
			},
			want: map[discoveryv1.AddressType][]group{discoveryv1.AddressTypeIPv4: nil},
		},
		{
			name: "a terminating pod is serving but not ready",
			svc:  testService(),
			pods: []*corev1.Pod{testPod("a", "10.0.0.1", true, func(p *corev1.Pod) { p.DeletionTimestamp = &now })},
			want: map[discoveryv1.AddressType][]group{discoveryv1.AddressTypeIPv4: {{
				ports:     "http/TCP/8080/",
				endpoints: []discoveryv1.Endpoint{withZone(conditions(readyEndpoint("a", "10.0.0.1"), false, true, true), "zone-a")},
			}}},
		},
		{
			name: "publishNotReadyAddresses: not ready and terminating pods are ready",
			svc:  testService(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }),
			pods: []*corev1.Pod{testPod("a", "10.0.0.1", false, func(p *corev1.Pod) { p.DeletionTimestamp = &now })},
			want: map[discoveryv1.AddressType][]group{discoveryv1.AddressTypeIPv4: {{
				ports:     "http/TCP/8080/",
				endpoints: []discoveryv1.Endpoint{withZone(conditions(readyEndpoint("a", "10.0.0.1"), true, false, true), "zone-a")},
			}}},
		},
		{
			name: "a named target port resolving to different numbers makes two groups",
			svc:  testService(),
			pods: []*corev1.Pod{
				testPod("a", "10.0.0.1", true),
				testPod("b", "10.0.0.2", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9090 }),
				testPod("c", "10.0.0.3", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil }),
			},
			want: map[discoveryv1.AddressType][]group{discoveryv1.AddressTypeIPv4: {
				{ports: "", endpoints: []discoveryv1.Endpoint{withZone(readyEndpoint("c", "10.0.0.3"), "zone-a")}},
				{ports: "http/TCP/8080/", endpoints: []discoveryv1.Endpoint{withZone(readyEndpoint("a", "10.0.0.1"), "zone-a")}},
				{ports: "http/TCP/9090/", endpoints: []discoveryv1.Endpoint{withZone(readyEndpoint("b", "10.0.0.2"), "zone-a")}},
			}},
		},
		{
			name: "numeric target port; hostname when the subdomain names the service",
			svc: testService(func(s *corev1.Service) {
				s.Spec.Ports[0].TargetPort = intstr.FromInt32(7000)
				s.Spec.ClusterIP = corev1.ClusterIPNone
			}),
			pods: []*corev1.Pod{
				testPod("a", "10.0.0.1", true, func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "host-a", "web" }),
				testPod("b", "10.0.0.2", true, func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "host-b", "other" }),
			},
			want: map[discoveryv1.AddressType][]group{discoveryv1.AddressTypeIPv4: {{
				ports: "http/TCP/7000/",
				endpoints: []discoveryv1.Endpoint{
					withHostname(withZone(readyEndpoint("a", "10.0.0.1"), "zone-a"), "host-a"),
					withZone(readyEndpoint("b", "10.0.0.2"), "zone-a"),
				},
			}}},
		},
		{
			name: "dual-stack service: one group per family",
			svc: testService(func(s *corev1.Service) {
				s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
			}),
			pods: []*corev1.Pod{testPod("a", "10.0.0.1", true, func(p *corev1.Pod) {
				p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}
			})},
			want: map[discoveryv1.AddressType][]group{
				discoveryv1.AddressTypeIPv4: {{ports: "http/TCP/8080/", endpoints: []discoveryv1.Endpoint{withZone(readyEndpoint("a", "10.0.0.1"), "zone-a")}}},
				discoveryv1.AddressTypeIPv6: {{ports: "http/TCP/8080/", endpoints: []discoveryv1.Endpoint{withZone(readyEndpoint("a", "fd00::1"), "zone-a")}}},
			},
		},
		{
			name: "a pod on an unknown node is left out and reported",
			svc:  testService(),
			pods: []*corev1.Pod{
				testPod("a", "10.0.0.1", true),
				testPod("b", "10.0.0.2", true, func(p *corev1.Pod) { p.Spec.NodeName = "gone" }),
				testPod("c", "10.0.0.3", true, func(p *corev1.Pod) { p.Spec.NodeName = "n2" }),
			},
			want: map[discoveryv1.AddressType][]group{discoveryv1.AddressTypeIPv4: {{
				ports: "http/TCP/8080/",
				endpoints: []discoveryv1.Endpoint{
					withZone(readyEndpoint("a", "10.0.0.1"), "zone-a"),
					withNode(readyEndpoint("c", "10.0.0.3"), "n2"),
				},
			}}},
			wantErr: "b (node gone)",
		},
		{
			name: "trafficDistribution PreferClose: zone hints on ready endpoints",
			svc: testService(func(s *corev1.Service) {
				s.Spec.TrafficDistribution = ptr(corev1.ServiceTrafficDistributionPreferClose)
			}),
			pods: []*corev1.Pod{testPod("a", "10.0.0.1", true), testPod("b", "10.0.0.2", false)},
			want: map[discoveryv1.AddressType][]group{discoveryv1.AddressTypeIPv4: {{
				ports: "http/TCP/8080/",
				endpoints: []discoveryv1.Endpoint{
					withHints(withZone(readyEndpoint("a", "10.0.0.1"), "zone-a"), "zone-a"),
					withZone(conditions(readyEndpoint("b", "10.0.0.2"), false, false, false), "zone-a"),
				},
			}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := desired(tc.svc, tc.pods, nodes)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if !sets.KeySet(got).Equal(sets.KeySet(tc.want)) {
				t.Fatalf("address types %v, want %v", sets.List(sets.KeySet(got)), sets.List(sets.KeySet(tc.want)))
			}
			for at, groups := range tc.want {
				if len(got[at]) != len(groups) {
					t.Fatalf("%s: %d groups, want %d", at, len(got[at]), len(groups))
				}
				for _, g := range groups {
					gg := got[at][g.ports]
					if gg == nil {
						t.Fatalf("%s: no group with ports %q", at, g.ports)
					}
					if !equality.Semantic.DeepEqual(gg.endpoints, g.endpoints) {
						t.Errorf("%s %q endpoints:\n got %+v\nwant %+v", at, g.ports, gg.endpoints, g.endpoints)
					}
				}
			}
		})
	}
}

func TestAddressTypes(t *testing.T) {
	for _, tc := range []struct {
		name string
		svc  *corev1.Service
		want []discoveryv1.AddressType
	}{
		{"ipFamilies", testService(), []discoveryv1.AddressType{"IPv4"}},
		{"no ipFamilies: the cluster IP's", testService(func(s *corev1.Service) {
			s.Spec.IPFamilies, s.Spec.ClusterIP = nil, "fd00::10"
		}), []discoveryv1.AddressType{"IPv6"}},
		{"no ipFamilies, headless: both", testService(func(s *corev1.Service) {
			s.Spec.IPFamilies, s.Spec.ClusterIP = nil, corev1.ClusterIPNone
		}), []discoveryv1.AddressType{"IPv4", "IPv6"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sets.List(addressTypes(tc.svc)); !equality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func conditions(ep discoveryv1.Endpoint, ready, serving, terminating bool) discoveryv1.Endpoint {
	ep.Conditions = discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating}
	return ep
}

func withZone(ep discoveryv1.Endpoint, zone string) discoveryv1.Endpoint {
	ep.Zone = &zone
	return ep
}

func withNode(ep discoveryv1.Endpoint, node string) discoveryv1.Endpoint {
	ep.NodeName = &node
	return ep
}

func withHostname(ep discoveryv1.Endpoint, h string) discoveryv1.Endpoint {
	ep.Hostname = &h
	return ep
}

func withHints(ep discoveryv1.Endpoint, zone string) discoveryv1.Endpoint {
	ep.Hints = &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: zone}}}
	return ep
}
