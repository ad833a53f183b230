package tainttoleration

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

func nodeWithTaints(name string, taints ...corev1.Taint) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Taints: taints}})
	return ni
}

func podWithTolerations(tolerations ...corev1.Toleration) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: corev1.PodSpec{Tolerations: tolerations}}
}

func newPlugin(t *testing.T) *TaintToleration {
	t.Helper()
	p, err := New(nil, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p.(*TaintToleration)
}

func TestToleratesTaint(t *testing.T) {
	taint := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name       string
		toleration corev1.Toleration
		want       bool
	}{
		{"equal key value effect", corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule}, true},
		{"empty operator means Equal", corev1.Toleration{Key: "dedicated", Value: "gpu"}, true},
		{"equal, other value", corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "cpu"}, false},
		{"equal, empty value", corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual}, false},
		{"exists with key", corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpExists}, true},
		{"exists, other key", corev1.Toleration{Key: "other", Operator: corev1.TolerationOpExists}, false},
		{"empty key exists tolerates everything", corev1.Toleration{Operator: corev1.TolerationOpExists}, true},
		{"empty key exists, other effect", corev1.Toleration{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}, false},
		{"empty effect matches all effects", corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpExists}, true},
		{"other effect", corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectPreferNoSchedule}, false},
		{"Gt is off", corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpGt, Value: "1"}, false},
		{"unknown operator", corev1.Toleration{Key: "dedicated", Operator: "Like", Value: "gpu"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ToleratesTaint(&tt.toleration, &taint); got != tt.want {
				t.Errorf("ToleratesTaint = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	gpu := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name        string
		pod         *corev1.Pod
		node        *framework.NodeInfo
		wantCode    framework.Code
		wantReasons []string
	}{
		{
			name: "no taints",
			pod:  podWithTolerations(),
			node: nodeWithTaints("n1"),
		},
		{
			name:        "untolerated NoSchedule taint",
			pod:         podWithTolerations(),
			node:        nodeWithTaints("n1", gpu),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) had untolerated taint {dedicated: gpu}"},
		},
		{
			name:        "untolerated NoExecute taint without a value",
			pod:         podWithTolerations(),
			node:        nodeWithTaints("n1", corev1.Taint{Key: "maintenance", Effect: corev1.TaintEffectNoExecute}),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) had untolerated taint {maintenance: }"},
		},
		{
			name: "tolerated by Equal",
			pod:  podWithTolerations(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule}),
			node: nodeWithTaints("n1", gpu),
		},
		{
			name: "tolerated by Exists on the key",
			pod:  podWithTolerations(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpExists}),
			node: nodeWithTaints("n1", gpu),
		},
		{
			name: "tolerated by empty-key Exists",
			pod:  podWithTolerations(corev1.Toleration{Operator: corev1.TolerationOpExists}),
			node: nodeWithTaints("n1", gpu, corev1.Taint{Key: "x", Effect: corev1.TaintEffectNoExecute}),
		},
		{
			name:        "toleration for another value",
			pod:         podWithTolerations(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "cpu"}),
			node:        nodeWithTaints("n1", gpu),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) had untolerated taint {dedicated: gpu}"},
		},
		{
			name:        "toleration for another effect",
			pod:         podWithTolerations(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}),
			node:        nodeWithTaints("n1", gpu),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) had untolerated taint {dedicated: gpu}"},
		},
		{
			name: "PreferNoSchedule taints do not filter",
			pod:  podWithTolerations(),
			node: nodeWithTaints("n1", corev1.Taint{Key: "soft", Value: "yes", Effect: corev1.TaintEffectPreferNoSchedule}),
		},
		{
			name: "the first untolerated taint is named",
			pod:  podWithTolerations(corev1.Toleration{Key: "a", Operator: corev1.TolerationOpExists}),
			node: nodeWithTaints("n1",
				corev1.Taint{Key: "a", Value: "1", Effect: corev1.TaintEffectNoSchedule},
				corev1.Taint{Key: "soft", Value: "2", Effect: corev1.TaintEffectPreferNoSchedule},
				corev1.Taint{Key: "b", Value: "3", Effect: corev1.TaintEffectNoExecute},
				corev1.Taint{Key: "c", Value: "4", Effect: corev1.TaintEffectNoSchedule}),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) had untolerated taint {b: 3}"},
		},
		{
			name:        "node object missing",
			pod:         podWithTolerations(),
			node:        framework.NewNodeInfo(),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) not found"},
		},
	}
	pl := newPlugin(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := pl.Filter(context.Background(), framework.NewCycleState(), tt.pod, tt.node)
			if s.Code() != tt.wantCode || !reflect.DeepEqual(s.Reasons(), tt.wantReasons) {
				t.Errorf("Filter = %v, want %v %q", s, tt.wantCode, tt.wantReasons)
			}
		})
	}
}

