package endpointutil

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// HasSelector reports whether the endpoints of svc come from pods: a
// service without a selector has endpoints written by someone else, and
// an ExternalName service has none.
func HasSelector(svc *corev1.Service) bool {
	return len(svc.Spec.Selector) > 0 && svc.Spec.Type != corev1.ServiceTypeExternalName
}

// IsServiceIPSet reports whether svc has a cluster IP (is not headless).
func IsServiceIPSet(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP != corev1.ClusterIPNone && svc.Spec.ClusterIP != ""
}

// Selects reports whether svc selects pod (same namespace, selector
// matches its labels).
func Selects(svc *corev1.Service, pod *corev1.Pod) bool {
	if len(svc.Spec.Selector) == 0 || svc.Namespace != pod.Namespace {
		return false
	}
	return labels.SelectorFromValidatedSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels))
}

// IsAPIServerService reports whether svc is default/kubernetes, whose
// endpoints the API servers maintain themselves.
func IsAPIServerService(namespace, name string) bool {
	return namespace == corev1.NamespaceDefault && name == "kubernetes"
}
