package nodelifecycle

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestComputeZoneState(t *testing.T) {
	T, F, U := corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown
	for _, tc := range []struct {
		name  string
		ready []corev1.ConditionStatus
		want  zoneState
	}{
		{"all ready", []corev1.ConditionStatus{T, T, T}, stateNormal},
		{"one of two down", []corev1.ConditionStatus{T, U}, stateNormal},
		{"none ready", []corev1.ConditionStatus{U, F}, stateFullDisruption},
		{"the only node down", []corev1.ConditionStatus{U}, stateFullDisruption},
		{"three of five down: partial", []corev1.ConditionStatus{U, U, F, T, T}, statePartialDisruption},
		{"two of three down: not more than two", []corev1.ConditionStatus{U, U, T}, stateNormal},
		{"three of ten: below the threshold", []corev1.ConditionStatus{U, U, U, T, T, T, T, T, T, T}, stateNormal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := computeZoneState(tc.ready, 0.55); got != tc.want {
				t.Errorf("state %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRatesForZone(t *testing.T) {
	r := rates{primary: 0.1, secondary: 0.01, largeCluster: 50}
	for _, tc := range []struct {
		state zoneState
		size  int
		want  float64
	}{
		{stateNormal, 3, 0.1},
		{stateFullDisruption, 3, 0.1},
		{statePartialDisruption, 10, 0},
		{statePartialDisruption, 51, 0.01},
	} {
		if got := r.forZone(tc.state, tc.size); got != tc.want {
			t.Errorf("forZone(%s, %d) = %v, want %v", tc.state, tc.size, got, tc.want)
		}
	}
}

func TestZoneKey(t *testing.T) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{}}}
	if zoneKey(n) != "" {
		t.Errorf("no labels: %q", zoneKey(n))
	}
	n.Labels[corev1.LabelTopologyRegion] = "eu"
	n.Labels[corev1.LabelFailureDomainBetaZone] = "eu-1"
	if got := zoneKey(n); got != "eu:\x00:eu-1" {
		t.Errorf("zone key %q", got)
	}
}

func TestTaintQueue(t *testing.T) {
	now := t0
	q := newTaintQueue(0.1, now) // one every 10s, one token at start
	for _, n := range []string{"a", "b", "c"} {
		if !q.add(n) {
			t.Fatalf("add %s refused", n)
		}
	}
	if q.add("a") {
		t.Fatal("a queued twice")
	}
	var done []string
	take := func(n string) bool { done = append(done, n); return true }
	q.try(now, take)
	if !slices.Equal(done, []string{"a"}) {
		t.Fatalf("first pass tainted %v, want [a] (burst of one)", done)
	}
	q.try(now.Add(5*time.Second), take)
	if len(done) != 1 {
		t.Fatalf("within 10s: %v", done)
	}
	q.try(now.Add(10*time.Second), take)
	if !slices.Equal(done, []string{"a", "b"}) {
		t.Fatalf("after 10s: %v", done)
	}
	// a was tainted: still a member, not queued again; requeued when its
	// taint went missing.
	if q.add("a") {
		t.Fatal("a tainted node queued again")
	}
	q.requeue("a")
	q.requeue("c") // pending: stays in place
	if !slices.Equal(q.pending, []string{"c", "a"}) {
		t.Fatalf("pending %v", q.pending)
	}
	q.remove("c")
	// A failure goes to the back.
	q.limiter.setRate(100, now.Add(10*time.Second))
	q.add("d")
	failA := func(n string) bool { return n != "a" }
	q.try(now.Add(11*time.Second), failA)
	if !slices.Equal(q.pending, []string{"d", "a"}) {
		t.Fatalf("after a failure: pending %v", q.pending)
	}
	q.try(now.Add(12*time.Second), failA)
	if !slices.Equal(q.pending, []string{"a"}) {
		t.Fatalf("after a failure: pending %v", q.pending)
	}
}

func TestBucket(t *testing.T) {
	b := newBucket(1, t0)
	if !b.allow(t0) || b.allow(t0) {
		t.Fatal("a full bucket of one lets exactly one through")
	}
	if !b.allow(t0.Add(time.Second)) {
		t.Fatal("refilled after 1s at 1 qps")
	}
	b.setRate(0, t0.Add(time.Second))
	if b.allow(t0.Add(time.Hour)) {
		t.Fatal("rate 0 lets something through")
	}
	b.setRate(1, t0.Add(time.Hour))
	if b.allow(t0.Add(time.Hour)) {
		t.Fatal("a drained bucket is full again after a rate change")
	}
	if !b.allow(t0.Add(time.Hour + time.Second)) {
		t.Fatal("not refilled at the new rate")
	}
}
