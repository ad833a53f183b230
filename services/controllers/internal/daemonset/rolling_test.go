package daemonset

import (
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestUpdateBudget(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		ds                    *appsv1.DaemonSet
		desired               int
		wantSurge, wantUnavai int
	}{
		{"default strategy fields: one at a time", daemonSet(), 10, 0, 1},
		{"absolute", daemonSet(maxUnavailable(intstr.FromInt32(3))), 10, 0, 3},
		{"percent rounds up", daemonSet(maxUnavailable(intstr.FromString("25%"))), 10, 0, 3},
		{"zero of both: one", daemonSet(maxUnavailable(intstr.FromInt32(0))), 10, 0, 1},
		{"surge", daemonSet(maxSurge(intstr.FromString("10%"))), 10, 1, 0},
		{"nothing desired", daemonSet(maxUnavailable(intstr.FromInt32(0))), 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, u, err := updateBudget(tc.ds, tc.desired)
			if err != nil || s != tc.wantSurge || u != tc.wantUnavai {
				t.Errorf("budget = surge %d, unavailable %d, %v; want %d, %d", s, u, err, tc.wantSurge, tc.wantUnavai)
			}
		})
	}
}

func TestPlanRollingUpdate(t *testing.T) {
	nodes := []*corev1.Node{node("n1"), node("n2"), node("n3"), node("n4")}
	oldPods := func() []*corev1.Pod {
		return []*corev1.Pod{pod("o1", "n1", "h1"), pod("o2", "n2", "h1"), pod("o3", "n3", "h1"), pod("o4", "n4", "h1")}
	}
	for _, tc := range []struct {
		name       string
		ds         *appsv1.DaemonSet
		pods       []*corev1.Pod
		wantDelete []string
		wantCreate []string
	}{
		{name: "maxUnavailable 1: one old pod goes", ds: daemonSet(maxUnavailable(intstr.FromInt32(1))), pods: oldPods(),
			wantDelete: []string{"o1"}},
		{name: "maxUnavailable 2: two go", ds: daemonSet(maxUnavailable(intstr.FromInt32(2))), pods: oldPods(),
			wantDelete: []string{"o1", "o2"}},
		{name: "a node without a pod uses the budget", ds: daemonSet(maxUnavailable(intstr.FromInt32(1))), pods: oldPods()[1:]},
		{name: "an updated pod not ready yet uses the budget",
			ds:   daemonSet(maxUnavailable(intstr.FromInt32(1))),
			pods: []*corev1.Pod{pod("n", "n1", "h", notReady), pod("o2", "n2", "h1"), pod("o3", "n3", "h1"), pod("o4", "n4", "h1")}},
		{name: "an updated ready pod frees the budget",
			ds:         daemonSet(maxUnavailable(intstr.FromInt32(1))),
			pods:       []*corev1.Pod{pod("n", "n1", "h"), pod("o2", "n2", "h1"), pod("o3", "n3", "h1"), pod("o4", "n4", "h1")},
			wantDelete: []string{"o2"}},
		{name: "minReadySeconds: ready but not yet available holds the budget",
			ds:   daemonSet(maxUnavailable(intstr.FromInt32(1)), func(ds *appsv1.DaemonSet) { ds.Spec.MinReadySeconds = 120 }),
			pods: []*corev1.Pod{pod("n", "n1", "h"), pod("o2", "n2", "h1", longReady), pod("o3", "n3", "h1", longReady), pod("o4", "n4", "h1", longReady)}},
		{name: "an old pod that is not available goes beyond the budget",
			ds:         daemonSet(maxUnavailable(intstr.FromInt32(1))),
			pods:       []*corev1.Pod{pod("o1", "n1", "h1"), pod("o2", "n2", "h1", notReady), pod("o3", "n3", "h1"), pod("o4", "n4", "h1", notReady)},
			wantDelete: []string{"o2", "o4", "o1"}},
		{name: "a terminating old pod leaves its node unavailable",
			ds:   daemonSet(maxUnavailable(intstr.FromInt32(1))),
			pods: []*corev1.Pod{pod("o1", "n1", "h1", terminating), pod("o2", "n2", "h1"), pod("o3", "n3", "h1"), pod("o4", "n4", "h1")}},
		{name: "the pod-template-generation label also marks updated pods",
			ds: daemonSet(maxUnavailable(intstr.FromInt32(1)), func(ds *appsv1.DaemonSet) { ds.Generation = 2 }),
			pods: []*corev1.Pod{pod("n", "n1", "h0", func(p *corev1.Pod) { p.Labels["pod-template-generation"] = "2" }),
				pod("o2", "n2", "h1"), pod("o3", "n3", "h1"), pod("o4", "n4", "h1")},
			wantDelete: []string{"o2"}},
		{name: "done", ds: daemonSet(maxUnavailable(intstr.FromInt32(1))),
			pods: []*corev1.Pod{pod("a", "n1", "h"), pod("b", "n2", "h"), pod("c", "n3", "h"), pod("d", "n4", "h")}},
		{name: "surge 1: one new pod beside an old one", ds: daemonSet(maxSurge(intstr.FromInt32(1))), pods: oldPods(),
			wantCreate: []string{"n1"}},
		{name: "surge 2", ds: daemonSet(maxSurge(intstr.FromInt32(2))), pods: oldPods(),
			wantCreate: []string{"n1", "n2"}},
		{name: "surge: waiting for the new pod to be available",
			ds:   daemonSet(maxSurge(intstr.FromInt32(1))),
			pods: append(oldPods(), pod("n", "n1", "h", notReady))},
		{name: "surge: new pod available, the old one goes and the next node surges",
			ds:         daemonSet(maxSurge(intstr.FromInt32(1))),
			pods:       append(oldPods(), pod("n", "n1", "h")),
			wantDelete: []string{"o1"}, wantCreate: []string{"n2"}},
		{name: "surge: an unavailable old pod is replaced beyond the budget",
			ds:         daemonSet(maxSurge(intstr.FromInt32(1))),
			pods:       []*corev1.Pod{pod("o1", "n1", "h1"), pod("o2", "n2", "h1", notReady), pod("o3", "n3", "h1"), pod("o4", "n4", "h1")},
			wantCreate: []string{"n2", "n1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := planRollingUpdate(tc.ds, nodes, byNode(tc.pods...), "h", later)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(plan.deletes); !slices.Equal(got, orEmpty(tc.wantDelete)) {
				t.Errorf("delete %v, want %v", got, tc.wantDelete)
			}
			if !slices.Equal(plan.createOn, tc.wantCreate) {
				t.Errorf("create on %v, want %v", plan.createOn, tc.wantCreate)
			}
		})
	}
}

