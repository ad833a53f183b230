package nodename

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

func nodeInfo(name string) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
	return ni
}

func podFor(nodeName string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: corev1.PodSpec{NodeName: nodeName}}
}

func TestPreFilterAndFilter(t *testing.T) {
	tests := []struct {
		name          string
		pod           *corev1.Pod
		node          *framework.NodeInfo
		wantPreFilter framework.Code
		wantCode      framework.Code
		wantReasons   []string
	}{
		{
			name:          "no node name: PreFilter skips, every node fits",
			pod:           podFor(""),
			node:          nodeInfo("n1"),
			wantPreFilter: framework.Skip,
		},
		{
			name: "the named node",
			pod:  podFor("n1"),
			node: nodeInfo("n1"),
		},
		{
			name:        "another node",
			pod:         podFor("n1"),
			node:        nodeInfo("n2"),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) didn't match the requested node name"},
		},
		{
			name:        "node object missing",
			pod:         podFor("n1"),
			node:        framework.NewNodeInfo(),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"node(s) didn't match the requested node name"},
		},
	}
	p, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pl := p.(*NodeName)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := framework.NewCycleState()
			res, s := pl.PreFilter(ctx, state, tt.pod, []*framework.NodeInfo{nodeInfo("n1"), nodeInfo("n2")})
			if s.Code() != tt.wantPreFilter || res != nil {
				t.Fatalf("PreFilter = %v, %v; want nil, %v", res, s, tt.wantPreFilter)
			}
			s = pl.Filter(ctx, state, tt.pod, tt.node)
			if s.Code() != tt.wantCode || !reflect.DeepEqual(s.Reasons(), tt.wantReasons) {
				t.Errorf("Filter = %v, want %v %q", s, tt.wantCode, tt.wantReasons)
			}
		})
	}
}

func TestNew(t *testing.T) {
	if _, err := New(json.RawMessage(`{}`), nil); err != nil {
		t.Errorf("New({}) = %v", err)
	}
	if _, err := New(json.RawMessage(`{"nodeName": "x"}`), nil); err == nil {
		t.Error("New with an unknown field: no error")
	}
}

func TestEventsToRegister(t *testing.T) {
	events := (&NodeName{}).EventsToRegister()
	add := framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionAdd}
	if len(events) != 1 || !events[0].Match(add) {
		t.Errorf("EventsToRegister = %v, want Node Add", events)
	}
}
