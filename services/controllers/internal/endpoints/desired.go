package endpoints

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/controllers/internal/endpointutil"
)

const (
	// MaxCapacity is the most addresses an Endpoints object lists
	// (Kubernetes' limit); the rest are truncated.
	MaxCapacity = 1000
	// truncated is the over-capacity annotation's value.
	truncated = "truncated"
)

// subsetsFor computes svc's endpoint subsets from pods, in canonical
// form.
func subsetsFor(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	tolerateUnready := svc.Spec.PublishNotReadyAddresses
	var entries []entry
	for _, pod := range pods {
		if !endpointutil.ShouldPodBeInEndpoints(pod, tolerateUnready) {
			continue
		}
		addr, ok := addressFor(svc, pod)
		if !ok {
			continue // no address of the service's family
		}
		ready := tolerateUnready || endpointutil.PodReady(pod)
		if len(svc.Spec.Ports) == 0 {
			// A headless service may have no ports.
			if svc.Spec.ClusterIP == corev1.ClusterIPNone {
				entries = append(entries, entry{addr: addr, ready: ready})
			}
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			num, err := endpointutil.FindPort(pod, sp)
			if err != nil {
				continue
			}
			proto := sp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			port := corev1.EndpointPort{Name: sp.Name, Port: num, Protocol: proto, AppProtocol: sp.AppProtocol}
			entries = append(entries, entry{addr: addr, ready: ready, port: &port})
		}
	}
	return repack(entries)
}

// addressFor is pod's address in svc: its IP of the service's (first)
// family, the node it runs on, the pod itself and, when its subdomain
// names the service, its hostname.
func addressFor(svc *corev1.Service, pod *corev1.Pod) (corev1.EndpointAddress, bool) {
	wantV6 := false
	switch {
	case len(svc.Spec.IPFamilies) > 0:
		wantV6 = svc.Spec.IPFamilies[0] == corev1.IPv6Protocol
	case endpointutil.IsServiceIPSet(svc):
		wantV6 = endpointutil.IsIPv6(svc.Spec.ClusterIP)
	default:
		wantV6 = endpointutil.IsIPv6(pod.Status.PodIP)
	}
	for _, ip := range endpointutil.PodIPs(pod) {
		if endpointutil.IsIPv6(ip) != wantV6 {
			continue
		}
		a := corev1.EndpointAddress{
			IP:        endpointutil.CanonicalIP(ip),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		}
		if pod.Spec.NodeName != "" {
			node := pod.Spec.NodeName
			a.NodeName = &node
		}
		if endpointutil.ShouldSetHostname(pod, svc) {
			a.Hostname = pod.Spec.Hostname
		}
		return a, true
	}
	return corev1.EndpointAddress{}, false
}

// entry is one address offering one port (nil: a headless service
// without ports), ready or not.
type entry struct {
	addr  corev1.EndpointAddress
	ready bool
	port  *corev1.EndpointPort
}

// repack groups entries into Kubernetes' canonical subsets: for each
// port, the addresses offering it; ports offered by exactly the same
// addresses (with the same readiness) share a subset. Addresses, ports
// and subsets are sorted, so equal inputs give equal outputs.
func repack(entries []entry) []corev1.EndpointSubset {
	type addrState struct {
		addr  corev1.EndpointAddress
		ready bool
	}
	byPort := map[string]map[string]addrState{} // port key -> address key -> state
	ports := map[string]*corev1.EndpointPort{}
	for _, e := range entries {
		pk := portKey(e.port)
		ports[pk] = e.port
		m := byPort[pk]
		if m == nil {
			m = map[string]addrState{}
			byPort[pk] = m
		}
		ak := addressKey(&e.addr)
		if prev, ok := m[ak]; ok && prev.ready {
			continue // ready for this port already
		}
		m[ak] = addrState{addr: e.addr, ready: e.ready}
	}
	groups := map[string]*corev1.EndpointSubset{}
	for _, pk := range slices.Sorted(maps.Keys(byPort)) {
		m := byPort[pk]
		var sig strings.Builder
		for _, ak := range slices.Sorted(maps.Keys(m)) {
			sig.WriteString(ak + "=" + strconv.FormatBool(m[ak].ready) + ";")
		}
		s := groups[sig.String()]
		if s == nil {
			s = &corev1.EndpointSubset{}
			for _, ak := range slices.Sorted(maps.Keys(m)) {
				if st := m[ak]; st.ready {
					s.Addresses = append(s.Addresses, st.addr)
				} else {
					s.NotReadyAddresses = append(s.NotReadyAddresses, st.addr)
				}
			}
			groups[sig.String()] = s
		}
		if p := ports[pk]; p != nil {
			s.Ports = append(s.Ports, *p)
		}
	}
	out := make([]corev1.EndpointSubset, 0, len(groups))
	for _, s := range groups {
		slices.SortFunc(s.Addresses, compareAddresses)
		slices.SortFunc(s.NotReadyAddresses, compareAddresses)
		slices.SortFunc(s.Ports, func(a, b corev1.EndpointPort) int { return strings.Compare(portKey(&a), portKey(&b)) })
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b corev1.EndpointSubset) int { return strings.Compare(subsetKey(&a), subsetKey(&b)) })
	return out
}

func portKey(p *corev1.EndpointPort) string {
	if p == nil {
		return ""
	}
	return p.Name + "/" + string(p.Protocol) + "/" + strconv.Itoa(int(p.Port)) + "/" + deref(p.AppProtocol)
}

func addressKey(a *corev1.EndpointAddress) string {
	uid := ""
	if a.TargetRef != nil {
		uid = string(a.TargetRef.UID)
	}
	return a.IP + "/" + uid
}

