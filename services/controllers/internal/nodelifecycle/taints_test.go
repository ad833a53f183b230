package nodelifecycle

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func taintStrings(taints []corev1.Taint) []string {
	out := []string{}
	for _, t := range taints {
		out = append(out, t.ToString())
	}
	return out
}

func TestNoScheduleTaints(t *testing.T) {
	cond := func(typ corev1.NodeConditionType, s corev1.ConditionStatus) corev1.NodeCondition {
		return corev1.NodeCondition{Type: typ, Status: s}
	}
	ns := func(key string) corev1.Taint { return corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule} }
	for _, tc := range []struct {
		name               string
		conds              []corev1.NodeCondition
		unschedulable      bool
		taints             []corev1.Taint
		wantAdd, wantRemov []string
	}{
		{name: "healthy", conds: []corev1.NodeCondition{cond(corev1.NodeReady, corev1.ConditionTrue), cond(corev1.NodeMemoryPressure, corev1.ConditionFalse)}},
		{name: "not ready", conds: []corev1.NodeCondition{cond(corev1.NodeReady, corev1.ConditionFalse)},
			wantAdd: []string{"node.kubernetes.io/not-ready:NoSchedule"}},
		{name: "unknown swaps not-ready for unreachable", conds: []corev1.NodeCondition{cond(corev1.NodeReady, corev1.ConditionUnknown)},
			taints:  []corev1.Taint{ns(corev1.TaintNodeNotReady)},
			wantAdd: []string{"node.kubernetes.io/unreachable:NoSchedule"}, wantRemov: []string{"node.kubernetes.io/not-ready:NoSchedule"}},
		{name: "pressures and the network", conds: []corev1.NodeCondition{cond(corev1.NodeReady, corev1.ConditionTrue),
			cond(corev1.NodeMemoryPressure, corev1.ConditionTrue), cond(corev1.NodeDiskPressure, corev1.ConditionTrue),
			cond(corev1.NodePIDPressure, corev1.ConditionTrue), cond(corev1.NodeNetworkUnavailable, corev1.ConditionTrue)},
			wantAdd: []string{"node.kubernetes.io/memory-pressure:NoSchedule", "node.kubernetes.io/disk-pressure:NoSchedule",
				"node.kubernetes.io/pid-pressure:NoSchedule", "node.kubernetes.io/network-unavailable:NoSchedule"}},
		{name: "cordoned", unschedulable: true, conds: []corev1.NodeCondition{cond(corev1.NodeReady, corev1.ConditionTrue)},
			wantAdd: []string{"node.kubernetes.io/unschedulable:NoSchedule"}},
		{name: "uncordoned and recovered; other taints stay",
			conds: []corev1.NodeCondition{cond(corev1.NodeReady, corev1.ConditionTrue)},
			taints: []corev1.Taint{ns(corev1.TaintNodeUnschedulable), ns(corev1.TaintNodeUnreachable), ns("dedicated"),
				{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}},
			wantRemov: []string{"node.kubernetes.io/unschedulable:NoSchedule", "node.kubernetes.io/unreachable:NoSchedule"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: tc.unschedulable, Taints: tc.taints},
				Status: corev1.NodeStatus{Conditions: tc.conds}}
			add, remove := noScheduleTaints(n)
			if got := taintStrings(add); !slices.Equal(got, orEmpty(tc.wantAdd)) {
				t.Errorf("add %v, want %v", got, tc.wantAdd)
			}
			if got := taintStrings(remove); !slices.Equal(got, orEmpty(tc.wantRemov)) {
				t.Errorf("remove %v, want %v", got, tc.wantRemov)
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

func TestApplyTaints(t *testing.T) {
	old := metav1.NewTime(t0.Add(-time.Hour))
	cur := []corev1.Taint{
		{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
		{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute, TimeAdded: &old},
	}
	out, changed := applyTaints(cur, []corev1.Taint{unreachableTaint}, []corev1.Taint{notReadyTaint}, t0)
	if !changed || !slices.Equal(taintStrings(out), []string{"dedicated=gpu:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"}) {
		t.Fatalf("swap: %v, %v", taintStrings(out), changed)
	}
	if out[1].TimeAdded == nil || !out[1].TimeAdded.Time.Equal(t0) {
		t.Errorf("added taint's timeAdded %v", out[1].TimeAdded)
	}
	if cur[1].Key != corev1.TaintNodeNotReady {
		t.Error("the input was modified")
	}
	if _, changed := applyTaints(out, []corev1.Taint{unreachableTaint}, []corev1.Taint{notReadyTaint}, t0); changed {
		t.Error("applying again changed something")
	}
}

func TestEvictionDue(t *testing.T) {
	secs := func(s int64) *int64 { return &s }
	exists := func(key string, s *int64) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: s}
	}
	unreachable := []corev1.Taint{unreachableTaint}
	for _, tc := range []struct {
		name        string
		tolerations []corev1.Toleration
		taints      []corev1.Taint
		wantEvict   bool
		wantAt      time.Time
	}{
		{name: "no taints", tolerations: nil, taints: nil},
		{name: "not tolerated: at once", taints: unreachable, wantEvict: true, wantAt: t0},
		{name: "default 300s toleration", tolerations: []corev1.Toleration{exists(corev1.TaintNodeNotReady, secs(300)), exists(corev1.TaintNodeUnreachable, secs(300))},
			taints: unreachable, wantEvict: true, wantAt: t0.Add(300 * time.Second)},
		{name: "tolerated for ever (a daemon pod)", tolerations: []corev1.Toleration{exists(corev1.TaintNodeUnreachable, nil)}, taints: unreachable},
		{name: "zero seconds: at once", tolerations: []corev1.Toleration{exists(corev1.TaintNodeUnreachable, secs(0))}, taints: unreachable, wantEvict: true, wantAt: t0},
		{name: "the first matching toleration decides", tolerations: []corev1.Toleration{
			{Operator: corev1.TolerationOpExists}, exists(corev1.TaintNodeUnreachable, secs(5))}, taints: unreachable},
		{name: "the shortest of several taints", tolerations: []corev1.Toleration{exists(corev1.TaintNodeUnreachable, secs(60)), exists("maintenance", secs(10))},
			taints: []corev1.Taint{unreachableTaint, {Key: "maintenance", Effect: corev1.TaintEffectNoExecute}}, wantEvict: true, wantAt: t0.Add(10 * time.Second)},
		{name: "one of several taints not tolerated", tolerations: []corev1.Toleration{exists(corev1.TaintNodeUnreachable, nil)},
			taints: []corev1.Taint{unreachableTaint, {Key: "maintenance", Effect: corev1.TaintEffectNoExecute}}, wantEvict: true, wantAt: t0},
		{name: "value must equal", tolerations: []corev1.Toleration{{Key: "k", Value: "a", Effect: corev1.TaintEffectNoExecute}},
			taints: []corev1.Taint{{Key: "k", Value: "b", Effect: corev1.TaintEffectNoExecute}}, wantEvict: true, wantAt: t0},
		{name: "absurdly long: for ever", tolerations: []corev1.Toleration{exists(corev1.TaintNodeUnreachable, secs(1<<62))}, taints: unreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at, evict := evictionDue(tc.tolerations, tc.taints, t0)
			if evict != tc.wantEvict || (evict && !at.Equal(tc.wantAt)) {
				t.Errorf("evictionDue = %v, %v; want %v, %v", at, evict, tc.wantAt, tc.wantEvict)
			}
		})
	}
}
