package defaultpreemption

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

func TestPostFilter(t *testing.T) {
	const (
		unresolvable = framework.UnschedulableAndUnresolvable
		absent       = framework.Code(-1) // no status for the node
	)
	tests := []struct {
		name  string
		pod   podSpec
		nodes []*framework.NodeInfo
		// filtered overrides the filter status of some nodes; the others
		// are Unschedulable ("Insufficient cpu").
		filtered  map[string]framework.Code
		nominated map[string][]podSpec

		wantNode        string
		wantDeleted     []string
		wantCode        framework.Code
		wantReasons     []string // sorted
		wantNominations map[string]string
	}{
		{
			name: "the lowest-priority pods, and no more, are victims",
			pod:  podSpec{name: "p", priority: 10, cpu: "1"},
			nodes: []*framework.NodeInfo{nodeInfo("n1", "3",
				podSpec{name: "b", priority: 2, cpu: "1"},
				podSpec{name: "a", priority: 1, cpu: "1"},
				podSpec{name: "c", priority: 3, cpu: "1"},
			)},
			wantNode:    "n1",
			wantDeleted: []string{"a"},
		},
		{
			name: "several victims when one is not enough",
			pod:  podSpec{name: "p", priority: 10, cpu: "2"},
			nodes: []*framework.NodeInfo{nodeInfo("n1", "3",
				podSpec{name: "high", priority: 20, cpu: "1"},
				podSpec{name: "low1", priority: 1, cpu: "1"},
				podSpec{name: "low2", priority: 2, cpu: "1"},
			)},
			wantNode:    "n1",
			wantDeleted: []string{"low1", "low2"},
		},
		{
			name: "higher- and equal-priority pods are never victims",
			pod:  podSpec{name: "p", priority: 10, cpu: "2"},
			nodes: []*framework.NodeInfo{nodeInfo("n1", "3",
				podSpec{name: "high", priority: 20, cpu: "1"},
				podSpec{name: "equal", priority: 10, cpu: "1"},
				podSpec{name: "low", priority: 1, cpu: "1"},
			)},
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"Insufficient cpu"},
		},
		{
			name: "preemptionPolicy Never does nothing",
			pod:  podSpec{name: "p", priority: 10, cpu: "1", never: true},
			nodes: []*framework.NodeInfo{nodeInfo("n1", "1",
				podSpec{name: "low", priority: 1, cpu: "1"},
			)},
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"not eligible due to preemptionPolicy=Never"},
		},
		{
			name: "a reason per node when preemption cannot help",
			pod:  podSpec{name: "p", priority: 10, cpu: "1"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "1", podSpec{name: "high", priority: 20, cpu: "1"}),
				nodeInfo("n2", "1", podSpec{name: "low2", priority: 1, cpu: "1"}),
				nodeInfo("n3", "1", podSpec{name: "low3", priority: 1, cpu: "1"}),
			},
			filtered: map[string]framework.Code{"n2": unresolvable, "n3": unresolvable},
			wantCode: framework.Unschedulable,
			wantReasons: []string{
				"No preemption victims found for incoming pod",
				"Preemption is not helpful for scheduling",
				"Preemption is not helpful for scheduling",
			},
		},
		{
			name: "nodes absent from the filter statuses are not candidates",
			pod:  podSpec{name: "p", priority: 10, cpu: "1"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "1", podSpec{name: "low", priority: 1, cpu: "1"}),
			},
			filtered: map[string]framework.Code{"n1": absent},
			wantCode: framework.Unschedulable,
			wantReasons: []string{
				"Preemption is not helpful for scheduling",
			},
		},
		{
			name: "an UnschedulableAndUnresolvable node is not a candidate",
			pod:  podSpec{name: "p", priority: 10, cpu: "1"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "1", podSpec{name: "lowest", priority: 0, cpu: "1"}),
				nodeInfo("n2", "1", podSpec{name: "low", priority: 5, cpu: "1"}),
			},
			filtered:    map[string]framework.Code{"n1": unresolvable},
			wantNode:    "n2",
			wantDeleted: []string{"low"},
		},
		{
			name: "best node: the lowest highest-victim priority",
			pod:  podSpec{name: "p", priority: 10, cpu: "2"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "2",
					podSpec{name: "n1-a", priority: 5, cpu: "1"},
					podSpec{name: "n1-b", priority: 0, cpu: "1"}),
				nodeInfo("n2", "2", podSpec{name: "n2-a", priority: 3, cpu: "2"}),
			},
			wantNode:    "n2",
			wantDeleted: []string{"n2-a"},
		},
		{
			name: "best node: then the smallest sum of priorities",
			pod:  podSpec{name: "p", priority: 10, cpu: "2"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "2",
					podSpec{name: "n1-a", priority: 3, cpu: "1"},
					podSpec{name: "n1-b", priority: 2, cpu: "1"}),
				nodeInfo("n2", "2",
					podSpec{name: "n2-a", priority: 3, cpu: "1"},
					podSpec{name: "n2-b", priority: 1, cpu: "1"}),
			},
			wantNode:    "n2",
			wantDeleted: []string{"n2-a", "n2-b"},
		},
		{
			name: "best node: fewer victims of the same priority",
			pod:  podSpec{name: "p", priority: 10, cpu: "2"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "2",
					podSpec{name: "n1-a", priority: 1, cpu: "1"},
					podSpec{name: "n1-b", priority: 1, cpu: "1"}),
				nodeInfo("n2", "2", podSpec{name: "n2-a", priority: 1, cpu: "2"}),
			},
			wantNode:    "n2",
			wantDeleted: []string{"n2-a"},
		},
		{
			name: "best node: then the latest start of the highest-priority victims",
			pod:  podSpec{name: "p", priority: 10, cpu: "1"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "1", podSpec{name: "n1-a", priority: 1, cpu: "1", started: 2 * time.Hour}),
				nodeInfo("n2", "1", podSpec{name: "n2-a", priority: 1, cpu: "1", started: time.Hour}),
				nodeInfo("n3", "1", podSpec{name: "n3-a", priority: 1, cpu: "1", started: 3 * time.Hour}),
			},
			wantNode:    "n2",
			wantDeleted: []string{"n2-a"},
		},
		{
			name: "best node: then the first",
			pod:  podSpec{name: "p", priority: 10, cpu: "1"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "1", podSpec{name: "n1-a", priority: 1, cpu: "1", started: time.Hour}),
				nodeInfo("n2", "1", podSpec{name: "n2-a", priority: 1, cpu: "1", started: time.Hour}),
			},
			wantNode:    "n1",
			wantDeleted: []string{"n1-a"},
		},
		{
			name: "pods nominated to the node with a higher priority count",
			pod:  podSpec{name: "p", priority: 10, cpu: "2"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "3", podSpec{name: "low", priority: 1, cpu: "2"}),
			},
			nominated:   map[string][]podSpec{"n1": {{name: "nom", priority: 10, cpu: "1500m"}}},
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"Insufficient cpu"},
		},
		{
			name: "pods nominated with a lower priority do not count and lose their nomination",
			pod:  podSpec{name: "p", priority: 10, cpu: "2"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "3", podSpec{name: "low", priority: 1, cpu: "2"}),
			},
			nominated: map[string][]podSpec{"n1": {
				{name: "nom-low", priority: 5, cpu: "1500m", nominated: "n1"},
				{name: "nom-high", priority: 20, cpu: "500m", nominated: "n1"},
			}},
			wantNode:        "n1",
			wantDeleted:     []string{"low"},
			wantNominations: map[string]string{"nom-low": ""},
		},
		{
			name: "the pod itself among the nominated pods does not count",
			pod:  podSpec{name: "p", priority: 10, cpu: "2", nominated: "n1"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "2", podSpec{name: "low", priority: 1, cpu: "2"}),
			},
			nominated:   map[string][]podSpec{"n1": {{name: "p", priority: 10, cpu: "2", nominated: "n1"}}},
			wantNode:    "n1",
			wantDeleted: []string{"low"},
		},
		{
			name: "not eligible while a victim is terminating on the nominated node",
			pod:  podSpec{name: "p", priority: 10, cpu: "1", nominated: "n1"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "2",
					podSpec{name: "going", priority: 1, cpu: "1", terminating: true},
					podSpec{name: "other", priority: 1, cpu: "1"}),
				nodeInfo("n2", "1", podSpec{name: "low", priority: 1, cpu: "1"}),
			},
			wantCode:    framework.Unschedulable,
			wantReasons: []string{"not eligible due to a terminating pod on the nominated node"},
		},
		{
			name: "eligible again when the nominated node became unresolvable",
			pod:  podSpec{name: "p", priority: 10, cpu: "1", nominated: "n1"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "2",
					podSpec{name: "going", priority: 1, cpu: "1", terminating: true},
					podSpec{name: "other", priority: 1, cpu: "1"}),
				nodeInfo("n2", "1", podSpec{name: "low", priority: 1, cpu: "1"}),
			},
			filtered:    map[string]framework.Code{"n1": unresolvable},
			wantNode:    "n2",
			wantDeleted: []string{"low"},
		},
		{
			name: "a terminating higher-priority pod on the nominated node does not block",
			pod:  podSpec{name: "p", priority: 10, cpu: "1", nominated: "n1"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "2",
					podSpec{name: "high-going", priority: 20, cpu: "1", terminating: true},
					podSpec{name: "low", priority: 1, cpu: "1"}),
			},
			wantNode:    "n1",
			wantDeleted: []string{"low"},
		},
		{
			name: "a victim already terminating is not deleted again",
			pod:  podSpec{name: "p", priority: 10, cpu: "2"},
			nodes: []*framework.NodeInfo{nodeInfo("n1", "2",
				podSpec{name: "going", priority: 1, cpu: "1", terminating: true},
				podSpec{name: "staying", priority: 1, cpu: "1"},
			)},
			wantNode:    "n1",
			wantDeleted: []string{"staying"},
		},
		{
			name: "the pod's nomination is cleared when preemption cannot help",
			pod:  podSpec{name: "p", priority: 10, cpu: "1", nominated: "n1"},
			nodes: []*framework.NodeInfo{
				nodeInfo("n1", "1", podSpec{name: "high", priority: 20, cpu: "1"}),
			},
			wantCode:        framework.Unschedulable,
			wantReasons:     []string{"No preemption victims found for incoming pod"},
			wantNominations: map[string]string{"p": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHandle(tt.nodes...)
			for node, specs := range tt.nominated {
				for _, s := range specs {
					h.client.nominated[node] = append(h.client.nominated[node], framework.NewPodInfo(s.pod()))
				}
			}
			filtered := framework.NodeToStatus{}
			for _, n := range tt.nodes {
				filtered[n.Name()] = framework.NewStatus(framework.Unschedulable, "Insufficient cpu")
				switch c, ok := tt.filtered[n.Name()]; {
				case c == absent:
					delete(filtered, n.Name())
				case ok:
					filtered[n.Name()] = framework.NewStatus(c, "some reason")
				}
			}
			requested := make([]int64, len(tt.nodes))
			for i, n := range tt.nodes {
				requested[i] = n.Requested.MilliCPU
			}
			state := framework.NewCycleState()
			state.Write(removedKey, &removedPods{})

			pl := newTestPlugin(t, h, DefaultArgs())
			res, s := pl.PostFilter(context.Background(), state, tt.pod.pod(), filtered)

			if s.Code() != tt.wantCode {
				t.Fatalf("status = %v, want code %v", s, tt.wantCode)
			}
			gotNode := ""
			if res != nil {
				gotNode = res.NominatedNodeName
			}
			if gotNode != tt.wantNode {
				t.Errorf("nominated node = %q, want %q", gotNode, tt.wantNode)
			}
			if got := h.client.deletedPods(); !slices.Equal(got, tt.wantDeleted) {
				t.Errorf("deleted = %v, want %v", got, tt.wantDeleted)
			}
			if got := slices.Sorted(slices.Values(s.Reasons())); !slices.Equal(got, tt.wantReasons) {
				t.Errorf("reasons = %q, want %q", got, tt.wantReasons)
			}
			if got := h.client.nominations; !(len(got) == 0 && len(tt.wantNominations) == 0) && !reflect.DeepEqual(got, tt.wantNominations) {
				t.Errorf("nominations set = %v, want %v", got, tt.wantNominations)
			}
			// The snapshot and the cycle's state are left alone.
			for i, n := range tt.nodes {
				if n.Requested.MilliCPU != requested[i] {
					t.Errorf("node %s: requested cpu changed from %d to %d", n.Name(), requested[i], n.Requested.MilliCPU)
				}
			}
			if d, _ := state.Read(removedKey); d.(*removedPods).n != 0 {
				t.Errorf("the cycle's state was changed, not a clone")
			}
		})
	}
}

