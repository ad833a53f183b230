package daemonset

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func byNode(pods ...*corev1.Pod) nodePods {
	m := nodePods{}
	for _, p := range pods {
		n, _ := targetNode(p)
		m[n] = append(m[n], p)
	}
	return m
}

func TestPlanManage(t *testing.T) {
	three := []*corev1.Node{node("n1"), node("n2"), node("n3")}
	for _, tc := range []struct {
		name        string
		ds          *appsv1.DaemonSet
		nodes       []*corev1.Node
		pods        nodePods
		backoff     []string
		wantCreate  []string
		wantDelete  []string
		wantFailed  []string
		wantBacking []string
	}{
		{name: "new DaemonSet: a pod per node", ds: daemonSet(), nodes: three, wantCreate: []string{"n1", "n2", "n3"}},
		{name: "nothing to do", ds: daemonSet(), nodes: three,
			pods: byNode(pod("a", "n1", "h"), pod("b", "n2", "h"), pod("c", "n3", "h"))},
		{name: "a new node joins", ds: daemonSet(), nodes: three,
			pods: byNode(pod("a", "n1", "h"), pod("b", "n2", "h")), wantCreate: []string{"n3"}},
		{name: "extra pods: the oldest stays", ds: daemonSet(), nodes: three[:1],
			pods:       byNode(pod("young", "n1", "h", createdAt(20)), pod("old", "n1", "h", createdAt(1)), pod("mid", "n1", "h", createdAt(10))),
			wantDelete: []string{"mid", "young"}},
		{name: "a bound pod counts as older than an unbound one", ds: daemonSet(), nodes: three[:1],
			pods:       byNode(pod("pending", "n1", "h", unbound, createdAt(0)), pod("bound", "n1", "h", createdAt(5))),
			wantDelete: []string{"pending"}},
		{name: "node no longer selected: its pod goes", ds: daemonSet(withSpec(func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"ds": "yes"} })),
			nodes: []*corev1.Node{node("n1", label("ds", "yes")), node("n2")},
			pods:  byNode(pod("a", "n1", "h"), pod("b", "n2", "h")), wantDelete: []string{"b"}},
		{name: "terminating pods are neither counted nor deleted again", ds: daemonSet(), nodes: three[:1],
			pods: byNode(pod("going", "n1", "h", terminating))},
		{name: "NoSchedule taint: the running pod stays", ds: daemonSet(), nodes: []*corev1.Node{node("n1", taint("x", corev1.TaintEffectNoSchedule)), node("n2", taint("x", corev1.TaintEffectNoSchedule))},
			pods: byNode(pod("a", "n1", "h"))},
		{name: "NoExecute taint: the pod goes", ds: daemonSet(), nodes: []*corev1.Node{node("n1", taint("x", corev1.TaintEffectNoExecute))},
			pods: byNode(pod("a", "n1", "h")), wantDelete: []string{"a"}},
		{name: "failed pod: deleted and reported", ds: daemonSet(), nodes: three[:1],
			pods: byNode(pod("dead", "n1", "h", phase(corev1.PodFailed))), wantDelete: []string{"dead"}, wantFailed: []string{"dead"}},
		{name: "failed pod on a node backing off: waits", ds: daemonSet(), nodes: three[:1], backoff: []string{"n1"},
			pods: byNode(pod("dead", "n1", "h", phase(corev1.PodFailed))), wantBacking: []string{"n1"}},
		{name: "succeeded pod: replaced", ds: daemonSet(), nodes: three[:1],
			pods: byNode(pod("done", "n1", "h", phase(corev1.PodSucceeded))), wantDelete: []string{"done"}},
		{name: "unscheduled pod of a node that is gone: deleted; bound ones are the pod GC's", ds: daemonSet(), nodes: three[:1],
			pods: byNode(pod("a", "n1", "h"), pod("lost", "gone", "h", unbound), pod("orphan", "gone2", "h")), wantDelete: []string{"lost"}},
		{name: "surge: updated and old pod stay while the new one is not available", ds: daemonSet(maxSurge(intstr.FromInt32(1))), nodes: three[:1],
			pods: byNode(pod("old", "n1", "h1"), pod("new", "n1", "h", notReady, createdAt(5)))},
		{name: "surge: the old pod goes once the new one is available", ds: daemonSet(maxSurge(intstr.FromInt32(1))), nodes: three[:1],
			pods: byNode(pod("old", "n1", "h1"), pod("new", "n1", "h", createdAt(5))), wantDelete: []string{"old"}},
		{name: "surge: an unready old pod goes at once", ds: daemonSet(maxSurge(intstr.FromInt32(1))), nodes: three[:1],
			pods: byNode(pod("old", "n1", "h1", notReady), pod("new", "n1", "h", notReady, createdAt(5))), wantDelete: []string{"old"}},
		{name: "surge: extra pods of either kind go", ds: daemonSet(maxSurge(intstr.FromInt32(1))), nodes: three[:1],
			pods:       byNode(pod("old", "n1", "h1"), pod("old2", "n1", "h1", createdAt(3)), pod("new", "n1", "h", notReady, createdAt(5)), pod("new2", "n1", "h", notReady, createdAt(6))),
			wantDelete: []string{"old2", "new2"}},
		{name: "surge: a node whose pod is terminating gets its new one at once", ds: daemonSet(maxSurge(intstr.FromInt32(1))), nodes: three[:1],
			pods: byNode(pod("old", "n1", "h1", terminating)), wantCreate: []string{"n1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := planManage(tc.ds, tc.nodes, tc.pods, "h", later, func(n string) bool { return slices.Contains(tc.backoff, n) })
			if !slices.Equal(plan.createOn, tc.wantCreate) {
				t.Errorf("create on %v, want %v", plan.createOn, tc.wantCreate)
			}
			if got := names(plan.deletes); !slices.Equal(got, orEmpty(tc.wantDelete)) {
				t.Errorf("delete %v, want %v", got, tc.wantDelete)
			}
			var failed []string
			for _, pods := range plan.failed {
				failed = append(failed, names(pods)...)
			}
			if !slices.Equal(failed, tc.wantFailed) {
				t.Errorf("failed %v, want %v", failed, tc.wantFailed)
			}
			if !slices.Equal(plan.backingOff, tc.wantBacking) {
				t.Errorf("backing off %v, want %v", plan.backingOff, tc.wantBacking)
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
