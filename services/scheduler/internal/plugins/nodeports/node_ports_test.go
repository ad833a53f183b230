package nodeports

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// hostPort is a container port's host side: protocol, host IP, port.
type hostPort struct {
	protocol corev1.Protocol
	ip       string
	port     int32
}

func podWithPorts(name string, ports ...hostPort) *corev1.Pod {
	c := corev1.Container{Name: "c"}
	for _, p := range ports {
		c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: 8080, HostPort: p.port, HostIP: p.ip, Protocol: p.protocol})
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
	}
}

func nodeWith(pods ...*corev1.Pod) *framework.NodeInfo {
	ni := framework.NewNodeInfo(pods...)
	ni.SetNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}})
	return ni
}

func TestPreFilterAndFilter(t *testing.T) {
	tcp := corev1.ProtocolTCP
	udp := corev1.ProtocolUDP
	tests := []struct {
		name          string
		pod           *corev1.Pod
		node          *framework.NodeInfo
		wantPreFilter framework.Code
		wantCode      framework.Code
		wantReasons   []string
	}{
		{
			name:          "no host ports: skipped",
			pod:           podWithPorts("p", hostPort{tcp, "", 0}),
			node:          nodeWith(podWithPorts("other", hostPort{tcp, "", 80})),
			wantPreFilter: framework.Skip,
		},
		{
			name: "free port",
			pod:  podWithPorts("p", hostPort{tcp, "", 8080}),
			node: nodeWith(podWithPorts("other", hostPort{tcp, "", 80})),
		},
		{
			name:        "same port and protocol",
			pod:         podWithPorts("p", hostPort{tcp, "", 80}),
			node:        nodeWith(podWithPorts("other", hostPort{tcp, "", 80})),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"node(s) didn't have free ports for the requested pod ports"},
		},
		{
			name:        "empty protocol is TCP",
			pod:         podWithPorts("p", hostPort{"", "", 80}),
			node:        nodeWith(podWithPorts("other", hostPort{tcp, "", 80})),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"node(s) didn't have free ports for the requested pod ports"},
		},
		{
			name: "same port, other protocol",
			pod:  podWithPorts("p", hostPort{udp, "", 80}),
			node: nodeWith(podWithPorts("other", hostPort{tcp, "", 80})),
		},
		{
			name: "same port, different host IPs",
			pod:  podWithPorts("p", hostPort{tcp, "10.0.0.1", 80}),
			node: nodeWith(podWithPorts("other", hostPort{tcp, "10.0.0.2", 80})),
		},
		{
			name:        "same port, same host IP",
			pod:         podWithPorts("p", hostPort{tcp, "10.0.0.1", 80}),
			node:        nodeWith(podWithPorts("other", hostPort{tcp, "10.0.0.1", 80})),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"node(s) didn't have free ports for the requested pod ports"},
		},
		{
			name:        "wanted on every address, used on one",
			pod:         podWithPorts("p", hostPort{tcp, "0.0.0.0", 80}),
			node:        nodeWith(podWithPorts("other", hostPort{tcp, "10.0.0.1", 80})),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"node(s) didn't have free ports for the requested pod ports"},
		},
		{
			name:        "wanted on one address, used on every one",
			pod:         podWithPorts("p", hostPort{tcp, "10.0.0.1", 80}),
			node:        nodeWith(podWithPorts("other", hostPort{tcp, "", 80})),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"node(s) didn't have free ports for the requested pod ports"},
		},
		{
			name:        "one of several ports taken",
			pod:         podWithPorts("p", hostPort{tcp, "", 8080}, hostPort{udp, "", 53}),
			node:        nodeWith(podWithPorts("dns", hostPort{udp, "", 53})),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"node(s) didn't have free ports for the requested pod ports"},
		},
	}
	p, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pl := p.(*NodePorts)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := framework.NewCycleState()
			if _, s := pl.PreFilter(ctx, state, tt.pod, nil); s.Code() != tt.wantPreFilter {
				t.Fatalf("PreFilter = %v, want %v", s, tt.wantPreFilter)
			}
			if tt.wantPreFilter == framework.Skip {
				return
			}
			s := pl.Filter(ctx, state, tt.pod, tt.node)
			if s.Code() != tt.wantCode || !reflect.DeepEqual(s.Reasons(), tt.wantReasons) {
				t.Errorf("Filter = %v, want %v %q", s, tt.wantCode, tt.wantReasons)
			}
		})
	}
}

func TestFilterWithoutPreFilter(t *testing.T) {
	pl := &NodePorts{}
	s := pl.Filter(context.Background(), framework.NewCycleState(), podWithPorts("p", hostPort{corev1.ProtocolTCP, "", 80}), nodeWith())
	if s.Code() != framework.Error {
		t.Errorf("Filter = %v, want Error", s)
	}
}

func TestFilterAfterVictimRemoved(t *testing.T) {
	// Preemption's what-if: removing the pod holding the port frees it.
	pl := &NodePorts{}
	ctx := context.Background()
	holder := podWithPorts("holder", hostPort{corev1.ProtocolTCP, "", 80})
	pod := podWithPorts("p", hostPort{corev1.ProtocolTCP, "", 80})
	state := framework.NewCycleState()
	pl.PreFilter(ctx, state, pod, nil)
	ni := nodeWith(holder)
	if s := pl.Filter(ctx, state, pod, ni); s.Code() != framework.Unschedulable {
		t.Fatalf("Filter = %v, want Unschedulable", s)
	}
	clone := ni.Clone()
	clone.RemovePod(holder.UID)
	if s := pl.Filter(ctx, state.Clone(), pod, clone); !s.IsSuccess() {
		t.Errorf("Filter without the holder = %v, want Success", s)
	}
}

func TestNew(t *testing.T) {
	if _, err := New(json.RawMessage(`null`), nil); err != nil {
		t.Errorf("New(null) = %v", err)
	}
	if _, err := New(json.RawMessage(`{"ports": []}`), nil); err == nil {
		t.Error("New with an unknown field: no error")
	}
}

func TestEventsToRegister(t *testing.T) {
	events := (&NodePorts{}).EventsToRegister()
	for _, tt := range []struct {
		e    framework.ClusterEvent
		want bool
	}{
		{framework.ClusterEvent{Resource: framework.ResourcePod, Action: framework.ActionDelete}, true},
		{framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionAdd}, true},
		{framework.ClusterEvent{Resource: framework.ResourcePod, Action: framework.ActionAdd}, false},
		{framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeLabel}, false},
	} {
		got := false
		for _, i := range events {
			got = got || i.Match(tt.e)
		}
		if got != tt.want {
			t.Errorf("%v %v registered = %v, want %v", tt.e.Resource, tt.e.Action, got, tt.want)
		}
	}
}