func newTestPlugin(t *testing.T, h framework.Handle, a Args) *DefaultPreemption {
	t.Helper()
	pl := newPlugin(a, h)
	pl.randIntN = func(int) int { return 0 }
	return pl
}

func TestPostFilterErrors(t *testing.T) {
	notFound := apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "low")
	tests := []struct {
		name      string
		deleteErr error
		wantCode  framework.Code
	}{
		{name: "deletion fails", deleteErr: errors.New("connection refused"), wantCode: framework.Error},
		{name: "victim already gone", deleteErr: notFound, wantCode: framework.Success},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHandle(nodeInfo("n1", "1", podSpec{name: "low", priority: 1, cpu: "1"}))
			h.client.deleteErr = tt.deleteErr
			pl := newTestPlugin(t, h, DefaultArgs())
			state := framework.NewCycleState()
			state.Write(removedKey, &removedPods{})
			filtered := framework.NodeToStatus{"n1": framework.NewStatus(framework.Unschedulable, "Insufficient cpu")}
			res, s := pl.PostFilter(context.Background(), state, podSpec{name: "p", priority: 10, cpu: "1"}.pod(), filtered)
			if s.Code() != tt.wantCode {
				t.Fatalf("status = %v, want code %v", s, tt.wantCode)
			}
			if tt.wantCode == framework.Error && res != nil {
				t.Errorf("result = %+v, want nil on error", res)
			}
		})
	}
}

