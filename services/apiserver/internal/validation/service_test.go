package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestValidateCreateService(t *testing.T) {
	nodePort := func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeNodePort
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	tests := []struct {
		name   string
		mutate func(*corev1.Service)
		want   []want
	}{
		{name: "valid service passes", mutate: func(*corev1.Service) {}},
		{name: "service without a cluster IP yet passes", mutate: func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil }},
		{name: "clusterIP alone is taken as clusterIPs", mutate: func(s *corev1.Service) { s.Spec.ClusterIPs = nil }},
		{name: "headless service without ports passes", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.Ports = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}, nil
		}},
		{name: "NodePort service in range passes", mutate: func(s *corev1.Service) {
			nodePort(s)
			s.Spec.Ports[0].NodePort = 30080
		}},
		{name: "LoadBalancer service passes", mutate: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = 31000
			s.Spec.AllocateLoadBalancerNodePorts = ptr(true)
			s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
		}},
		{name: "ExternalName service passes", mutate: func(s *corev1.Service) {
			s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com.", SessionAffinity: corev1.ServiceAffinityNone}
		}},
		{name: "name not a DNS-1035 label", mutate: func(s *corev1.Service) { s.Name = "1web" },
			want: []want{invalid("metadata.name", "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character")}},
		{name: "ports missing", mutate: func(s *corev1.Service) { s.Spec.Ports = nil },
			want: []want{required("spec.ports", "")}},
		{name: "unknown type", mutate: func(s *corev1.Service) { s.Spec.Type = "Internal" },
			want: []want{notSupported("spec.type", `supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`)}},
		{name: "node port on a ClusterIP service", mutate: func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 },
			want: []want{forbidden("spec.ports[0].nodePort", "may not be used when `type` is 'ClusterIP'")}},
		{name: "node port range is left to the allocator", mutate: func(s *corev1.Service) {
			nodePort(s)
			s.Spec.Ports[0].NodePort = 80
		}},
		{name: "node port used twice", mutate: func(s *corev1.Service) {
			nodePort(s)
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(8443), NodePort: s.Spec.Ports[0].NodePort})
			s.Spec.Ports[0].NodePort = 30080
			s.Spec.Ports[1].NodePort = 30080
		}, want: []want{duplicate("spec.ports[1].nodePort")}},
		{name: "port problems", mutate: func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{
				{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)},
				{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("Web_Port")},
				{Name: "http", Port: 0, Protocol: "ICMP", TargetPort: intstr.FromInt32(70000)},
			}
		}, want: []want{
			required("spec.ports[0].name", ""),
			invalid("spec.ports[1].targetPort", "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"),
			duplicate("spec.ports[1]"),
			duplicate("spec.ports[2].name"),
			invalid("spec.ports[2].port", "must be between 1 and 65535, inclusive"),
			notSupported("spec.ports[2].protocol", `supported values: "SCTP", "TCP", "UDP"`),
			invalid("spec.ports[2].targetPort", "must be between 1 and 65535, inclusive"),
		}},
		{name: "bad selector value", mutate: func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "-web"} },
			want: []want{invalid("spec.selector", "a valid label must be")}},
		{name: "client IP affinity without config", mutate: func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP },
			want: []want{required("spec.sessionAffinityConfig", "when session affinity type is ClientIP")}},
		{name: "defaults missing", mutate: func(s *corev1.Service) {
			s.Spec.SessionAffinity, s.Spec.InternalTrafficPolicy = "", nil
			s.Spec.Ports[0].Protocol = ""
		}, want: []want{required("spec.sessionAffinity", ""), required("spec.internalTrafficPolicy", ""), required("spec.ports[0].protocol", "")}},
		{name: "external traffic policy on a ClusterIP service", mutate: func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}, want: []want{invalid("spec.externalTrafficPolicy", "may only be set for externally-accessible services")}},
		{name: "LoadBalancer without allocateLoadBalancerNodePorts", mutate: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		}, want: []want{required("allocateLoadBalancerNodePorts", "")}},
		{name: "source ranges on a ClusterIP service", mutate: func(s *corev1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/33"} },
			want: []want{forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'"),
				invalid("spec.LoadBalancerSourceRanges[0]", "must be a valid CIDR value")}},
		{name: "cluster IPs disagree", mutate: func(s *corev1.Service) { s.Spec.ClusterIPs = []string{"10.96.0.11"} },
			want: []want{invalid("spec.clusterIPs", "first value must match `clusterIP`")}},
		{name: "two IPv4 cluster IPs", mutate: func(s *corev1.Service) { s.Spec.ClusterIPs = []string{"10.96.0.10", "10.96.0.11"} },
			want: []want{invalid("spec.clusterIPs", "may specify no more than one IP for each IP family")}},
		{name: "cluster IP of the wrong family", mutate: func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} },
			want: []want{invalid("spec.clusterIPs[0]", "expected an IPv6 value as indicated by `ipFamilies[0]`")}},
		{name: "external IP in loopback range", mutate: func(s *corev1.Service) {
			s.Spec.ExternalIPs = []string{"127.0.0.1"}
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		},
			want: []want{invalid("spec.externalIPs[0]", "may not be in the loopback range (127.0.0.0/8, ::1/128)")}},
		{name: "ExternalName without a name", mutate: func(s *corev1.Service) {
			s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, SessionAffinity: corev1.ServiceAffinityNone, ClusterIPs: []string{"10.96.0.10"}}
		}, want: []want{required("spec.externalName", ""), forbidden("spec.clusterIPs", "may not be set for ExternalName services")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validService()
			tc.mutate(s)
			expectErrors(t, ValidateCreate(s), tc.want...)
		})
	}
}

