package podgc

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func pod(name, node string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: metav1.NewTime(t0)},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func age(sec int) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(t0.Add(-time.Duration(sec) * time.Second)) }
}

func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }

func evicted(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed; p.Status.Reason = "Evicted" }

func deleting(grace int64) podOpt {
	return func(p *corev1.Pod) {
		now := metav1.NewTime(t0)
		p.DeletionTimestamp = &now
		p.DeletionGracePeriodSeconds = &grace
	}
}

func node(name string, ready bool, taints ...string) *corev1.Node {
	status := corev1.ConditionTrue
	if !ready {
		status = corev1.ConditionUnknown
	}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}},
	}}
	for _, k := range taints {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: k, Effect: corev1.TaintEffectNoExecute})
	}
	return n
}

func names(pods []*corev1.Pod) []string {
	out := []string{}
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func TestPlan(t *testing.T) {
	nodes := map[string]*corev1.Node{
		"n1":   node("n1", true),
		"down": node("down", false, corev1.TaintNodeOutOfService),
		"sick": node("sick", false),
	}
	for _, tc := range []struct {
		name             string
		pods             []*corev1.Pod
		threshold        int
		wantOrphans      map[string][]string
		wantUnscheduled  []string
		wantOutOfService []string
		wantTerminated   []string
	}{
		{name: "healthy pods stay", pods: []*corev1.Pod{pod("a", "n1"), pod("b", "")}},
		{name: "pods on missing nodes, even terminating ones, are orphans",
			pods:        []*corev1.Pod{pod("a", "gone"), pod("b", "gone", deleting(30)), pod("c", "gone2", phase(corev1.PodSucceeded)), pod("d", "n1")},
			wantOrphans: map[string][]string{"gone": {"a", "b"}, "gone2": {"c"}}},
		{name: "force-deleted pods held by finalizers are left alone",
			pods: []*corev1.Pod{pod("a", "gone", deleting(0)), pod("b", "", deleting(0))}},
		{name: "unscheduled terminating pods go, oldest first",
			pods:            []*corev1.Pod{pod("young", "", deleting(30), age(1)), pod("old", "", deleting(30), age(9)), pod("pending", "")},
			wantUnscheduled: []string{"old", "young"}},
		{name: "terminating pods on out-of-service nodes go; on merely sick ones they wait",
			pods:             []*corev1.Pod{pod("a", "down", deleting(30)), pod("b", "down"), pod("c", "sick", deleting(30))},
			wantOutOfService: []string{"a"}},
		{name: "finished pods beyond the threshold: evicted first, then oldest",
			threshold: 2,
			pods: []*corev1.Pod{
				pod("s-new", "n1", phase(corev1.PodSucceeded), age(1)),
				pod("s-old", "n1", phase(corev1.PodSucceeded), age(100)),
				pod("f-mid", "n1", phase(corev1.PodFailed), age(50)),
				pod("evicted-new", "n1", evicted, age(0)),
				pod("running", "n1", age(1000)),
				pod("deleting", "n1", phase(corev1.PodFailed), deleting(30), age(2000)),
			},
			wantTerminated: []string{"evicted-new", "s-old"}},
		{name: "threshold not reached", threshold: 5,
			pods: []*corev1.Pod{pod("a", "n1", phase(corev1.PodSucceeded)), pod("b", "n1", phase(corev1.PodFailed))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(tc.pods, nodes, tc.threshold)
			if len(p.orphans) != len(tc.wantOrphans) {
				t.Errorf("orphans on %d nodes, want %d", len(p.orphans), len(tc.wantOrphans))
			}
			for n, want := range tc.wantOrphans {
				if got := names(p.orphans[n]); !slices.Equal(got, want) {
					t.Errorf("orphans on %s: %v, want %v", n, got, want)
				}
			}
			check := func(what string, got []*corev1.Pod, want []string) {
				t.Helper()
				if g := names(got); !slices.Equal(g, append([]string{}, want...)) {
					t.Errorf("%s: %v, want %v", what, g, want)
				}
			}
			check("unscheduled", p.unscheduled, tc.wantUnscheduled)
			check("out of service", p.outOfService, tc.wantOutOfService)
			check("terminated", p.terminated, tc.wantTerminated)
		})
	}
}
