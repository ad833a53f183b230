package proxy

import (
	"maps"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/proxy/internal/metrics"
)

// triggerSlice is an EndpointSlice of Service svc in namespace ns with
// the last-change-trigger-time annotation set to trigger ("" leaves it
// out).
func triggerSlice(svc, name, trigger string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	if trigger != "" {
		s.Annotations = map[string]string{corev1.EndpointsLastChangeTriggerTime: trigger}
	}
	return s
}

func TestTrackerTriggerTimes(t *testing.T) {
	base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return base.Add(d).Format(time.RFC3339Nano) }
	nn := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: name} }
	type event struct {
		slice   *discoveryv1.EndpointSlice
		svc     *corev1.Service
		deleted bool
	}
	for _, tc := range []struct {
		name   string
		events []event
		want   map[types.NamespacedName]time.Time
	}{
		{"one update", []event{{slice: triggerSlice("a", "a-1", at(2*time.Second))}},
			map[types.NamespacedName]time.Time{nn("a"): base.Add(2 * time.Second)}},
		{"earliest of several slices and updates", []event{
			{slice: triggerSlice("a", "a-1", at(2*time.Second))},
			{slice: triggerSlice("a", "a-1", at(3*time.Second))},
			{slice: triggerSlice("a", "a-2", at(1500*time.Millisecond))},
			{slice: triggerSlice("b", "b-1", at(4*time.Second))},
		}, map[types.NamespacedName]time.Time{nn("a"): base.Add(1500 * time.Millisecond), nn("b"): base.Add(4 * time.Second)}},
		{"before the tracker started", []event{{slice: triggerSlice("a", "a-1", at(-time.Second))}}, nil},
		{"at the tracker's start", []event{{slice: triggerSlice("a", "a-1", at(0))}}, nil},
		{"deleted slice", []event{{slice: triggerSlice("a", "a-1", at(5*time.Second)), deleted: true}}, nil},
		{"update then delete keeps the update's", []event{
			{slice: triggerSlice("a", "a-1", at(time.Second))},
			{slice: triggerSlice("a", "a-1", at(time.Second)), deleted: true},
		}, map[types.NamespacedName]time.Time{nn("a"): base.Add(time.Second)}},
		{"no annotation", []event{{slice: triggerSlice("a", "a-1", "")}}, nil},
		{"unparsable annotation", []event{{slice: triggerSlice("a", "a-1", "yesterday")}}, nil},
		{"slice of no Service", []event{{slice: triggerSlice("", "x-1", at(time.Second))}}, nil},
		{"service change only", []event{{svc: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"}}}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker("node-a", func() {})
			tr.start = base
			for _, e := range tc.events {
				if e.svc != nil {
					tr.setService(e.svc, e.deleted)
				} else {
					tr.setSlice(e.slice, e.deleted)
				}
			}
			if got := tr.Take(false).Triggers; !maps.EqualFunc(got, tc.want, time.Time.Equal) {
				t.Errorf("triggers %v, want %v", got, tc.want)
			}
			if got := tr.Take(true).Triggers; len(got) != 0 {
				t.Errorf("a second Take still has triggers %v", got)
			}
		})
	}
}

// A failed sync hands its trigger times back; the earliest pending one
// wins.
func TestTrackerRequeueTriggers(t *testing.T) {
	base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	a := types.NamespacedName{Namespace: "ns", Name: "a"}
	tr := NewTracker("node-a", func() {})
	tr.start = base
	tr.setSlice(triggerSlice("a", "a-1", base.Add(time.Second).Format(time.RFC3339Nano)), false)
	failed := tr.Take(false).Triggers

	tr.setSlice(triggerSlice("a", "a-1", base.Add(4*time.Second).Format(time.RFC3339Nano)), false)
	tr.RequeueTriggers(failed)
	if got := tr.Take(false).Triggers; !got[a].Equal(base.Add(time.Second)) || len(got) != 1 {
		t.Errorf("after requeueing an earlier time: %v", got)
	}

	tr.setSlice(triggerSlice("a", "a-1", base.Add(5*time.Second).Format(time.RFC3339Nano)), false)
	tr.RequeueTriggers(map[types.NamespacedName]time.Time{a: base.Add(6 * time.Second)})
	if got := tr.Take(false).Triggers; !got[a].Equal(base.Add(5 * time.Second)) {
		t.Errorf("after requeueing a later time: %v", got)
	}
}

// ObserveNetworkProgramming feeds kube-proxy's histogram one sample per
// Service: done minus its trigger time, never negative.
func TestObserveNetworkProgramming(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	done := time.Date(2026, 11, 27, 10, 0, 10, 0, time.UTC)
	ObserveNetworkProgramming(m.NetworkProgramming, map[types.NamespacedName]time.Time{
		{Namespace: "ns", Name: "a"}: done.Add(-1500 * time.Millisecond),
		{Namespace: "ns", Name: "b"}: done.Add(-100 * time.Millisecond),
		{Namespace: "ns", Name: "c"}: done.Add(time.Second), // the controller's clock is ahead
	}, done)
	ObserveNetworkProgramming(m.NetworkProgramming, nil, done)

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "kubeproxy_network_programming_duration_seconds" {
			continue
		}
		h := f.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 3 || math.Abs(h.GetSampleSum()-1.6) > 1e-9 {
			t.Errorf("count %d sum %v, want 3 and 1.6", h.GetSampleCount(), h.GetSampleSum())
		}
		b := h.GetBucket()
		if len(b) != 80 || b[0].GetUpperBound() != 0.25 || b[1].GetUpperBound() != 0.5 ||
			b[2].GetUpperBound() != 1 || b[60].GetUpperBound() != 59 || b[61].GetUpperBound() != 60 ||
			b[73].GetUpperBound() != 120 || b[79].GetUpperBound() != 300 {
			t.Errorf("buckets are not kube-proxy's: %v", b)
		}
		// 0 and 0.1 s in the first bucket, 1.5 s under 2 s.
		if b[0].GetCumulativeCount() != 2 || b[2].GetCumulativeCount() != 2 || b[3].GetCumulativeCount() != 3 {
			t.Errorf("bucket counts: %v", b)
		}
		return
	}
	t.Fatal("no kubeproxy_network_programming_duration_seconds")
}
