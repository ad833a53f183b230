package endpointslice

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/gantry-dev/gantry/services/controllers/internal/endpointutil"
)

// portGroup is the endpoints of one address type that share one port
// list: they can go in the same slices.
type portGroup struct {
	addressType discoveryv1.AddressType
	ports       []discoveryv1.EndpointPort
	// endpoints are ordered by endpointKey.
	endpoints []discoveryv1.Endpoint
}

// desiredState is a service's endpoints by address type, then by port
// list (portsKey).
type desiredState map[discoveryv1.AddressType]map[string]*portGroup

// nodeGetter returns a node from the cache (NotFound when it has none).
type nodeGetter func(name string) (*corev1.Node, error)

// desired computes the endpoints pods give svc. Pods whose node is not
// known are left out (unless the service publishes not-ready addresses)
// and reported in the error, so the service is synced again later; the
// other endpoints are still returned.
func desired(svc *corev1.Service, pods []*corev1.Pod, nodes nodeGetter) (desiredState, error) {
	types := addressTypes(svc)
	state := desiredState{}
	for t := range types {
		state[t] = map[string]*portGroup{}
	}
	var missing []string
	for _, pod := range pods {
		if !endpointutil.ShouldPodBeInEndpoints(pod, true) {
			continue
		}
		var node *corev1.Node
		if pod.Spec.NodeName != "" {
			n, err := nodes(pod.Spec.NodeName)
			switch {
			case err == nil:
				node = n
			case !apierrors.IsNotFound(err):
				return nil, fmt.Errorf("node %s of pod %s: %w", pod.Spec.NodeName, pod.Name, err)
			case !svc.Spec.PublishNotReadyAddresses:
				missing = append(missing, pod.Name+" (node "+pod.Spec.NodeName+")")
				continue
			}
		}
		ports := endpointPorts(svc, pod)
		key := portsKey(ports)
		for t := range types {
			ep := podToEndpoint(pod, node, svc, t)
			if len(ep.Addresses) == 0 {
				continue
			}
			g := state[t][key]
			if g == nil {
				g = &portGroup{addressType: t, ports: ports}
				state[t][key] = g
			}
			g.endpoints = append(g.endpoints, ep)
		}
	}
	for _, groups := range state {
		for _, g := range groups {
			slices.SortFunc(g.endpoints, func(a, b discoveryv1.Endpoint) int {
				return strings.Compare(endpointKey(&a), endpointKey(&b))
			})
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return state, fmt.Errorf("pods of service %s/%s left out until their node is known: %s",
			svc.Namespace, svc.Name, strings.Join(missing, ", "))
	}
	return state, nil
}

// addressTypes are the address families of svc's slices: its ipFamilies;
// without them (an older API server), the family of its cluster IP, or
// both for a headless service.
func addressTypes(svc *corev1.Service) sets.Set[discoveryv1.AddressType] {
	types := sets.New[discoveryv1.AddressType]()
	for _, f := range svc.Spec.IPFamilies {
		switch f {
		case corev1.IPv4Protocol:
			types.Insert(discoveryv1.AddressTypeIPv4)
		case corev1.IPv6Protocol:
			types.Insert(discoveryv1.AddressTypeIPv6)
		}
	}
	if types.Len() > 0 {
		return types
	}
	if endpointutil.IsServiceIPSet(svc) {
		if endpointutil.IsIPv6(svc.Spec.ClusterIP) {
			return types.Insert(discoveryv1.AddressTypeIPv6)
		}
		return types.Insert(discoveryv1.AddressTypeIPv4)
	}
	return types.Insert(discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6)
}

// endpointPorts resolves svc's ports in pod; a port whose named target
// the pod lacks is left out. A headless service may have no ports.
func endpointPorts(svc *corev1.Service, pod *corev1.Pod) []discoveryv1.EndpointPort {
	ports := []discoveryv1.EndpointPort{}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		num, err := endpointutil.FindPort(pod, sp)
		if err != nil {
			continue
		}
		name, proto := sp.Name, sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		ports = append(ports, discoveryv1.EndpointPort{
			Name: &name, Port: &num, Protocol: &proto, AppProtocol: sp.AppProtocol,
		})
	}
	return ports
}