func TestValidateUpdateService(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Service)
		want   []want
	}{
		{name: "new ports and selector pass", mutate: func(s *corev1.Service) {
			s.Spec.Ports[0].Port = 8080
			s.Spec.Selector = map[string]string{"app": "web2"}
		}},
		{name: "client left clusterIPs out", mutate: func(s *corev1.Service) { s.Spec.ClusterIPs = nil }},
		{name: "switch to NodePort passes", mutate: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
			s.Spec.Ports[0].NodePort = 31234
		}},
		{name: "cluster IP changed", mutate: func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.99", []string{"10.96.0.99"} },
			want: []want{invalid("spec.clusterIPs[0]", "may not change once set")}},
		{name: "only clusterIP changed", mutate: func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.99" },
			want: []want{invalid("spec.clusterIPs[0]", "may not change once set")}},
		{name: "cluster IP removed", mutate: func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil },
			want: []want{invalid("spec.clusterIPs[0]", "primary clusterIP can not be unset")}},
		{name: "made headless", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
		}, want: []want{invalid("spec.clusterIPs[0]", "may not change once set")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validService()
			old.ObjectMeta = stored(old.ObjectMeta)
			s := old.DeepCopy()
			tc.mutate(s)
			expectErrors(t, ValidateUpdate(s, old), tc.want...)
		})
	}

	t.Run("kubectl message for a changed cluster IP", func(t *testing.T) {
		old := validService()
		old.ObjectMeta = stored(old.ObjectMeta)
		s := old.DeepCopy()
		s.Spec.ClusterIP = "10.96.0.99"
		expectMessage(t, ValidateUpdate(s, old), `spec.clusterIPs[0]: Invalid value: ["10.96.0.99"]: may not change once set`)
	})
}

func TestValidateStatusUpdateService(t *testing.T) {
	old := validService()
	old.ObjectMeta = stored(old.ObjectMeta)
	lb := old.DeepCopy()
	lb.Spec.Type = corev1.ServiceTypeLoadBalancer
	lb.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	lb.Spec.AllocateLoadBalancerNodePorts = ptr(true)

	t.Run("load balancer status passes", func(t *testing.T) {
		s := lb.DeepCopy()
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.7", IPMode: ptr(corev1.LoadBalancerIPModeVIP)}, {Hostname: "lb.example.com"}}
		expectErrors(t, ValidateStatusUpdate(s, lb))
	})
	t.Run("load balancer status on a ClusterIP service", func(t *testing.T) {
		s := old.DeepCopy()
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.7"}}
		expectErrors(t, ValidateStatusUpdate(s, old), forbidden("status.loadBalancer.ingress", "may only be used when `spec.type` is 'LoadBalancer'"))
	})
	t.Run("bad load balancer status", func(t *testing.T) {
		s := lb.DeepCopy()
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113"}, {Hostname: "10.1.2.3"}}
		expectErrors(t, ValidateStatusUpdate(s, lb),
			invalid("status.loadBalancer.ingress[0].ip", "must be a valid IP address"),
			required("status.loadBalancer.ingress[0].ipMode", "must be specified when `ip` is set"),
			invalid("status.loadBalancer.ingress[1].hostname", "must be a DNS name, not an IP address"))
	})
}

func TestValidateEndpoints(t *testing.T) {
	valid := func() *corev1.Endpoints {
		return &corev1.Endpoints{ObjectMeta: objectMeta("web"), Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.244.1.7", NodeName: ptr("node-1")}},
			Ports:     []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}},
		}}}
	}
	tests := []struct {
		name   string
		mutate func(*corev1.Endpoints)
		want   []want
	}{
		{name: "valid endpoints pass", mutate: func(*corev1.Endpoints) {}},
		{name: "subset without addresses", mutate: func(e *corev1.Endpoints) { e.Subsets[0].Addresses = nil },
			want: []want{required("subsets[0]", "must specify `addresses` or `notReadyAddresses`")}},
		{name: "bad addresses", mutate: func(e *corev1.Endpoints) {
			e.Subsets[0].Addresses = []corev1.EndpointAddress{{IP: "127.0.0.1"}, {IP: "10.0.0.1", Hostname: "Web"}}
		}, want: []want{
			invalid("subsets[0].addresses[0].ip", "may not be in the loopback range"),
			invalid("subsets[0].addresses[1].hostname", "a lowercase RFC 1123 label"),
		}},
		{name: "unnamed ports", mutate: func(e *corev1.Endpoints) {
			e.Subsets[0].Ports = []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}, {Name: "b", Port: 81}}
		}, want: []want{required("subsets[0].ports[0].name", ""), required("subsets[0].ports[1].protocol", "")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := valid()
			tc.mutate(e)
			expectErrors(t, ValidateCreate(e), tc.want...)
		})
	}
	t.Run("update checks metadata", func(t *testing.T) {
		old := valid()
		old.ObjectMeta = stored(old.ObjectMeta)
		e := old.DeepCopy()
		e.Namespace = "other"
		expectErrors(t, ValidateUpdate(e, old), invalid("metadata.namespace", "field is immutable"))
	})
}
