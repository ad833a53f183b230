package noderesources

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

const gpu corev1.ResourceName = "example.com/gpu"

// rl builds a ResourceList from name, quantity pairs.
func rl(pairs ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(pairs); i += 2 {
		out[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return out
}

var podCount int

// pod returns a pod with a container per ResourceList of requests.
func pod(requests ...corev1.ResourceList) *corev1.Pod {
	podCount++
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", podCount), Namespace: "default", UID: types.UID(fmt.Sprintf("uid-%d", podCount))}}
	for i, r := range requests {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Resources: corev1.ResourceRequirements{Requests: r}})
	}
	return p
}

// node returns a NodeInfo for a node with that allocatable and those pods.
func node(name string, allocatable corev1.ResourceList, pods ...*corev1.Pod) *framework.NodeInfo {
	ni := framework.NewNodeInfo(pods...)
	ni.SetNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Allocatable: allocatable, Capacity: allocatable}})
	return ni
}

func newFit(t *testing.T, args string) *Fit {
	t.Helper()
	var raw []byte
	if args != "" {
		raw = []byte(args)
	}
	p, err := New(raw, nil)
	if err != nil {
		t.Fatalf("New(%s): %v", args, err)
	}
	return p.(*Fit)
}

func TestFitFilter(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	withInit := func(p *corev1.Pod, sidecar bool, requests corev1.ResourceList) *corev1.Pod {
		c := corev1.Container{Name: fmt.Sprintf("init%d", len(p.Spec.InitContainers)), Resources: corev1.ResourceRequirements{Requests: requests}}
		if sidecar {
			c.RestartPolicy = &always
		}
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
		return p
	}
	withOverhead := func(p *corev1.Pod, overhead corev1.ResourceList) *corev1.Pod {
		p.Spec.Overhead = overhead
		return p
	}
	// A node with 4 cpus, 8Gi, 10Gi of ephemeral storage, 2 GPUs and
	// room for 10 pods, of which one uses 2 cpus, 4Gi, 4Gi of storage and
	// a GPU.
	alloc := rl("cpu", "4", "memory", "8Gi", "ephemeral-storage", "10Gi", "pods", "10", string(gpu), "2")
	busy := func() *framework.NodeInfo {
		return node("n1", alloc, pod(rl("cpu", "2", "memory", "4Gi", "ephemeral-storage", "4Gi", string(gpu), "1")))
	}
	tests := []struct {
		name        string
		args        string
		pod         *corev1.Pod
		node        *framework.NodeInfo
		wantCode    framework.Code
		wantReasons []string
	}{
		{name: "fits", pod: pod(rl("cpu", "1", "memory", "1Gi")), node: busy()},
		{name: "fits exactly", pod: pod(rl("cpu", "2", "memory", "4Gi", "ephemeral-storage", "6Gi", string(gpu), "1")), node: busy()},
		{name: "a pod without requests fits a full node", pod: pod(corev1.ResourceList{}), node: node("n1", rl("cpu", "1", "memory", "1Gi", "pods", "2"), pod(rl("cpu", "1", "memory", "1Gi")))},
		{name: "a resource not requested is not checked", pod: pod(rl("cpu", "1")), node: node("n1", rl("cpu", "2", "memory", "1Gi", "pods", "2"), pod(rl("memory", "1Gi")))},
		{
			name:        "insufficient cpu",
			pod:         pod(rl("cpu", "3")),
			node:        busy(),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"Insufficient cpu"},
		},
		{
			name:        "insufficient cpu and memory",
			pod:         pod(rl("cpu", "2500m", "memory", "5Gi")),
			node:        busy(),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"Insufficient cpu", "Insufficient memory"},
		},
		{
			name:        "more than the node has at all: preemption cannot help",
			pod:         pod(rl("cpu", "5")),
			node:        busy(),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"Insufficient cpu"},
		},
		{
			name:        "one shortage beyond the node's size makes all unresolvable",
			pod:         pod(rl("cpu", "3", "memory", "9Gi")),
			node:        busy(),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"Insufficient cpu", "Insufficient memory"},
		},
		{
			name:        "insufficient ephemeral-storage",
			pod:         pod(rl("ephemeral-storage", "7Gi")),
			node:        busy(),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"Insufficient ephemeral-storage"},
		},
		{
			name:        "insufficient extended resource",
			pod:         pod(rl(string(gpu), "2")),
			node:        busy(),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"Insufficient example.com/gpu"},
		},
		{
			name:        "extended resource the node does not have",
			pod:         pod(rl("example.com/fpga", "1")),
			node:        busy(),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"Insufficient example.com/fpga"},
		},
		{
			name:        "extended resources are reported by name",
			pod:         pod(rl("example.com/b", "1", "example.com/a", "1", "example.com/c", "1")),
			node:        node("n1", rl("pods", "10", "example.com/c", "1")),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"Insufficient example.com/a", "Insufficient example.com/b"},
		},
		{
			name:        "hugepages",
			pod:         pod(rl("hugepages-2Mi", "4Mi")),
			node:        node("n1", rl("pods", "10", "hugepages-2Mi", "2Mi")),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"Insufficient hugepages-2Mi"},
		},
		{name: "ignored resource", args: `{"ignoredResources": ["example.com/fpga"]}`, pod: pod(rl("example.com/fpga", "1")), node: busy()},
		{name: "ignored resource group", args: `{"ignoredResourceGroups": ["example.com"]}`, pod: pod(rl(string(gpu), "5")), node: busy()},
		{
			name:        "only extended resources can be ignored",
			args:        `{"ignoredResources": ["hugepages-2Mi"]}`,
			pod:         pod(rl("hugepages-2Mi", "4Mi")),
			node:        busy(),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"Insufficient hugepages-2Mi"},
		},
		{
			name:        "too many pods",
			pod:         pod(corev1.ResourceList{}),
			node:        node("n1", rl("cpu", "4", "pods", "1"), pod(rl("cpu", "1"))),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"Too many pods"},
		},
		{
			name:        "too many pods and insufficient cpu",
			pod:         pod(rl("cpu", "4")),
			node:        node("n1", rl("cpu", "4", "pods", "1"), pod(rl("cpu", "1"))),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"Too many pods", "Insufficient cpu"},
		},
		{
			name:        "a node that allows no pods",
			pod:         pod(rl("cpu", "1")),
			node:        node("n1", rl("cpu", "4")),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"Too many pods"},
		},
		{
			name:        "an init container asking for more than the app containers",
			pod:         withInit(pod(rl("cpu", "1")), false, rl("cpu", "3")),
			node:        busy(),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"Insufficient cpu"},
		},
		{
			name: "init containers run one at a time",
			pod:  withInit(withInit(pod(rl("cpu", "1")), false, rl("cpu", "2")), false, rl("cpu", "2")),
			node: busy(),
		},
		{
			name:        "sidecars add to the app containers",
			pod:         withInit(pod(rl("cpu", "1")), true, rl("cpu", "1500m")),
			node:        busy(),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"Insufficient cpu"},
		},
		{
			name:        "overhead counts",
			pod:         withOverhead(pod(rl("memory", "3Gi")), rl("memory", "1025Mi")),
			node:        busy(),
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"Insufficient memory"},
		},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFit(t, tt.args)
			state := framework.NewCycleState()
			if _, s := f.PreFilter(ctx, state, tt.pod, nil); !s.IsSuccess() {
				t.Fatalf("PreFilter = %v", s)
			}
			s := f.Filter(ctx, state, tt.pod, tt.node)
			if s.Code() != tt.wantCode || !reflect.DeepEqual(s.Reasons(), tt.wantReasons) {
				t.Errorf("Filter = %v, want %v %q", s, tt.wantCode, tt.wantReasons)
			}
		})
	}
}

