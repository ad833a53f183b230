package proxy

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// defaultAffinitySeconds is Kubernetes' default ClientIP affinity
// timeout (3 hours).
const defaultAffinitySeconds = 10800

// ServicePorts returns the ports of svc the proxier programs, and what
// it skipped and why. Headless and ExternalName Services have none (and
// no problem: they are not the proxier's business); so does a Service
// without an IPv4 ClusterIP.
func ServicePorts(svc *corev1.Service) ([]*ServicePort, []Problem) {
	name := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil, nil
	}
	ip := svc.Spec.ClusterIP
	if ip == "" || ip == corev1.ClusterIPNone {
		return nil, nil
	}
	var problems []Problem
	skip := func(reason, format string, args ...any) {
		problems = append(problems, Problem{Service: name, Reason: reason, Message: fmt.Sprintf(format, args...)})
	}
	clusterIP, err := netip.ParseAddr(ip)
	if err != nil || !clusterIP.Is4() {
		skip("InvalidClusterIP", "cluster IP %q is not an IPv4 address: service skipped", ip)
		return nil, problems
	}
	affinity := int32(0)
	if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		affinity = defaultAffinitySeconds
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			affinity = *c.ClientIP.TimeoutSeconds
		}
		if affinity <= 0 || affinity > 86400 {
			skip("InvalidSessionAffinity", "sessionAffinityConfig.clientIP.timeoutSeconds %d is outside 1..86400: using %d",
				affinity, defaultAffinitySeconds)
			affinity = defaultAffinitySeconds
		}
	}
	externalIPs := parseIPv4s(svc.Spec.ExternalIPs, func(s string) {
		skip("InvalidExternalIP", "external IP %q is not an IPv4 address: ignored", s)
	})
	var lbIPs []netip.Addr
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		var raw []string
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if in.IP != "" {
				raw = append(raw, in.IP)
			}
		}
		lbIPs = parseIPv4s(raw, func(s string) {
			skip("InvalidLoadBalancerIP", "load balancer IP %q is not an IPv4 address: ignored", s)
		})
	}
	externalLocal := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal &&
		(svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer || len(externalIPs) > 0)
	internalLocal := svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal

	var ports []*ServicePort
	seen := map[ServicePortName]bool{}
	for _, p := range svc.Spec.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		spn := ServicePortName{NamespacedName: name, Port: p.Name, Protocol: proto}
		switch {
		case !supportedProtocol(proto):
			skip("UnsupportedProtocol", "port %q: protocol %q is not TCP, UDP or SCTP: port skipped", p.Name, proto)
			continue
		case !validPort(p.Port):
			skip("InvalidPort", "port %q: port %d is outside 1..65535: port skipped", p.Name, p.Port)
			continue
		case p.NodePort != 0 && !validPort(p.NodePort):
			skip("InvalidPort", "port %q: nodePort %d is outside 1..65535: port skipped", p.Name, p.NodePort)
			continue
		case seen[spn]:
			skip("DuplicatePort", "port %q/%s is listed twice: the second is skipped", p.Name, proto)
			continue
		}
		seen[spn] = true
		sp := &ServicePort{
			Name: spn, ClusterIP: clusterIP, Port: p.Port, Protocol: proto,
			ExternalIPs: externalIPs, LoadBalancerIPs: lbIPs, AffinitySeconds: affinity,
			ExternalPolicyLocal: externalLocal, InternalPolicyLocal: internalLocal,
		}
		if svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
			sp.NodePort = p.NodePort
		}
		ports = append(ports, sp)
	}
	return ports, problems
}

func parseIPv4s(in []string, bad func(string)) []netip.Addr {
	var out []netip.Addr
	for _, s := range in {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			bad(s)
			continue
		}
		out = append(out, a)
	}
	return out
}
