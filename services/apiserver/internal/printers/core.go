package printers

import (
	"cmp"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// listLimit is how many items a cell lists before "+ N more...".
const listLimit = 3

const (
	nodeRoleLabelPrefix = "node-role.kubernetes.io/"
	legacyNodeRoleLabel = "kubernetes.io/role"
)

func nodeCells(node *corev1.Node, now time.Time) []interface{} {
	info := node.Status.NodeInfo
	return []interface{}{
		node.Name,
		nodeStatus(node),
		orNone(strings.Join(nodeRoles(node), ",")),
		age(node.CreationTimestamp, now),
		info.KubeletVersion,
		orNone(nodeAddress(node, corev1.NodeInternalIP)),
		orNone(nodeAddress(node, corev1.NodeExternalIP)),
		orUnknown(info.OSImage),
		orUnknown(info.KernelVersion),
		orUnknown(info.ContainerRuntimeVersion),
	}
}

// nodeStatus is "Ready", "NotReady" or "Unknown", with
// ",SchedulingDisabled" for a cordoned node.
func nodeStatus(node *corev1.Node) string {
	status := "Unknown"
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			status = "NotReady"
			if c.Status == corev1.ConditionTrue {
				status = "Ready"
			}
		}
	}
	if node.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	return status
}

// nodeRoles are the roles the node's labels give it, sorted: the <role>
// of each node-role.kubernetes.io/<role> label, and the value of a
// kubernetes.io/role label.
func nodeRoles(node *corev1.Node) []string {
	var roles []string
	for k, v := range node.Labels {
		if role, ok := strings.CutPrefix(k, nodeRoleLabelPrefix); ok && role != "" {
			roles = append(roles, role)
		} else if k == legacyNodeRoleLabel && v != "" {
			roles = append(roles, v)
		}
	}
	return sortedUnique(roles)
}

func nodeAddress(node *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range node.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return ""
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}

func namespaceCells(ns *corev1.Namespace, now time.Time) []interface{} {
	return []interface{}{ns.Name, string(ns.Status.Phase), age(ns.CreationTimestamp, now)}
}

func serviceCells(svc *corev1.Service, now time.Time) []interface{} {
	return []interface{}{
		svc.Name,
		string(svc.Spec.Type),
		orNone(clusterIP(&svc.Spec)),
		serviceExternalIP(svc),
		orNone(servicePorts(svc.Spec.Ports)),
		age(svc.CreationTimestamp, now),
		labels.FormatLabels(svc.Spec.Selector),
	}
}

// clusterIP is the service's primary cluster IP, or "None" when headless.
func clusterIP(spec *corev1.ServiceSpec) string {
	if len(spec.ClusterIPs) > 0 {
		return spec.ClusterIPs[0]
	}
	return spec.ClusterIP
}

// serviceExternalIP is where the service is reached from outside: its
// external IPs, its load balancer's addresses ("<pending>" until it has
// one) or its external name.
func serviceExternalIP(svc *corev1.Service) string {
	spec := &svc.Spec
	switch spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		return orNone(strings.Join(spec.ExternalIPs, ","))
	case corev1.ServiceTypeLoadBalancer:
		addrs := append(loadBalancerAddresses(svc.Status.LoadBalancer.Ingress), spec.ExternalIPs...)
		if len(addrs) == 0 {
			return "<pending>"
		}
		return strings.Join(addrs, ",")
	case corev1.ServiceTypeExternalName:
		return spec.ExternalName
	}
	return "<unknown>"
}

// loadBalancerAddresses lists the distinct IPs, or else hostnames, of a
// load balancer's ingress points, sorted.
func loadBalancerAddresses(ingress []corev1.LoadBalancerIngress) []string {
	var addrs []string
	for _, ing := range ingress {
		if ing.IP != "" {
			addrs = append(addrs, ing.IP)
		} else if ing.Hostname != "" {
			addrs = append(addrs, ing.Hostname)
		}
	}
	return sortedUnique(addrs)
}

// servicePorts is "80/TCP", or "80:30080/TCP" with a node port, per port.
func servicePorts(ports []corev1.ServicePort) string {
	pieces := make([]string, len(ports))
	for i, p := range ports {
		if p.NodePort > 0 {
			pieces[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		} else {
			pieces[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return strings.Join(pieces, ",")
}

func endpointsCells(ep *corev1.Endpoints, now time.Time) []interface{} {
	return []interface{}{ep.Name, formatEndpoints(ep), age(ep.CreationTimestamp, now)}
}

// formatEndpoints lists the first endpoints as ip:port, or ip alone for a
// subset without ports: "10.0.0.1:80,10.0.0.2:80 + 3 more...".
func formatEndpoints(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return "<none>"
	}
	var all []string
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			for _, a := range ss.Addresses {
				all = append(all, a.IP)
			}
			continue
		}
		for _, p := range ss.Ports {
			for _, a := range ss.Addresses {
				all = append(all, net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	return joinWithMore(all, "")
}

// joinWithMore joins the first listLimit items with commas and tells how
// many more there are; an empty list is empty.
func joinWithMore(items []string, empty string) string {
	if len(items) == 0 {
		return empty
	}
	if len(items) <= listLimit {
		return strings.Join(items, ",")
	}
	return fmt.Sprintf("%s + %d more...", strings.Join(items[:listLimit], ","), len(items)-listLimit)
}

func configMapCells(cm *corev1.ConfigMap, now time.Time) []interface{} {
	return []interface{}{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), age(cm.CreationTimestamp, now)}
}

func secretCells(s *corev1.Secret, now time.Time) []interface{} {
	return []interface{}{s.Name, string(s.Type), int64(len(s.Data)), age(s.CreationTimestamp, now)}
}

func serviceAccountCells(sa *corev1.ServiceAccount, now time.Time) []interface{} {
	return []interface{}{sa.Name, int64(len(sa.Secrets)), age(sa.CreationTimestamp, now)}
}

func eventCells(ev *corev1.Event, now time.Time) []interface{} {
	firstSeen := age(ev.FirstTimestamp, now)
	if ev.FirstTimestamp.IsZero() {
		firstSeen = microAge(ev.EventTime, now)
	}
	lastSeen := age(ev.LastTimestamp, now)
	if ev.LastTimestamp.IsZero() {
		lastSeen = firstSeen
	}
	count := ev.Count
	if ev.Series != nil {
		lastSeen = microAge(ev.Series.LastObservedTime, now)
		count = ev.Series.Count
	} else if count == 0 {
		// Events of the events.k8s.io API that happened once carry no count.
		count = 1
	}
	return []interface{}{
		lastSeen,
		ev.Type,
		ev.Reason,
		eventObject(ev.InvolvedObject),
		ev.InvolvedObject.FieldPath,
		eventSource(ev),
		strings.TrimSpace(ev.Message),
		firstSeen,
		int64(count),
		ev.Name,
	}
}

// eventObject is "kind/name" of the object an event is about.
func eventObject(ref corev1.ObjectReference) string {
	kind := strings.ToLower(ref.Kind)
	if ref.Name == "" {
		return kind
	}
	return kind + "/" + ref.Name
}

// eventSource is "component, host", from the reporting controller and
// instance when the older source fields are empty.
func eventSource(ev *corev1.Event) string {
	component := cmp.Or(ev.Source.Component, ev.ReportingController)
	host := cmp.Or(ev.Source.Host, ev.ReportingInstance)
	if host == "" {
		return component
	}
	return component + ", " + host
}