// longReady: ready for an hour at t0.
func longReady(p *corev1.Pod) { p.Status.Conditions[0].LastTransitionTime.Time = t0.Add(-time.Hour) }

func TestComputeStatus(t *testing.T) {
	ds := daemonSet(withSpec(func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"ds": "yes"} }),
		func(ds *appsv1.DaemonSet) { ds.Generation = 3; ds.Status.ObservedGeneration = 2 })
	yes := label("ds", "yes")
	nodes := []*corev1.Node{node("n1", yes), node("n2", yes), node("n3", yes), node("n4", yes), node("n5")}
	pods := byNode(
		pod("a", "n1", "h"),
		pod("b", "n2", "h1"),
		pod("c", "n3", "h", notReady),
		pod("x", "n5", "h"),
	)
	got := computeStatus(ds, nodes, pods, "h", later)
	want := appsv1.DaemonSetStatus{
		ObservedGeneration:     2,
		DesiredNumberScheduled: 4, CurrentNumberScheduled: 3, NumberMisscheduled: 1,
		NumberReady: 2, NumberAvailable: 2, UpdatedNumberScheduled: 2, NumberUnavailable: 2,
	}
	if got.String() != want.String() {
		t.Errorf("status\n got %+v\nwant %+v", got, want)
	}

	ds.Spec.MinReadySeconds = 3600
	if got := computeStatus(ds, nodes, pods, "h", later); got.NumberReady != 2 || got.NumberAvailable != 0 || got.NumberUnavailable != 4 {
		t.Errorf("with minReadySeconds: %+v", got)
	}
}
