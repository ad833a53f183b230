package replicaset

import (
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// pod builds a pod for the tables: name, node ("" unscheduled), phase,
// ready since readyAt (zero: not ready), created at created.
type podSpec struct {
	name     string
	node     string
	phase    corev1.PodPhase
	readyAt  time.Time
	created  time.Time
	restarts int32
	cost     string
}

func (s podSpec) pod() *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.name, Namespace: "ns", UID: types.UID("uid-" + s.name),
			CreationTimestamp: metav1.NewTime(s.created),
		},
		Spec:   corev1.PodSpec{NodeName: s.node},
		Status: corev1.PodStatus{Phase: s.phase},
	}
	if p.Status.Phase == "" {
		p.Status.Phase = corev1.PodRunning
	}
	if s.cost != "" {
		p.Annotations = map[string]string{DeletionCostAnnotation: s.cost}
	}
	if !s.readyAt.IsZero() {
		p.Status.Conditions = []corev1.PodCondition{{
			Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(s.readyAt),
		}}
	} else {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
	}
	if s.restarts > 0 {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", RestartCount: s.restarts}}
	}
	return p
}

func pods(specs ...podSpec) []*corev1.Pod {
	out := make([]*corev1.Pod, len(specs))
	for i, s := range specs {
		out[i] = s.pod()
	}
	return out
}

func names(ps []*corev1.Pod) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func TestPodsToDelete(t *testing.T) {
	ready := t0.Add(-time.Hour)
	created := t0.Add(-2 * time.Hour)
	for _, tc := range []struct {
		name    string
		pods    []podSpec
		related []podSpec
		n       int
		want    []string
	}{
		{
			name: "unscheduled before scheduled",
			pods: []podSpec{
				{name: "scheduled", node: "n1", readyAt: ready, created: created},
				{name: "unscheduled", phase: corev1.PodPending, created: created},
			},
			n: 1, want: []string{"unscheduled"},
		},
		{
			name: "pending before unknown before running",
			pods: []podSpec{
				{name: "running", node: "n1", phase: corev1.PodRunning, created: created},
				{name: "unknown", node: "n1", phase: corev1.PodUnknown, created: created},
				{name: "pending", node: "n1", phase: corev1.PodPending, created: created},
			},
			n: 2, want: []string{"pending", "unknown"},
		},
		{
			name: "not ready before ready",
			pods: []podSpec{
				{name: "ready", node: "n1", readyAt: ready, created: created},
				{name: "not-ready", node: "n1", created: created.Add(-time.Hour)},
			},
			n: 1, want: []string{"not-ready"},
		},
		{
			name: "lower deletion cost first",
			pods: []podSpec{
				{name: "cheap", node: "n1", readyAt: ready, created: created.Add(-time.Hour), cost: "-5"},
				{name: "dear", node: "n1", readyAt: ready, created: created, cost: "100"},
				{name: "default", node: "n1", readyAt: ready, created: created.Add(time.Minute)},
			},
			n: 2, want: []string{"cheap", "default"},
		},
		{
			name: "doubled up on a node first",
			pods: []podSpec{
				{name: "alone", node: "n1", readyAt: ready, created: created.Add(time.Minute)},
				{name: "crowded", node: "n2", readyAt: ready, created: created},
			},
			related: []podSpec{
				{name: "alone", node: "n1"},
				{name: "crowded", node: "n2"},
				{name: "sibling", node: "n2"},
			},
			n: 1, want: []string{"crowded"},
		},
		{
			name: "ready for less time first",
			pods: []podSpec{
				{name: "long-ready", node: "n1", readyAt: ready.Add(-time.Hour), created: created.Add(time.Minute)},
				{name: "just-ready", node: "n1", readyAt: ready, created: created},
			},
			n: 1, want: []string{"just-ready"},
		},
		{
			name: "more restarts first",
			pods: []podSpec{
				{name: "stable", node: "n1", created: created},
				{name: "flappy", node: "n1", created: created.Add(-time.Hour), restarts: 4},
			},
			n: 1, want: []string{"flappy"},
		},
		{
			name: "newest first",
			pods: []podSpec{
				{name: "old", node: "n1", readyAt: ready, created: created},
				{name: "new", node: "n1", readyAt: ready, created: created.Add(time.Minute)},
				{name: "newest", node: "n1", readyAt: ready, created: created.Add(2 * time.Minute)},
			},
			n: 2, want: []string{"newest", "new"},
		},
		{
			name: "all of them",
			pods: []podSpec{{name: "a", node: "n1"}, {name: "b", node: "n1"}},
			n:    5, want: []string{"a", "b"},
		},
		{
			name: "none",
			pods: []podSpec{{name: "a", node: "n1"}},
			n:    0, want: []string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := names(podsToDelete(pods(tc.pods...), pods(tc.related...), tc.n))
			if !slices.Equal(got, tc.want) {
				t.Errorf("podsToDelete = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPlanReplicas(t *testing.T) {
	many := make([]podSpec, 12)
	for i := range many {
		many[i] = podSpec{name: fmt.Sprintf("p%02d", i), node: "n1", readyAt: t0, created: t0.Add(time.Duration(i) * time.Second)}
	}
	for _, tc := range []struct {
		name       string
		replicas   int
		active     []podSpec
		burst      int
		wantCreate int
		wantDelete []string
	}{
		{name: "steady", replicas: 3, active: many[:3], burst: 500},
		{name: "scale up from zero", replicas: 3, burst: 500, wantCreate: 3},
		{name: "scale up", replicas: 5, active: many[:2], burst: 500, wantCreate: 3},
		{name: "scale up capped by burst", replicas: 1000, active: many[:2], burst: 500, wantCreate: 500},
		{name: "scale down newest first", replicas: 10, active: many, burst: 500, wantDelete: []string{"p11", "p10"}},
		{name: "scale down capped by burst", replicas: 0, active: many, burst: 3, wantDelete: []string{"p11", "p10", "p09"}},
		{name: "scale to zero", replicas: 0, active: many[:2], burst: 500, wantDelete: []string{"p00", "p01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planReplicas(tc.replicas, pods(tc.active...), nil, tc.burst)
			if p.create != tc.wantCreate {
				t.Errorf("create = %d, want %d", p.create, tc.wantCreate)
			}
			if got := names(p.delete); len(got)+len(tc.wantDelete) > 0 && !slices.Equal(got, tc.wantDelete) {
				t.Errorf("delete = %v, want %v", got, tc.wantDelete)
			}
		})
	}
}
