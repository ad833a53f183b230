package endpointslice

import (
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gantry-dev/gantry/services/controllers/internal/endpointutil"
)

const (
	// ManagedBy is the value of the endpointslice.kubernetes.io/managed-by
	// label on the slices this controller writes.
	ManagedBy = "endpointslice-controller.k8s.io"
	// DefaultMaxEndpointsPerSlice is Kubernetes' default
	// (--max-endpoints-per-slice).
	DefaultMaxEndpointsPerSlice = 100
)

var serviceGVK = corev1.SchemeGroupVersion.WithKind("Service")

// plan is what a sync writes. Create slices have no name (generateName);
// Update slices are modified copies of cached ones.
type plan struct {
	Create, Update, Delete []*discoveryv1.EndpointSlice
}

// empty reports whether there is nothing to write.
func (p plan) empty() bool { return len(p.Create)+len(p.Update)+len(p.Delete) == 0 }

// reconcile plans the slices of svc given the slices it has (managed by
// this controller, not being deleted) and the endpoints it should have.
// Slices created or updated carry triggerTime in the last-change-trigger-
// time annotation (none when it is zero).
func reconcile(svc *corev1.Service, existing []*discoveryv1.EndpointSlice, want desiredState, maxPerSlice int, triggerTime time.Time) plan {
	var p plan
	byType := map[discoveryv1.AddressType][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		if _, ok := want[s.AddressType]; !ok {
			p.Delete = append(p.Delete, s) // a family the service no longer has
			continue
		}
		byType[s.AddressType] = append(byType[s.AddressType], s)
	}
	for _, t := range slices.Sorted(maps.Keys(want)) {
		sub := reconcileAddressType(svc, t, byType[t], want[t], maxPerSlice)
		p.Create = append(p.Create, sub.Create...)
		p.Update = append(p.Update, sub.Update...)
		p.Delete = append(p.Delete, sub.Delete...)
	}
	p = recycle(svc, p)
	if svc.DeletionTimestamp != nil {
		p.Create = nil // it is going: no new slices for it
	}
	for _, s := range p.Create {
		setTriggerTime(s, triggerTime)
	}
	for _, s := range p.Update {
		setTriggerTime(s, triggerTime)
	}
	return p
}

// reconcileAddressType plans the slices of one address type.
func reconcileAddressType(svc *corev1.Service, t discoveryv1.AddressType, existing []*discoveryv1.EndpointSlice,
	groups map[string]*portGroup, maxPerSlice int) plan {
	var p plan
	byPorts := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		if !ownedBy(s, svc) {
			p.Delete = append(p.Delete, s) // left by an earlier service of this name
			continue
		}
		k := portsKey(s.Ports)
		byPorts[k] = append(byPorts[k], s)
	}
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		sub := reconcilePorts(svc, groups[k], byPorts[k], maxPerSlice)
		p.Create = append(p.Create, sub.Create...)
		p.Update = append(p.Update, sub.Update...)
		p.Delete = append(p.Delete, sub.Delete...)
	}
	for _, k := range slices.Sorted(maps.Keys(byPorts)) {
		if _, ok := groups[k]; !ok {
			p.Delete = append(p.Delete, byPorts[k]...) // no endpoint has these ports any more
		}
	}
	// A service without endpoints keeps one empty slice, so that
	// consumers can tell "no endpoints" from "not synced yet".
	if len(existing) == len(p.Delete) && len(p.Create) == 0 {
		placeholder := newSlice(svc, t, []discoveryv1.EndpointPort{})
		if len(p.Delete) == 1 && isPlaceholderOf(p.Delete[0], placeholder, svc) {
			p.Delete = nil
		} else {
			p.Create = append(p.Create, placeholder)
		}
	}
	return p
}

