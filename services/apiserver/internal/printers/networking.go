package printers

import (
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

func ingressCells(ing *networkingv1.Ingress, now time.Time) []interface{} {
	class := "<none>"
	if ing.Spec.IngressClassName != nil {
		class = *ing.Spec.IngressClassName
	}
	ports := "80"
	if len(ing.Spec.TLS) > 0 {
		ports = "80, 443"
	}
	return []interface{}{
		ing.Name,
		class,
		ingressHosts(ing.Spec.Rules),
		ingressAddress(ing.Status.LoadBalancer.Ingress),
		ports,
		age(ing.CreationTimestamp, now),
	}
}

// ingressHosts lists the first hosts the rules name, "*" when they name
// none. Past the listed hosts, the "more" count is of all rules beyond
// listLimit, hosts or not, as in Kubernetes.
func ingressHosts(rules []networkingv1.IngressRule) string {
	var hosts []string
	more := false
	for _, r := range rules {
		if len(hosts) == listLimit {
			more = true
			break
		}
		if r.Host != "" {
			hosts = append(hosts, r.Host)
		}
	}
	if len(hosts) == 0 {
		return "*"
	}
	s := strings.Join(hosts, ",")
	if more {
		s += " + " + strconv.Itoa(len(rules)-listLimit) + " more..."
	}
	return s
}

// ingressAddress is the distinct IPs, or else hostnames, of the ingress's
// load balancer, sorted.
func ingressAddress(ingress []networkingv1.IngressLoadBalancerIngress) string {
	var addrs []string
	for _, ing := range ingress {
		if ing.IP != "" {
			addrs = append(addrs, ing.IP)
		} else if ing.Hostname != "" {
			addrs = append(addrs, ing.Hostname)
		}
	}
	return strings.Join(sortedUnique(addrs), ",")
}

func ingressClassCells(ic *networkingv1.IngressClass, now time.Time) []interface{} {
	params := "<none>"
	if p := ic.Spec.Parameters; p != nil {
		params = p.Kind
		if p.APIGroup != nil {
			params += "." + *p.APIGroup
		}
		params += "/" + p.Name
	}
	return []interface{}{ic.Name, ic.Spec.Controller, params, age(ic.CreationTimestamp, now)}
}

func endpointSliceCells(s *discoveryv1.EndpointSlice, now time.Time) []interface{} {
	return []interface{}{
		s.Name,
		string(s.AddressType),
		endpointSlicePorts(s.Ports),
		endpointSliceAddresses(s.Endpoints),
		age(s.CreationTimestamp, now),
	}
}

// endpointSlicePorts lists port numbers, else names, else "*" for a port
// that matches all.
func endpointSlicePorts(ports []discoveryv1.EndpointPort) string {
	list := make([]string, len(ports))
	for i, p := range ports {
		switch {
		case p.Port != nil:
			list[i] = strconv.Itoa(int(*p.Port))
		case p.Name != nil:
			list[i] = *p.Name
		default:
			list[i] = "*"
		}
	}
	return joinWithMore(list, "<unset>")
}

func endpointSliceAddresses(endpoints []discoveryv1.Endpoint) string {
	var list []string
	for _, ep := range endpoints {
		list = append(list, ep.Addresses...)
	}
	return joinWithMore(list, "<unset>")
}

func leaseCells(l *coordinationv1.Lease, now time.Time) []interface{} {
	holder := ""
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	return []interface{}{l.Name, holder, age(l.CreationTimestamp, now)}
}
