package endpointslice

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func testService(mut ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "svc-uid", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{
			Selector:   map[string]string{"app": "web"},
			ClusterIP:  "10.96.0.10",
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{
				Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http"),
			}},
		},
	}
	for _, m := range mut {
		m(svc)
	}
	return svc
}

// testPod is a running pod with IP ip on node n1, ready or not, whose
// container names port 8080 "http".
func testPod(name, ip string, ready bool, mut ...func(*corev1.Pod)) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(name + "-uid"), Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			NodeName: "n1",
			Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
			}}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
		},
	}
	for _, m := range mut {
		m(pod)
	}
	return pod
}

func testNodes(zones map[string]string) nodeGetter {
	return func(name string) (*corev1.Node, error) {
		zone, ok := zones[name]
		if !ok {
			return nil, apierrors.NewNotFound(corev1.Resource("nodes"), name)
		}
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
		if zone != "" {
			n.Labels[corev1.LabelTopologyZone] = zone
		}
		return n, nil
	}
}

func ptr[T any](v T) *T { return &v }

func httpPort(n int32) []discoveryv1.EndpointPort {
	return []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(n), Protocol: ptr(corev1.ProtocolTCP)}}
}

// readyEndpoint is the endpoint testPod(name, ip, true) gives.
func readyEndpoint(name, ip string) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{
		Addresses:  []string{ip},
		Conditions: discoveryv1.EndpointConditions{Ready: ptr(true), Serving: ptr(true), Terminating: ptr(false)},
		NodeName:   ptr("n1"),
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: name, UID: types.UID(name + "-uid")},
	}
}

// existingSlice is a slice of svc as stored: named, owned, labelled.
func existingSlice(svc *corev1.Service, name string, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	s := newSlice(svc, discoveryv1.AddressTypeIPv4, ports)
	s.Name, s.GenerateName = name, ""
	s.UID = types.UID(name + "-uid")
	s.ResourceVersion = "1"
	s.Endpoints = eps
	return s
}

// manyEndpoints returns n ready endpoints p0..p(n-1).
func manyEndpoints(n int) []discoveryv1.Endpoint {
	eps := make([]discoveryv1.Endpoint, n)
	for i := range eps {
		eps[i] = readyEndpoint(fmt.Sprintf("p%03d", i), fmt.Sprintf("10.0.%d.%d", i/250, i%250+1))
	}
	return eps
}
