package endpointutil

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// PodReady reports whether pod's Ready condition is True.
func PodReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// readyCondition is pod's Ready condition, or nil.
func readyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// PodIPs are pod's addresses: status.podIPs, or status.podIP when only
// that is set.
func PodIPs(pod *corev1.Pod) []string {
	if len(pod.Status.PodIPs) > 0 {
		ips := make([]string, 0, len(pod.Status.PodIPs))
		for _, ip := range pod.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		return ips
	}
	if pod.Status.PodIP != "" {
		return []string{pod.Status.PodIP}
	}
	return nil
}

// IsIPv6 reports whether s is an IPv6 address (false for anything that
// does not parse).
func IsIPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6() && !a.Is4In6()
}

// CanonicalIP is s in its canonical text form ("::ffff:1.2.3.4" is
// "1.2.3.4", leading zeros dropped), or s when it does not parse.
func CanonicalIP(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return s
	}
	return a.Unmap().String()
}

// ShouldPodBeInEndpoints reports whether pod is an endpoint at all: it
// has an address, has not finished for good (a pod that will not be
// restarted and ran to completion or failed), and, unless
// includeTerminating, is not being deleted.
func ShouldPodBeInEndpoints(pod *corev1.Pod, includeTerminating bool) bool {
	if len(PodIPs(pod)) == 0 {
		return false
	}
	if !includeTerminating && pod.DeletionTimestamp != nil {
		return false
	}
	switch pod.Spec.RestartPolicy {
	case corev1.RestartPolicyNever:
		return pod.Status.Phase != corev1.PodFailed && pod.Status.Phase != corev1.PodSucceeded
	case corev1.RestartPolicyOnFailure:
		return pod.Status.Phase != corev1.PodSucceeded
	}
	return true
}

// ShouldSetHostname reports whether pod's endpoint in svc carries the
// pod's hostname: it sets spec.hostname and its spec.subdomain names the
// service (the DNS name <hostname>.<service>.<namespace>.svc).
func ShouldSetHostname(pod *corev1.Pod, svc *corev1.Service) bool {
	return pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && svc.Namespace == pod.Namespace
}

// FindPort resolves the target port of svcPort in pod: a number is
// itself; a name is the containerPort of that name and the service
// port's protocol in one of the pod's containers (or sidecars: init
// containers that restart always).
func FindPort(pod *corev1.Pod, svcPort *corev1.ServicePort) (int32, error) {
	target := svcPort.TargetPort
	switch target.Type {
	case intstr.Int:
		if target.IntVal == 0 {
			return svcPort.Port, nil // not defaulted: the target is the port
		}
		return target.IntVal, nil
	case intstr.String:
		if p, ok := namedPort(pod.Spec.Containers, target.StrVal, svcPort.Protocol, false); ok {
			return p, nil
		}
		if p, ok := namedPort(pod.Spec.InitContainers, target.StrVal, svcPort.Protocol, true); ok {
			return p, nil
		}
		return 0, fmt.Errorf("pod %s/%s has no container port named %q (%s)", pod.Namespace, pod.Name, target.StrVal, svcPort.Protocol)
	}
	return 0, fmt.Errorf("service port %q: bad target port type %d", svcPort.Name, target.Type)
}

func namedPort(containers []corev1.Container, name string, proto corev1.Protocol, sidecarsOnly bool) (int32, bool) {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, c := range containers {
		if sidecarsOnly && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
			continue
		}
		for _, p := range c.Ports {
			pp := p.Protocol
			if pp == "" {
				pp = corev1.ProtocolTCP
			}
			if p.Name == name && pp == proto {
				return p.ContainerPort, true
			}
		}
	}
	return 0, false
}
