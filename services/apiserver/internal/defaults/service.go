package defaults

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// clusterIPFamily is the family of the cluster's service IP range. The
// cluster is single-stack.
const clusterIPFamily = corev1.IPv4Protocol

func defaultService(svc *corev1.Service) {
	spec := &svc.Spec
	setIfEmpty(&spec.Type, corev1.ServiceTypeClusterIP)
	defaultSessionAffinity(spec)
	for i := range spec.Ports {
		p := &spec.Ports[i]
		setIfEmpty(&p.Protocol, corev1.ProtocolTCP)
		if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	if externallyAccessible(spec) {
		setIfEmpty(&spec.ExternalTrafficPolicy, corev1.ServiceExternalTrafficPolicyCluster)
	}
	if spec.Type != corev1.ServiceTypeExternalName {
		setIfNil(&spec.InternalTrafficPolicy, corev1.ServiceInternalTrafficPolicyCluster)
		defaultIPFamilies(spec)
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer {
		setIfNil(&spec.AllocateLoadBalancerNodePorts, true)
		defaultLoadBalancerIPMode(&svc.Status.LoadBalancer)
	}
}

func defaultSessionAffinity(spec *corev1.ServiceSpec) {
	setIfEmpty(&spec.SessionAffinity, corev1.ServiceAffinityNone)
	switch spec.SessionAffinity {
	case corev1.ServiceAffinityNone:
		spec.SessionAffinityConfig = nil
	case corev1.ServiceAffinityClientIP:
		cfg := spec.SessionAffinityConfig
		if cfg == nil || cfg.ClientIP == nil || cfg.ClientIP.TimeoutSeconds == nil {
			spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{
				ClientIP: &corev1.ClientIPConfig{
					TimeoutSeconds: new(corev1.DefaultClientIPServiceAffinitySeconds),
				},
			}
		}
	}
}

// externallyAccessible reports whether traffic can reach the service from
// outside the cluster: through node ports, a load balancer or external IPs.
func externallyAccessible(spec *corev1.ServiceSpec) bool {
	switch spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeClusterIP:
		return len(spec.ExternalIPs) > 0
	}
	return false
}

func defaultLoadBalancerIPMode(lb *corev1.LoadBalancerStatus) {
	for i := range lb.Ingress {
		if ing := &lb.Ingress[i]; ing.IP != "" {
			setIfNil(&ing.IPMode, corev1.LoadBalancerIPModeVIP)
		}
	}
}

// defaultIPFamilies fills ipFamilyPolicy and ipFamilies as Kubernetes does
// when it allocates a service's cluster IPs on a single-stack cluster: a
// headless service without selector may carry both families, any other
// gets the family of its given cluster IPs, else the cluster's.
func defaultIPFamilies(spec *corev1.ServiceSpec) {
	ips := clusterIPs(spec)
	headless := len(ips) > 0 && ips[0] == corev1.ClusterIPNone
	headlessNoSelector := headless && len(spec.Selector) == 0
	if headlessNoSelector {
		setIfNil(&spec.IPFamilyPolicy, corev1.IPFamilyPolicyRequireDualStack)
	} else {
		setIfNil(&spec.IPFamilyPolicy, corev1.IPFamilyPolicySingleStack)
	}
	if len(spec.IPFamilies) == 0 {
		spec.IPFamilies = familiesOf(ips)
	}
	if len(spec.IPFamilies) == 0 {
		spec.IPFamilies = []corev1.IPFamily{clusterIPFamily}
	}
	if headlessNoSelector && len(spec.IPFamilies) == 1 && *spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack {
		spec.IPFamilies = append(spec.IPFamilies, otherFamily(spec.IPFamilies[0]))
	}
}

// clusterIPs is the requested cluster IPs: clusterIPs, or clusterIP when
// the client set only that.
func clusterIPs(spec *corev1.ServiceSpec) []string {
	if len(spec.ClusterIPs) > 0 {
		return spec.ClusterIPs
	}
	if spec.ClusterIP != "" {
		return []string{spec.ClusterIP}
	}
	return nil
}

// familiesOf lists the families of ips, stopping at "None" or at anything
// that is not an IP; validation reports those.
func familiesOf(ips []string) []corev1.IPFamily {
	var out []corev1.IPFamily
	for _, s := range ips {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			break
		}
		if addr.Unmap().Is4() {
			out = append(out, corev1.IPv4Protocol)
		} else {
			out = append(out, corev1.IPv6Protocol)
		}
	}
	return out
}

func otherFamily(f corev1.IPFamily) corev1.IPFamily {
	if f == corev1.IPv4Protocol {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}
