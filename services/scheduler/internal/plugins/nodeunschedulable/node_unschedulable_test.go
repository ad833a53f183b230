package nodeunschedulable

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// nodeInfo returns a NodeInfo for a node that is cordoned or not as
// unschedulable says, with a Ready condition of status ready ("" for
// none).
func nodeInfo(unschedulable bool, ready corev1.ConditionStatus) *framework.NodeInfo {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{Unschedulable: unschedulable}}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}}
	if ready != "" {
		n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeReady, Status: ready})
	}
	ni := framework.NewNodeInfo()
	ni.SetNode(n)
	return ni
}

func pod(tolerations ...corev1.Toleration) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: corev1.PodSpec{Tolerations: tolerations}}
}

func TestFilter(t *testing.T) {
	tolerateUnschedulable := corev1.Toleration{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	tolerateNotReady := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	tolerateAll := corev1.Toleration{Operator: corev1.TolerationOpExists}
	tests := []struct {
		name        string
		pod         *corev1.Pod
		node        *framework.NodeInfo
		wantCode    framework.Code
		wantReasons []string
	}{
		{
			name: "schedulable and ready",
			pod:  pod(),
			node: nodeInfo(false, corev1.ConditionTrue),
		},
		{
			name:        "cordoned",
			pod:         pod(),
			node:        nodeInfo(true, corev1.ConditionTrue),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) were unschedulable"},
		},
		{
			name: "cordoned, tolerated",
			pod:  pod(tolerateUnschedulable),
			node: nodeInfo(true, corev1.ConditionTrue),
		},
		{
			name: "cordoned, tolerated without an effect",
			pod:  pod(corev1.Toleration{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists}),
			node: nodeInfo(true, corev1.ConditionTrue),
		},
		{
			name:        "cordoned, toleration for NoExecute only",
			pod:         pod(corev1.Toleration{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}),
			node:        nodeInfo(true, corev1.ConditionTrue),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) were unschedulable"},
		},
		{
			name:        "not ready",
			pod:         pod(),
			node:        nodeInfo(false, corev1.ConditionFalse),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) were not ready"},
		},
		{
			name:        "ready unknown",
			pod:         pod(),
			node:        nodeInfo(false, corev1.ConditionUnknown),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) were not ready"},
		},
		{
			name:        "no Ready condition yet",
			pod:         pod(),
			node:        nodeInfo(false, ""),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) were not ready"},
		},
		{
			name: "not ready, tolerated",
			pod:  pod(tolerateNotReady),
			node: nodeInfo(false, corev1.ConditionFalse),
		},
		{
			name:        "not ready, toleration for NoExecute only",
			pod:         pod(corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}),
			node:        nodeInfo(false, corev1.ConditionFalse),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) were not ready"},
		},
		{
			name:        "not ready, unschedulable toleration does not help",
			pod:         pod(tolerateUnschedulable),
			node:        nodeInfo(false, corev1.ConditionFalse),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) were not ready"},
		},
		{
			name:        "cordoned and not ready: cordoned is reported",
			pod:         pod(),
			node:        nodeInfo(true, corev1.ConditionFalse),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) were unschedulable"},
		},
		{
			name:        "cordoned and not ready, only cordon tolerated",
			pod:         pod(tolerateUnschedulable),
			node:        nodeInfo(true, corev1.ConditionFalse),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) were not ready"},
		},
		{
			name: "cordoned and not ready, empty-key Exists tolerates both",
			pod:  pod(tolerateAll),
			node: nodeInfo(true, corev1.ConditionFalse),
		},
		{
			name:        "node object missing",
			pod:         pod(),
			node:        framework.NewNodeInfo(),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) not found"},
		},
	}
	p, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pl := p.(*NodeUnschedulable)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := pl.Filter(context.Background(), framework.NewCycleState(), tt.pod, tt.node)
			if s.Code() != tt.wantCode || !reflect.DeepEqual(s.Reasons(), tt.wantReasons) {
				t.Errorf("Filter = %v, want %v %q", s, tt.wantCode, tt.wantReasons)
			}
		})
	}
}

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		args    string
		wantErr bool
	}{{"", false}, {"null", false}, {"{}", false}, {`{"x": true}`, true}} {
		t.Run(tt.args, func(t *testing.T) {
			var raw json.RawMessage
			if tt.args != "" {
				raw = json.RawMessage(tt.args)
			}
			if _, err := New(raw, nil); (err != nil) != tt.wantErr {
				t.Errorf("New(%q) error = %v, wantErr %v", tt.args, err, tt.wantErr)
			}
		})
	}
}

func TestEventsToRegister(t *testing.T) {
	events := (&NodeUnschedulable{}).EventsToRegister()
	for _, tt := range []struct {
		name string
		e    framework.ClusterEvent
		want bool
	}{
		{"node add", framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionAdd}, true},
		{"taint or cordon change", framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeTaint}, true},
		{"condition change", framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeCondition}, true},
		{"label change", framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeLabel}, false},
		{"pod delete", framework.ClusterEvent{Resource: framework.ResourcePod, Action: framework.ActionDelete}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := false
			for _, i := range events {
				got = got || i.Match(tt.e)
			}
			if got != tt.want {
				t.Errorf("registered = %v, want %v", got, tt.want)
			}
		})
	}
}
