package defaults

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// defaultIngressClass makes a parameters reference cluster-scoped unless
// it says otherwise.
func defaultIngressClass(ic *networkingv1.IngressClass) {
	if p := ic.Spec.Parameters; p != nil {
		setIfNil(&p.Scope, networkingv1.IngressClassParametersReferenceScopeCluster)
	}
}

func defaultEndpointSlice(s *discoveryv1.EndpointSlice) {
	for i := range s.Ports {
		p := &s.Ports[i]
		setIfNil(&p.Name, "")
		setIfNil(&p.Protocol, corev1.ProtocolTCP)
	}
}