func TestFitFilterWithoutPreFilter(t *testing.T) {
	s := newFit(t, "").Filter(context.Background(), framework.NewCycleState(), pod(rl("cpu", "1")), node("n1", rl("cpu", "1", "pods", "1")))
	if s.Code() != framework.Error {
		t.Errorf("Filter = %v, want Error", s)
	}
}

func TestFitFilterAfterVictimRemoved(t *testing.T) {
	// Preemption's what-if on clones: removing a pod makes room.
	ctx := context.Background()
	f := newFit(t, "")
	victim := pod(rl("cpu", "3"))
	ni := node("n1", rl("cpu", "4", "pods", "10"), victim)
	p := pod(rl("cpu", "2"))
	state := framework.NewCycleState()
	f.PreFilter(ctx, state, p, nil)
	if s := f.Filter(ctx, state, p, ni); s.Code() != framework.Unschedulable {
		t.Fatalf("Filter = %v, want Unschedulable", s)
	}
	clone := ni.Clone()
	clone.RemovePod(victim.UID)
	if s := f.Filter(ctx, state.Clone(), p, clone); !s.IsSuccess() {
		t.Errorf("Filter without the victim = %v, want Success", s)
	}
}

// scoreAll runs PreScore and Score over the nodes.
func scoreAll(t *testing.T, pl framework.ScorePlugin, pre framework.PreScorePlugin, p *corev1.Pod, nodes []*framework.NodeInfo) []int64 {
	t.Helper()
	ctx := context.Background()
	state := framework.NewCycleState()
	if s := pre.PreScore(ctx, state, p, nodes); !s.IsSuccess() {
		t.Fatalf("PreScore = %v", s)
	}
	out := make([]int64, len(nodes))
	for i, n := range nodes {
		v, s := pl.Score(ctx, state, p, n)
		if !s.IsSuccess() {
			t.Fatalf("Score(%s) = %v", n.Name(), s)
		}
		// Score without PreScore computes the same.
		if v2, _ := pl.Score(ctx, framework.NewCycleState(), p, n); v2 != v {
			t.Errorf("Score(%s) without PreScore = %d, with = %d", n.Name(), v2, v)
		}
		out[i] = v
	}
	return out
}