// TestPostFilterManyNodes checks that the dry run, stopped early once
// enough candidates are found, still picks a node with its own victims.
func TestPostFilterManyNodes(t *testing.T) {
	var nodes []*framework.NodeInfo
	for i := range 50 {
		name := fmt.Sprintf("n%02d", i)
		nodes = append(nodes, nodeInfo(name, "1", podSpec{name: name + "-low", priority: 1, cpu: "1"}))
	}
	filtered := framework.NodeToStatus{}
	for _, n := range nodes {
		filtered[n.Name()] = framework.NewStatus(framework.Unschedulable, "Insufficient cpu")
	}
	h := newFakeHandle(nodes...)
	pl := newPlugin(Args{MinCandidateNodesPercentage: 0, MinCandidateNodesAbsolute: 3}, h)
	state := framework.NewCycleState()
	state.Write(removedKey, &removedPods{})
	res, s := pl.PostFilter(context.Background(), state, podSpec{name: "p", priority: 10, cpu: "1"}.pod(), filtered)
	if !s.IsSuccess() || res == nil {
		t.Fatalf("PostFilter = %v, %v; want a node", res, s)
	}
	if got, want := h.client.deletedPods(), []string{res.NominatedNodeName + "-low"}; !slices.Equal(got, want) {
		t.Errorf("deleted %v, want %v", got, want)
	}
}