func compareAddresses(a, b corev1.EndpointAddress) int {
	return cmp.Or(compareIPs(a.IP, b.IP), strings.Compare(addressKey(&a), addressKey(&b)))
}

// compareIPs orders addresses numerically where they parse.
func compareIPs(a, b string) int {
	return strings.Compare(padIP(a), padIP(b))
}

func padIP(s string) string {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return s
	}
	for i, p := range parts {
		parts[i] = strings.Repeat("0", max(0, 3-len(p))) + p
	}
	return strings.Join(parts, ".")
}

// subsetKey orders subsets by their ports, then first address.
func subsetKey(s *corev1.EndpointSubset) string {
	var b strings.Builder
	for i := range s.Ports {
		b.WriteString(portKey(&s.Ports[i]) + ",")
	}
	b.WriteByte('|')
	if len(s.Addresses) > 0 {
		b.WriteString(padIP(s.Addresses[0].IP))
	} else if len(s.NotReadyAddresses) > 0 {
		b.WriteString(padIP(s.NotReadyAddresses[0].IP))
	}
	return b.String()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// truncate caps subsets at MaxCapacity addresses, keeping ready ones
// first: when the ready addresses alone fit, not-ready ones are cut;
// otherwise every not-ready one goes and the ready ones are cut. Each
// subset keeps a share proportional to its size. It reports whether
// anything was cut.
func truncate(subsets []corev1.EndpointSubset) bool {
	ready, notReady := 0, 0
	for _, s := range subsets {
		ready += len(s.Addresses)
		notReady += len(s.NotReadyAddresses)
	}
	if ready+notReady <= MaxCapacity {
		return false
	}
	cutReady := ready > MaxCapacity
	budget, total := MaxCapacity-ready, notReady
	if cutReady {
		budget, total = MaxCapacity, ready
	}
	left := budget
	for i := range subsets {
		s := &subsets[i]
		n := len(s.NotReadyAddresses)
		if cutReady {
			n = len(s.Addresses)
		}
		allowed := min(int(math.Ceil(float64(budget)*float64(n)/float64(total))), left)
		if cutReady {
			s.NotReadyAddresses = nil
			if len(s.Addresses) > allowed {
				s.Addresses = s.Addresses[:allowed]
			}
			left -= len(s.Addresses)
		} else {
			if len(s.NotReadyAddresses) > allowed {
				s.NotReadyAddresses = s.NotReadyAddresses[:allowed]
			}
			left -= len(s.NotReadyAddresses)
		}
	}
	return true
}

// labelsFor are the labels of svc's Endpoints: the service's, the
// headless marker for a service without cluster IP, and skip-mirror (its
// slices come from the EndpointSlice controller, not from mirroring).
func labelsFor(svc *corev1.Service) map[string]string {
	l := make(map[string]string, len(svc.Labels)+2)
	maps.Copy(l, svc.Labels)
	delete(l, corev1.IsHeadlessService)
	if !endpointutil.IsServiceIPSet(svc) {
		l[corev1.IsHeadlessService] = ""
	}
	l[discoveryv1.LabelSkipMirror] = "true"
	return l
}

// desired returns the Endpoints svc should have given its pods and the
// current object (nil when there is none), and whether it must be
// written. Only the subsets, labels and over-capacity annotation count
// as a change; a write also stamps triggerTime (or clears it when
// zero).
func desired(svc *corev1.Service, current *corev1.Endpoints, pods []*corev1.Pod, triggerTime time.Time) (*corev1.Endpoints, bool) {
	subsets := subsetsFor(svc, pods)
	over := truncate(subsets)
	labels := labelsFor(svc)
	if current != nil {
		_, marked := current.Annotations[corev1.EndpointsOverCapacity]
		if marked == over && maps.Equal(current.Labels, labels) &&
			equality.Semantic.DeepEqual(withoutVersions(current.Subsets), subsets) {
			return current, false
		}
	}
	var ep *corev1.Endpoints
	if current != nil {
		ep = current.DeepCopy()
	} else {
		ep = &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name}}
	}
	ep.Subsets = subsets
	ep.Labels = labels
	if ep.Annotations == nil {
		ep.Annotations = map[string]string{}
	}
	if triggerTime.IsZero() {
		delete(ep.Annotations, corev1.EndpointsLastChangeTriggerTime)
	} else {
		ep.Annotations[corev1.EndpointsLastChangeTriggerTime] = endpointutil.FormatTriggerTime(triggerTime)
	}
	if over {
		ep.Annotations[corev1.EndpointsOverCapacity] = truncated
	} else {
		delete(ep.Annotations, corev1.EndpointsOverCapacity)
	}
	return ep, true
}

// withoutVersions is subsets with the resourceVersion of every target
// reference cleared (others may set it; it does not matter here).
func withoutVersions(subsets []corev1.EndpointSubset) []corev1.EndpointSubset {
	has := false
	for _, s := range subsets {
		for _, list := range [][]corev1.EndpointAddress{s.Addresses, s.NotReadyAddresses} {
			for _, a := range list {
				if a.TargetRef != nil && a.TargetRef.ResourceVersion != "" {
					has = true
				}
			}
		}
	}
	if !has {
		return subsets
	}
	out := make([]corev1.EndpointSubset, len(subsets))
	for i := range subsets {
		s := subsets[i].DeepCopy()
		for _, list := range [][]corev1.EndpointAddress{s.Addresses, s.NotReadyAddresses} {
			for j := range list {
				if list[j].TargetRef != nil {
					list[j].TargetRef.ResourceVersion = ""
				}
			}
		}
		out[i] = *s
	}
	return out
}