func TestScore(t *testing.T) {
	soft := func(key string) corev1.Taint {
		return corev1.Taint{Key: key, Value: "v", Effect: corev1.TaintEffectPreferNoSchedule}
	}
	tests := []struct {
		name  string
		pod   *corev1.Pod
		nodes []*framework.NodeInfo
		raw   []int64
		want  []int64
	}{
		{
			name:  "fewer untolerated PreferNoSchedule taints is better",
			pod:   podWithTolerations(),
			nodes: []*framework.NodeInfo{nodeWithTaints("n0"), nodeWithTaints("n1", soft("a")), nodeWithTaints("n2", soft("a"), soft("b"))},
			raw:   []int64{0, 1, 2},
			want:  []int64{100, 50, 0},
		},
		{
			name: "tolerated taints and other effects do not count",
			pod: podWithTolerations(
				corev1.Toleration{Key: "a", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectPreferNoSchedule},
				corev1.Toleration{Key: "b", Operator: corev1.TolerationOpExists}, // empty effect: all effects
				corev1.Toleration{Key: "c", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
			),
			nodes: []*framework.NodeInfo{
				nodeWithTaints("n0", soft("a"), soft("b")),
				nodeWithTaints("n1", soft("c")),
				nodeWithTaints("n2", corev1.Taint{Key: "d", Effect: corev1.TaintEffectNoSchedule}, soft("c"), soft("d"), soft("e")),
			},
			raw:  []int64{0, 1, 3},
			want: []int64{100, 67, 0},
		},
		{
			name:  "no untolerated taints anywhere: all best",
			pod:   podWithTolerations(),
			nodes: []*framework.NodeInfo{nodeWithTaints("n0"), nodeWithTaints("n1")},
			raw:   []int64{0, 0},
			want:  []int64{100, 100},
		},
	}
	pl := newPlugin(t)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := framework.NewCycleState()
			if s := pl.PreScore(ctx, state, tt.pod, tt.nodes); !s.IsSuccess() {
				t.Fatalf("PreScore = %v", s)
			}
			scores := make([]framework.NodeScore, len(tt.nodes))
			for i, n := range tt.nodes {
				v, s := pl.Score(ctx, state, tt.pod, n)
				if !s.IsSuccess() {
					t.Fatalf("Score(%s) = %v", n.Name(), s)
				}
				if v != tt.raw[i] {
					t.Errorf("Score(%s) = %d, want %d", n.Name(), v, tt.raw[i])
				}
				scores[i] = framework.NodeScore{Name: n.Name(), Score: v}
			}
			if s := pl.NormalizeScore(ctx, state, tt.pod, scores); !s.IsSuccess() {
				t.Fatalf("NormalizeScore = %v", s)
			}
			for i, sc := range scores {
				if sc.Score != tt.want[i] {
					t.Errorf("normalised %s = %d, want %d", sc.Name, sc.Score, tt.want[i])
				}
			}
		})
	}
}

func TestScoreWithoutPreScore(t *testing.T) {
	pl := newPlugin(t)
	n := nodeWithTaints("n", corev1.Taint{Key: "a", Effect: corev1.TaintEffectPreferNoSchedule})
	v, s := pl.Score(context.Background(), framework.NewCycleState(), podWithTolerations(), n)
	if !s.IsSuccess() || v != 1 {
		t.Errorf("Score = %d, %v; want 1, Success", v, s)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		wantErr bool
	}{
		{"nil", "", false},
		{"null", "null", false},
		{"empty object", "{}", false},
		{"unknown field", `{"foo": 1}`, true},
		{"not an object", `[1]`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raw json.RawMessage
			if tt.args != "" {
				raw = json.RawMessage(tt.args)
			}
			p, err := New(raw, nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%s) error = %v, wantErr %v", tt.args, err, tt.wantErr)
			}
			if err == nil && p.Name() != Name {
				t.Errorf("Name() = %q", p.Name())
			}
		})
	}
}

func TestEventsToRegister(t *testing.T) {
	events := newPlugin(t).EventsToRegister()
	for _, e := range []framework.ClusterEvent{
		{Resource: framework.ResourceNode, Action: framework.ActionAdd},
		{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeTaint},
	} {
		if !matchesAny(events, e) {
			t.Errorf("%v %v is not registered", e.Resource, e.Action)
		}
	}
	if matchesAny(events, framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeAllocatable}) {
		t.Error("allocatable changes are registered, but cannot change the result")
	}
}

func matchesAny(interests []framework.ClusterEvent, e framework.ClusterEvent) bool {
	for _, i := range interests {
		if i.Match(e) {
			return true
		}
	}
	return false
}