func TestPickCandidate(t *testing.T) {
	pod := func(name string, prio int32, started time.Duration) podSpec {
		return podSpec{name: name, priority: prio, started: started}
	}
	cand := func(node string, victims ...podSpec) *candidate {
		c := &candidate{node: node}
		for _, v := range victims {
			c.victims = append(c.victims, v.pod())
		}
		return c
	}
	tests := []struct {
		name  string
		cands []*candidate
		want  string
	}{
		{
			name:  "one",
			cands: []*candidate{cand("a", pod("x", 1, 0))},
			want:  "a",
		},
		{
			name: "negative priorities: more victims weigh more",
			cands: []*candidate{
				cand("a", pod("x", -5, 0), pod("y", -5, 0)),
				cand("b", pod("z", -5, 0)),
			},
			want: "b",
		},
		{
			name: "start time counts only the highest-priority victims",
			cands: []*candidate{
				cand("a", pod("x", 5, time.Hour), pod("y", 1, 10*time.Hour)),
				cand("b", pod("z", 5, 2*time.Hour), pod("w", 1, time.Minute)),
			},
			want: "a",
		},
		{
			name: "a victim not started yet counts as starting now",
			cands: []*candidate{
				cand("a", pod("x", 5, time.Hour)),
				cand("b", pod("z", 5, 0)),
			},
			want: "b",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pickCandidate(tt.cands, testNow); got.node != tt.want {
				t.Errorf("picked %s, want %s", got.node, tt.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	p, err := New(nil, newFakeHandle())
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != Name {
		t.Errorf("Name() = %q, want %q", p.Name(), Name)
	}
	if _, ok := p.(framework.PostFilterPlugin); !ok {
		t.Errorf("%T is not a PostFilterPlugin", p)
	}
	if _, err := New([]byte(`{"minCandidateNodesPercentage": 101}`), newFakeHandle()); err == nil {
		t.Errorf("New with invalid args: no error")
	}
}
