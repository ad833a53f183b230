package proxy

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

func TestServicePortsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name     string
		spec     corev1.ServiceSpec
		ports    int
		problems []string
	}{
		{"headless", corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Port: 80}}}, 0, nil},
		{"external name", corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "x.example"}, 0, nil},
		{"port 0 and a good one", corev1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Name: "a", Port: 0}, {Name: "b", Port: 80}}}, 1, []string{"InvalidPort"}},
		{"port too big", corev1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Port: 70000}}}, 0, []string{"InvalidPort"}},
		{"odd protocol", corev1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Port: 80, Protocol: "ICMP"}}}, 0, []string{"UnsupportedProtocol"}},
		{"sctp", corev1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolSCTP}}}, 1, nil},
		{"ipv6 cluster IP", corev1.ServiceSpec{ClusterIP: "fd00::1", Ports: []corev1.ServicePort{{Port: 80}}}, 0, []string{"InvalidClusterIP"}},
		{"garbage external IP", corev1.ServiceSpec{ClusterIP: "10.96.0.1", ExternalIPs: []string{"nope"}, Ports: []corev1.ServicePort{{Port: 80}}}, 1, []string{"InvalidExternalIP"}},
		{"duplicate port", corev1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Name: "a", Port: 80}, {Name: "a", Port: 81}}}, 1, []string{"DuplicatePort"}},
		{"bad nodePort", corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Port: 80, NodePort: -1}}}, 0, []string{"InvalidPort"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ports, problems := ServicePorts(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s"}, Spec: tc.spec})
			if len(ports) != tc.ports {
				t.Errorf("%d ports, want %d", len(ports), tc.ports)
			}
			if len(problems) != len(tc.problems) {
				t.Fatalf("problems %v, want reasons %v", problems, tc.problems)
			}
			for i, p := range problems {
				if p.Reason != tc.problems[i] {
					t.Errorf("problem %d: %s, want %s", i, p.Reason, tc.problems[i])
				}
			}
		})
	}
}

func TestServicePortsPolicies(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.0.1",
		Ports:                 []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}},
		SessionAffinity:       corev1.ServiceAffinityClientIP,
		ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
		InternalTrafficPolicy: ptr(corev1.ServiceInternalTrafficPolicyLocal),
	}}
	ports, problems := ServicePorts(svc)
	if len(problems) != 0 || len(ports) != 1 {
		t.Fatalf("ports %v problems %v", ports, problems)
	}
	p := ports[0]
	if p.Name.String() != "ns/s:http" || p.NodePort != 30080 || p.AffinitySeconds != 10800 || !p.ExternalPolicyLocal || !p.InternalPolicyLocal {
		t.Errorf("got %+v", p)
	}
}

func TestEndpointsMergeAndCategorize(t *testing.T) {
	tcp := corev1.ProtocolTCP
	mk := func(name string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: "s"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080)), Protocol: &tcp}},
			Endpoints:   eps,
		}
	}
	e := func(ip, node string, ready, serving, terminating bool) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: []string{ip}, NodeName: &node,
			Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating}}
	}
	v6 := mk("v6", discoveryv1.Endpoint{Addresses: []string{"fd00::1"}})
	v6.AddressType = discoveryv1.AddressTypeIPv6
	m := Endpoints([]*discoveryv1.EndpointSlice{
		mk("a", e("10.0.0.3", "n1", true, true, false), e("10.0.0.1", "n2", false, false, false), discoveryv1.Endpoint{Addresses: []string{"bogus"}}),
		mk("b", e("10.0.0.2", "n1", false, true, true), e("10.0.0.1", "n2", true, true, false)),
		v6,
	}, "n1")
	spn := ServicePortName{Port: "http", Protocol: tcp}
	spn.Namespace, spn.Name = "ns", "s"
	eps := m[spn]
	if len(m) != 1 || len(eps) != 3 {
		t.Fatalf("got %v", m)
	}
	if eps[0].String() != "10.0.0.1:8080" || !eps[0].Ready || eps[0].Local {
		t.Errorf("merged duplicate: %+v", eps[0])
	}
	sp := &ServicePort{Name: spn, InternalPolicyLocal: true}
	cluster, local, hasAny := Categorize(sp, eps)
	if cluster != nil || !hasAny || len(local) != 1 || local[0].String() != "10.0.0.3:8080" {
		t.Errorf("cluster %v local %v", cluster, local)
	}
	// Only the terminating one left on this node: it stands in.
	cluster, local, _ = Categorize(&ServicePort{Name: spn, InternalPolicyLocal: true}, eps[:2])
	if len(local) != 1 || local[0].String() != "10.0.0.2:8080" || cluster != nil {
		t.Errorf("fallback: cluster %v local %v", cluster, local)
	}
}

func TestRunnerCoalescesAndRetries(t *testing.T) {
	var calls atomic.Int32
	fail := atomic.Bool{}
	fail.Store(true)
	synced := make(chan struct{}, 100)
	r := NewRunner(50*time.Millisecond, time.Hour, func(context.Context) error {
		calls.Add(1)
		synced <- struct{}{}
		if fail.Load() {
			fail.Store(false)
			return context.DeadlineExceeded
		}
		return nil
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	<-synced // the first sync, which fails
	<-synced // the retry after back-off
	for range 100 {
		r.Trigger()
	}
	<-synced // the burst: one sync
	select {
	case <-synced:
		t.Errorf("a burst of triggers gave more than one sync")
	case <-time.After(300 * time.Millisecond):
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d syncs, want 3", n)
	}
}