// podToEndpoint is pod's endpoint in a slice of address type t. A pod
// being deleted is terminating and never ready (unless the service
// publishes not-ready addresses); serving is its readiness regardless.
func podToEndpoint(pod *corev1.Pod, node *corev1.Node, svc *corev1.Service, t discoveryv1.AddressType) discoveryv1.Endpoint {
	serving := endpointutil.PodReady(pod)
	terminating := pod.DeletionTimestamp != nil
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	ep := discoveryv1.Endpoint{
		Addresses:  addressesOf(pod, t),
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef: &corev1.ObjectReference{
			Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
		},
	}
	if pod.Spec.NodeName != "" {
		nodeName := pod.Spec.NodeName
		ep.NodeName = &nodeName
	}
	if node != nil {
		if zone := node.Labels[corev1.LabelTopologyZone]; zone != "" {
			ep.Zone = &zone
		}
	}
	if endpointutil.ShouldSetHostname(pod, svc) {
		hostname := pod.Spec.Hostname
		ep.Hostname = &hostname
	}
	ep.Hints = hintsFor(svc, &ep)
	return ep
}

// hintsFor returns the routing hints of a ready endpoint of a service
// asking for topology-aware routing (spec.trafficDistribution
// PreferClose/PreferSameZone: its zone; PreferSameNode: its node too).
func hintsFor(svc *corev1.Service, ep *discoveryv1.Endpoint) *discoveryv1.EndpointHints {
	td := svc.Spec.TrafficDistribution
	if td == nil || ep.Conditions.Ready == nil || !*ep.Conditions.Ready {
		return nil
	}
	var h discoveryv1.EndpointHints
	switch *td {
	case corev1.ServiceTrafficDistributionPreferClose, corev1.ServiceTrafficDistributionPreferSameZone,
		corev1.ServiceTrafficDistributionPreferSameNode:
		if ep.Zone != nil {
			h.ForZones = []discoveryv1.ForZone{{Name: *ep.Zone}}
		}
		if *td == corev1.ServiceTrafficDistributionPreferSameNode && ep.NodeName != nil {
			h.ForNodes = []discoveryv1.ForNode{{Name: *ep.NodeName}}
		}
	}
	if h.ForZones == nil && h.ForNodes == nil {
		return nil
	}
	return &h
}

// addressesOf are pod's IPs of address type t.
func addressesOf(pod *corev1.Pod, t discoveryv1.AddressType) []string {
	var out []string
	for _, ip := range endpointutil.PodIPs(pod) {
		v6 := endpointutil.IsIPv6(ip)
		if (v6 && t == discoveryv1.AddressTypeIPv6) || (!v6 && t == discoveryv1.AddressTypeIPv4) {
			out = append(out, endpointutil.CanonicalIP(ip))
		}
	}
	return out
}

// endpointKey identifies an endpoint across syncs: its pod, hostname and
// addresses. An endpoint with the same key but other conditions is the
// same endpoint, changed.
func endpointKey(ep *discoveryv1.Endpoint) string {
	var b strings.Builder
	if ep.TargetRef != nil {
		b.WriteString(ep.TargetRef.Namespace + "/" + ep.TargetRef.Name)
	}
	b.WriteByte('|')
	if ep.Hostname != nil {
		b.WriteString(*ep.Hostname)
	}
	b.WriteByte('|')
	addrs := slices.Clone(ep.Addresses)
	slices.Sort(addrs)
	b.WriteString(strings.Join(addrs, ","))
	return b.String()
}

// portsKey identifies a port list regardless of its order.
func portsKey(ports []discoveryv1.EndpointPort) string {
	parts := make([]string, 0, len(ports))
	for _, p := range ports {
		parts = append(parts, strings.Join([]string{
			deref(p.Name), string(ptrOr(p.Protocol, corev1.ProtocolTCP)), portNumber(p.Port), deref(p.AppProtocol),
		}, "/"))
	}
	slices.SortFunc(parts, cmp.Compare[string])
	return strings.Join(parts, ",")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func portNumber(p *int32) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(int(*p))
}