func TestFitScore(t *testing.T) {
	// Memory in bytes, as Kubernetes' own examples.
	n4 := func(pods ...*corev1.Pod) *framework.NodeInfo {
		return node("n4", rl("cpu", "4000m", "memory", "10000", "pods", "100"), pods...)
	}
	n6 := func(pods ...*corev1.Pod) *framework.NodeInfo {
		return node("n6", rl("cpu", "6000m", "memory", "10000", "pods", "100"), pods...)
	}
	big := func(pods ...*corev1.Pod) *framework.NodeInfo {
		return node("big", rl("cpu", "4000m", "memory", "2Gi", "pods", "100"), pods...)
	}
	tests := []struct {
		name  string
		args  string
		pod   *corev1.Pod
		nodes []*framework.NodeInfo
		want  []int64
	}{
		{
			// cpu (4000-3000)*100/4000 = 25, memory 50: (25+50)/2 = 37;
			// cpu 50, memory 50: 50.
			name:  "least allocated, differently sized nodes",
			pod:   pod(rl("cpu", "3000m", "memory", "5000")),
			nodes: []*framework.NodeInfo{n4(), n6()},
			want:  []int64{37, 50},
		},
		{
			// with 1000m and 2000 of memory requested already:
			// cpu (4000-4000)*100/4000 = 0, memory 30: 15.
			name:  "least allocated counts the pods on the node",
			pod:   pod(rl("cpu", "3000m", "memory", "5000")),
			nodes: []*framework.NodeInfo{n4(pod(rl("cpu", "1000m", "memory", "2000")))},
			want:  []int64{15},
		},
		{
			// The defaults: 100m and 200Mi. cpu (4000-100)*100/4000 = 97,
			// memory (2Gi-200Mi)*100/2Gi = 90: 93. With a request-less pod
			// on the node: cpu 95, memory 80: 87.
			name:  "least allocated with the defaults for unset requests",
			pod:   pod(corev1.ResourceList{}),
			nodes: []*framework.NodeInfo{big(), big(pod(corev1.ResourceList{}))},
			want:  []int64{93, 87},
		},
		{
			name:  "least allocated, overcommitted resource scores 0",
			pod:   pod(rl("cpu", "5000m", "memory", "5000")),
			nodes: []*framework.NodeInfo{n4()},
			want:  []int64{25},
		},
		{
			// (25*3 + 50*1)/4 = 31.
			name:  "least allocated, weighted",
			args:  `{"scoringStrategy": {"type": "LeastAllocated", "resources": [{"name": "cpu", "weight": 3}, {"name": "memory", "weight": 1}]}}`,
			pod:   pod(rl("cpu", "3000m", "memory", "5000")),
			nodes: []*framework.NodeInfo{n4(), n6()},
			want:  []int64{31, 50},
		},
		{
			// gpu (4-1)*100/4 = 75 joins the average on nodes that have
			// it: (25+50+75)/3 = 50; a node without it: 37.
			name: "least allocated with an extended resource",
			args: `{"scoringStrategy": {"resources": [{"name": "cpu"}, {"name": "memory"}, {"name": "example.com/gpu"}], "type": "LeastAllocated"}}`,
			pod:  pod(rl("cpu", "3000m", "memory", "5000", string(gpu), "1")),
			nodes: []*framework.NodeInfo{
				node("gpu", rl("cpu", "4000m", "memory", "10000", "pods", "100", string(gpu), "4")),
				n4(),
			},
			want: []int64{50, 37},
		},
		{
			name:  "an extended resource the pod does not request does not count",
			args:  `{"scoringStrategy": {"resources": [{"name": "cpu"}, {"name": "memory"}, {"name": "example.com/gpu"}], "type": "LeastAllocated"}}`,
			pod:   pod(rl("cpu", "3000m", "memory", "5000")),
			nodes: []*framework.NodeInfo{node("gpu", rl("cpu", "4000m", "memory", "10000", "pods", "100", string(gpu), "4"))},
			want:  []int64{37},
		},
		{
			// cpu 75, memory 50: 62; cpu 50, memory 50: 50.
			name:  "most allocated",
			args:  `{"scoringStrategy": {"type": "MostAllocated"}}`,
			pod:   pod(rl("cpu", "3000m", "memory", "5000")),
			nodes: []*framework.NodeInfo{n4(), n6()},
			want:  []int64{62, 50},
		},
		{
			// cpu capped at 100, memory 50: 75.
			name:  "most allocated, overcommitted resource scores 100",
			args:  `{"scoringStrategy": {"type": "MostAllocated"}}`,
			pod:   pod(rl("cpu", "5000m", "memory", "5000")),
			nodes: []*framework.NodeInfo{n4()},
			want:  []int64{75},
		},
		{
			// utilisation 75 → 25, 50 → 50: 37.5 rounds to 38.
			name:  "requested to capacity ratio, decreasing shape",
			args:  `{"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 10}, {"utilization": 100, "score": 0}]}}}`,
			pod:   pod(rl("cpu", "3000m", "memory", "5000")),
			nodes: []*framework.NodeInfo{n4(), n6()},
			want:  []int64{38, 50},
		},
		{
			// utilisation 75 → 75, 50 → 50: 62.5 rounds to 63.
			name:  "requested to capacity ratio, increasing shape",
			args:  `{"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}}}`,
			pod:   pod(rl("cpu", "3000m", "memory", "5000")),
			nodes: []*framework.NodeInfo{n4(), n6()},
			want:  []int64{63, 50},
		},
		{
			// cpu 50 → 50; memory utilisation 0 → 0, left out of the
			// average: 50.
			name:  "requested to capacity ratio leaves out resources scoring 0",
			args:  `{"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}}}`,
			pod:   pod(rl("cpu", "2000m")),
			nodes: []*framework.NodeInfo{node("huge", rl("cpu", "4000m", "memory", "1Ti", "pods", "100"))},
			want:  []int64{50},
		},
		{
			// cpu utilisation 75: between (50, 2) and (100, 10):
			// 20 + (100-20)*(75-50)/50 = 60; memory 50 → 20: 40.
			name:  "requested to capacity ratio, several segments",
			args:  `{"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [{"utilization": 10, "score": 0}, {"utilization": 50, "score": 2}, {"utilization": 100, "score": 10}]}}}`,
			pod:   pod(rl("cpu", "3000m", "memory", "5000")),
			nodes: []*framework.NodeInfo{n4()},
			want:  []int64{40},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFit(t, tt.args)
			if got := scoreAll(t, f, f, tt.pod, tt.nodes); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("scores = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFitEventsToRegister(t *testing.T) {
	events := newFit(t, "").EventsToRegister()
	for _, tt := range []struct {
		e    framework.ClusterEvent
		want bool
	}{
		{framework.ClusterEvent{Resource: framework.ResourcePod, Action: framework.ActionDelete}, true},
		{framework.ClusterEvent{Resource: framework.ResourcePod, Action: framework.ActionUpdatePodRequest}, true},
		{framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionAdd}, true},
		{framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeAllocatable}, true},
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