// reconcilePorts plans the slices of one port list: endpoints that stay
// stay where they are, changed or removed ones change their slice only,
// and new ones fill the slices being updated anyway, then the slice with
// the closest fit, then new slices.
func reconcilePorts(svc *corev1.Service, g *portGroup, existing []*discoveryv1.EndpointSlice, maxPerSlice int) plan {
	var p plan
	want := make(map[string]*discoveryv1.Endpoint, len(g.endpoints))
	for i := range g.endpoints {
		want[endpointKey(&g.endpoints[i])] = &g.endpoints[i]
	}
	labels := sliceLabels(svc)
	var unchanged []*discoveryv1.EndpointSlice
	existing = slices.Clone(existing)
	slices.SortFunc(existing, func(a, b *discoveryv1.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
	for _, s := range existing {
		var kept []discoveryv1.Endpoint
		changed := false
		for i := range s.Endpoints {
			k := endpointKey(&s.Endpoints[i])
			d, ok := want[k]
			if !ok {
				changed = true // gone (or a duplicate)
				continue
			}
			if !equality.Semantic.DeepEqual(*d, s.Endpoints[i]) {
				changed = true
			}
			kept = append(kept, *d)
			delete(want, k)
		}
		if !changed && maps.Equal(labels, s.Labels) {
			unchanged = append(unchanged, s)
			continue
		}
		if len(kept) == 0 {
			p.Delete = append(p.Delete, s)
			continue
		}
		u := s.DeepCopy()
		u.Labels = maps.Clone(labels)
		u.Endpoints = kept
		p.Update = append(p.Update, u)
	}

	// What is left to place, in a stable order.
	var left []discoveryv1.Endpoint
	for i := range g.endpoints {
		if _, ok := want[endpointKey(&g.endpoints[i])]; ok {
			left = append(left, g.endpoints[i])
		}
	}
	// Fill the slices written anyway, fullest first.
	slices.SortStableFunc(p.Update, func(a, b *discoveryv1.EndpointSlice) int { return len(b.Endpoints) - len(a.Endpoints) })
	for _, s := range p.Update {
		n := min(maxPerSlice-len(s.Endpoints), len(left))
		if n > 0 {
			s.Endpoints = append(s.Endpoints, left[:n]...)
			left = left[n:]
		}
	}
	// Then an unchanged slice they fit in best, then new slices.
	for len(left) > 0 {
		var fill *discoveryv1.EndpointSlice
		if len(left) < maxPerSlice {
			if i := closestFit(unchanged, len(left), maxPerSlice); i >= 0 {
				fill = unchanged[i].DeepCopy()
				unchanged = slices.Delete(unchanged, i, i+1)
				p.Update = append(p.Update, fill)
			}
		}
		if fill == nil {
			fill = newSlice(svc, g.addressType, g.ports)
			p.Create = append(p.Create, fill)
		}
		n := min(maxPerSlice-len(fill.Endpoints), len(left))
		fill.Endpoints = append(fill.Endpoints, left[:n]...)
		left = left[n:]
	}
	return p
}

// closestFit is the index of the slice that n more endpoints fill the
// most without overflowing, or -1.
func closestFit(candidates []*discoveryv1.EndpointSlice, n, maxPerSlice int) int {
	best, bestRoom := -1, maxPerSlice
	for i, s := range candidates {
		room := maxPerSlice - (len(s.Endpoints) + n)
		if room >= 0 && room < bestRoom {
			best, bestRoom = i, room
		}
	}
	return best
}

// recycle turns a create plus a delete of the same address type into an
// update of the slice that would be deleted: one write instead of two,
// and no moment with both or neither.
func recycle(svc *corev1.Service, p plan) plan {
	for i := 0; i < len(p.Delete) && len(p.Create) > 0; {
		old := p.Delete[i]
		last := p.Create[len(p.Create)-1]
		if old.AddressType != last.AddressType || !ownedBy(old, svc) {
			i++
			continue
		}
		u := old.DeepCopy()
		u.Labels = last.Labels
		u.OwnerReferences = last.OwnerReferences
		u.Ports = last.Ports
		u.Endpoints = last.Endpoints
		p.Update = append(p.Update, u)
		p.Create = p.Create[:len(p.Create)-1]
		p.Delete = slices.Delete(p.Delete, i, i+1)
	}
	return p
}

// newSlice is a new, empty slice of svc.
func newSlice(svc *corev1.Service, t discoveryv1.AddressType, ports []discoveryv1.EndpointPort) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       svc.Namespace,
			GenerateName:    slicePrefix(svc.Name),
			Labels:          sliceLabels(svc),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(svc, serviceGVK)},
		},
		AddressType: t,
		Ports:       ports,
		Endpoints:   []discoveryv1.Endpoint{},
	}
}

// slicePrefix is the generateName of a service's slices: "<service>-",
// shortened so the generated name stays valid.
func slicePrefix(service string) string {
	prefix := service + "-"
	if max := validation.DNS1123SubdomainMaxLength - 5; len(prefix) > max {
		prefix = prefix[:max]
	}
	return prefix
}

// sliceLabels are the labels of svc's slices: the service's own, then
// the reserved ones (service name, manager, and headless for a service
// without cluster IP), which the service's labels cannot override.
func sliceLabels(svc *corev1.Service) map[string]string {
	l := make(map[string]string, len(svc.Labels)+3)
	for k, v := range svc.Labels {
		if k == discoveryv1.LabelServiceName || k == discoveryv1.LabelManagedBy || k == corev1.IsHeadlessService {
			continue
		}
		l[k] = v
	}
	if !endpointutil.IsServiceIPSet(svc) {
		l[corev1.IsHeadlessService] = ""
	}
	l[discoveryv1.LabelServiceName] = svc.Name
	l[discoveryv1.LabelManagedBy] = ManagedBy
	return l
}

// ownedBy reports whether svc (this very object, by UID) owns s.
func ownedBy(s *discoveryv1.EndpointSlice, svc *corev1.Service) bool {
	for _, o := range s.OwnerReferences {
		if o.UID == svc.UID && o.Kind == "Service" && o.APIVersion == "v1" {
			return true
		}
	}
	return false
}

// isPlaceholderOf reports whether s is already the placeholder slice
// want describes.
func isPlaceholderOf(s, want *discoveryv1.EndpointSlice, svc *corev1.Service) bool {
	return s.AddressType == want.AddressType && len(s.Endpoints) == 0 && len(s.Ports) == 0 &&
		maps.Equal(s.Labels, want.Labels) && ownedBy(s, svc)
}

// setTriggerTime sets (or, for a zero time, clears) s's
// last-change-trigger-time annotation.
func setTriggerTime(s *discoveryv1.EndpointSlice, at time.Time) {
	if at.IsZero() {
		delete(s.Annotations, corev1.EndpointsLastChangeTriggerTime)
		return
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[corev1.EndpointsLastChangeTriggerTime] = endpointutil.FormatTriggerTime(at)
}
