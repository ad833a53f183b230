package endpointslice

import (
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// group makes the desired state of one IPv4 port list.
func group(ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) desiredState {
	return desiredState{discoveryv1.AddressTypeIPv4: {portsKey(ports): {
		addressType: discoveryv1.AddressTypeIPv4, ports: ports, endpoints: eps,
	}}}
}

// sliceSummary is what a test checks of a planned slice.
type sliceSummary struct {
	Name      string // "" for a new slice
	Ports     string
	Endpoints []string // target pod names
}

func summarize(ss []*discoveryv1.EndpointSlice) []sliceSummary {
	out := []sliceSummary{}
	for _, s := range ss {
		sum := sliceSummary{Name: s.Name, Ports: portsKey(s.Ports), Endpoints: []string{}}
		for _, ep := range s.Endpoints {
			sum.Endpoints = append(sum.Endpoints, ep.TargetRef.Name)
		}
		out = append(out, sum)
	}
	return out
}

func names(ss []*discoveryv1.EndpointSlice) []string {
	out := []string{}
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func podNames(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%03d", prefix, i))
	}
	return out
}

func TestReconcile(t *testing.T) {
	svc := testService()
	p8080 := httpPort(8080)
	key8080 := portsKey(p8080)
	a, b, c := readyEndpoint("a", "10.0.0.1"), readyEndpoint("b", "10.0.0.2"), readyEndpoint("c", "10.0.0.3")
	notReadyB := conditions(b, false, false, false)
	many := manyEndpoints(250)
	now := metav1.Now()

	for _, tc := range []struct {
		name     string
		svc      *corev1.Service
		existing []*discoveryv1.EndpointSlice
		want     desiredState
		max      int

		create []sliceSummary
		update []sliceSummary
		delete []string
	}{
		{
			name:   "first sync: one slice with every endpoint",
			want:   group(p8080, a, b),
			create: []sliceSummary{{Ports: key8080, Endpoints: []string{"a", "b"}}},
		},
		{
			name:   "no endpoints: an empty placeholder slice",
			want:   desiredState{discoveryv1.AddressTypeIPv4: {}},
			create: []sliceSummary{{Ports: "", Endpoints: []string{}}},
		},
		{
			name:     "the placeholder is there already: nothing to do",
			existing: []*discoveryv1.EndpointSlice{existingSlice(svc, "web-ph", nil)},
			want:     desiredState{discoveryv1.AddressTypeIPv4: {}},
		},
		{
			name:     "endpoints appear: the placeholder is reused",
			existing: []*discoveryv1.EndpointSlice{existingSlice(svc, "web-ph", nil)},
			want:     group(p8080, a),
			update:   []sliceSummary{{Name: "web-ph", Ports: key8080, Endpoints: []string{"a"}}},
		},
		{
			name:     "the last endpoint goes: the slice becomes the placeholder",
			existing: []*discoveryv1.EndpointSlice{existingSlice(svc, "web-1", p8080, a)},
			want:     desiredState{discoveryv1.AddressTypeIPv4: {}},
			update:   []sliceSummary{{Name: "web-1", Ports: "", Endpoints: []string{}}},
		},
		{
			name:     "up to date: nothing to do",
			existing: []*discoveryv1.EndpointSlice{existingSlice(svc, "web-1", p8080, a, b)},
			want:     group(p8080, a, b),
		},
		{
			name: "a readiness change rewrites only the slice holding the endpoint",
			existing: []*discoveryv1.EndpointSlice{
				existingSlice(svc, "web-1", p8080, a), existingSlice(svc, "web-2", p8080, b),
			},
			want:   group(p8080, a, notReadyB),
			update: []sliceSummary{{Name: "web-2", Ports: key8080, Endpoints: []string{"b"}}},
		},
		{
			name:     "an emptied slice goes; the new endpoint joins the other",
			existing: []*discoveryv1.EndpointSlice{existingSlice(svc, "web-1", p8080, a), existingSlice(svc, "web-2", p8080, b)},
			want:     group(p8080, a, c),
			update:   []sliceSummary{{Name: "web-1", Ports: key8080, Endpoints: []string{"a", "c"}}},
			delete:   []string{"web-2"},
		},
		{
			name:     "a new endpoint goes into the slice being updated anyway",
			existing: []*discoveryv1.EndpointSlice{existingSlice(svc, "web-1", p8080, a), existingSlice(svc, "web-2", p8080, b, c)},
			want:     group(p8080, a, b, readyEndpoint("d", "10.0.0.4")),
			update:   []sliceSummary{{Name: "web-2", Ports: key8080, Endpoints: []string{"b", "d"}}},
		},
		{
			name:     "a new endpoint goes into an existing slice with room",
			existing: []*discoveryv1.EndpointSlice{existingSlice(svc, "web-1", p8080, a, b)},
			want:     group(p8080, a, b, c),
			update:   []sliceSummary{{Name: "web-1", Ports: key8080, Endpoints: []string{"a", "b", "c"}}},
		},
		{
			name:   "250 endpoints: three slices of at most 100",
			want:   group(p8080, many...),
			max:    100,
			create: []sliceSummary{{Ports: key8080, Endpoints: podNames("p", 0, 100)}, {Ports: key8080, Endpoints: podNames("p", 100, 200)}, {Ports: key8080, Endpoints: podNames("p", 200, 250)}},
		},
		{
			name: "new endpoints fill the slice they fit best, not a full one",
			existing: []*discoveryv1.EndpointSlice{
				existingSlice(svc, "web-full", p8080, many[:100]...),
				existingSlice(svc, "web-half", p8080, many[100:150]...),
				existingSlice(svc, "web-90", p8080, many[150:240]...),
			},
			want:   group(p8080, many[:245]...),
			max:    100,
			update: []sliceSummary{{Name: "web-90", Ports: key8080, Endpoints: podNames("p", 150, 245)}},
		},
		{
			name:     "the last endpoint of one of two slices goes: that slice is deleted",
			existing: []*discoveryv1.EndpointSlice{existingSlice(svc, "web-1", p8080, a), existingSlice(svc, "web-2", p8080, b)},
			want:     group(p8080, a),
			delete:   []string{"web-2"},
		},
		{
			name: "a slice of an earlier service of the same name is replaced",
			existing: []*discoveryv1.EndpointSlice{func() *discoveryv1.EndpointSlice {
				s := existingSlice(svc, "web-old", p8080, a)
				s.OwnerReferences[0].UID = "old-uid"
				return s
			}()},
			want:   group(p8080, a),
			create: []sliceSummary{{Ports: key8080, Endpoints: []string{"a"}}},
			delete: []string{"web-old"},
		},
		{
			name:     "the service's labels changed: the slices follow",
			svc:      testService(func(s *corev1.Service) { s.Labels = map[string]string{"team": "b"} }),
			existing: []*discoveryv1.EndpointSlice{existingSlice(svc, "web-1", p8080, a)},
			want:     group(p8080, a),
			update:   []sliceSummary{{Name: "web-1", Ports: key8080, Endpoints: []string{"a"}}},
		},
		{
			name: "a family the service no longer has is deleted",
			existing: []*discoveryv1.EndpointSlice{existingSlice(svc, "web-1", p8080, a), func() *discoveryv1.EndpointSlice {
				s := existingSlice(svc, "web-v6", p8080, readyEndpoint("a", "fd00::1"))
				s.AddressType = discoveryv1.AddressTypeIPv6
				return s
			}()},
			want:   group(p8080, a),
			delete: []string{"web-v6"},
		},
		{
			name:     "the target port changed: the slice is reused with the new ports",
			existing: []*discoveryv1.EndpointSlice{existingSlice(svc, "web-1", p8080, a)},
			want:     group(httpPort(9090), a),
			update:   []sliceSummary{{Name: "web-1", Ports: portsKey(httpPort(9090)), Endpoints: []string{"a"}}},
		},
		{
			name: "a service being deleted gets no new slices",
			svc:  testService(func(s *corev1.Service) { s.DeletionTimestamp = &now }),
			want: group(p8080, a),
		},
		{
			name: "duplicates of one endpoint are dropped",
			existing: []*discoveryv1.EndpointSlice{
				existingSlice(svc, "web-1", p8080, a, b), existingSlice(svc, "web-2", p8080, a, c),
			},
			want:   group(p8080, a, b, c),
			update: []sliceSummary{{Name: "web-2", Ports: key8080, Endpoints: []string{"c"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.svc
			if s == nil {
				s = svc
			}
			max := tc.max
			if max == 0 {
				max = DefaultMaxEndpointsPerSlice
			}
			p := reconcile(s, tc.existing, tc.want, max, time.Time{})
			if got := summarize(p.Create); !equality.Semantic.DeepEqual(got, nilToEmpty(tc.create)) {
				t.Errorf("create:\n got %+v\nwant %+v", got, tc.create)
			}
			if got := summarize(p.Update); !equality.Semantic.DeepEqual(got, nilToEmpty(tc.update)) {
				t.Errorf("update:\n got %+v\nwant %+v", got, tc.update)
			}
			gotDel := names(p.Delete)
			slices.Sort(gotDel)
			if tc.delete == nil {
				tc.delete = []string{}
			}
			if !slices.Equal(gotDel, tc.delete) {
				t.Errorf("delete %v, want %v", gotDel, tc.delete)
			}
			for _, sl := range append(p.Create, p.Update...) {
				if len(sl.Endpoints) > max {
					t.Errorf("slice %q has %d endpoints, more than %d", sl.Name, len(sl.Endpoints), max)
				}
				if !ownedBy(sl, s) || sl.Labels[discoveryv1.LabelServiceName] != "web" || sl.Labels[discoveryv1.LabelManagedBy] != ManagedBy {
					t.Errorf("slice %q: owner %v, labels %v", sl.Name, sl.OwnerReferences, sl.Labels)
				}
			}
		})
	}
}

func nilToEmpty(s []sliceSummary) []sliceSummary {
	if s == nil {
		return []sliceSummary{}
	}
	return s
}

func TestNewSliceMeta(t *testing.T) {
	svc := testService(func(s *corev1.Service) {
		s.Spec.ClusterIP = corev1.ClusterIPNone
		s.Labels[discoveryv1.LabelManagedBy] = "someone-else"
	})
	at := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	p := reconcile(svc, nil, group(httpPort(8080), readyEndpoint("a", "10.0.0.1")), 100, at)
	if len(p.Create) != 1 {
		t.Fatalf("%d creates, want 1", len(p.Create))
	}
	s := p.Create[0]
	wantLabels := map[string]string{
		"team": "a", discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: ManagedBy, corev1.IsHeadlessService: "",
	}
	if !equality.Semantic.DeepEqual(s.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", s.Labels, wantLabels)
	}
	if s.GenerateName != "web-" || s.Namespace != "ns" || s.AddressType != discoveryv1.AddressTypeIPv4 {
		t.Errorf("generateName %q, namespace %q, addressType %q", s.GenerateName, s.Namespace, s.AddressType)
	}
	if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "Service" || s.OwnerReferences[0].Controller == nil || !*s.OwnerReferences[0].Controller {
		t.Errorf("owner references %+v", s.OwnerReferences)
	}
	if got := s.Annotations[corev1.EndpointsLastChangeTriggerTime]; got != "2025-01-02T03:04:05.000006Z" {
		t.Errorf("trigger time annotation %q", got)
	}

	// An update without a trigger time clears the annotation.
	s.Name, s.UID = "web-1", "web-1-uid"
	p = reconcile(svc, []*discoveryv1.EndpointSlice{s}, group(httpPort(8080)), 100, time.Time{})
	if len(p.Update) != 1 {
		t.Fatalf("plan %+v, want one update", summarize(p.Update))
	}
	if _, ok := p.Update[0].Annotations[corev1.EndpointsLastChangeTriggerTime]; ok {
		t.Errorf("trigger time annotation kept: %v", p.Update[0].Annotations)
	}
	if _, ok := s.Annotations[corev1.EndpointsLastChangeTriggerTime]; !ok {
		t.Errorf("the cached slice was modified")
	}
}
