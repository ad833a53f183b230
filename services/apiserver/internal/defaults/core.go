package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// defaultNamespace labels the namespace with its own name, so selectors
// can pick namespaces by name, and marks it Active.
func defaultNamespace(ns *corev1.Namespace) {
	if ns.Name != "" {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[corev1.LabelMetadataName] = ns.Name
	}
	setIfEmpty(&ns.Status.Phase, corev1.NamespaceActive)
}

// defaultNode makes allocatable equal to capacity when a node reports no
// allocatable resources.
func defaultNode(node *corev1.Node) {
	st := &node.Status
	roundResourceList(st.Capacity)
	roundResourceList(st.Allocatable)
	if st.Allocatable == nil && st.Capacity != nil {
		st.Allocatable = st.Capacity.DeepCopy()
	}
}

func defaultSecret(s *corev1.Secret) {
	setIfEmpty(&s.Type, corev1.SecretTypeOpaque)
}

func defaultEndpoints(ep *corev1.Endpoints) {
	for i := range ep.Subsets {
		ports := ep.Subsets[i].Ports
		for j := range ports {
			setIfEmpty(&ports[j].Protocol, corev1.ProtocolTCP)
		}
	}
}
