package defaultpreemption

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// testNow is the fake handle's clock.
var testNow = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// fakeHandle is a framework.Handle over a few NodeInfos whose only filter
// checks cpu, and whose Client records what it is asked.
type fakeHandle struct {
	nodes  []*framework.NodeInfo
	client *fakeClient
}

func newFakeHandle(nodes ...*framework.NodeInfo) *fakeHandle {
	return &fakeHandle{nodes: nodes, client: &fakeClient{nominated: map[string][]*framework.PodInfo{}}}
}

var _ framework.Handle = (*fakeHandle)(nil)

func (h *fakeHandle) SnapshotSharedLister() framework.NodeInfoLister { return fakeLister(h.nodes) }
func (h *fakeHandle) Client() framework.Client                       { return h.client }
func (h *fakeHandle) Parallelizer() framework.Parallelizer           { return goParallelizer{} }
func (h *fakeHandle) PriorityClassValue(string) (int32, bool)        { return 0, false }
func (h *fakeHandle) Now() time.Time                                 { return testNow }

// RunFilterPlugins is a cpu-only NodeResourcesFit.
func (h *fakeHandle) RunFilterPlugins(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	want := framework.PodRequests(pod, false).MilliCPU
	if n.Requested.MilliCPU+want > n.Allocatable.MilliCPU {
		return framework.NewStatus(framework.Unschedulable, "Insufficient cpu")
	}
	return nil
}

// removedPods is the PreFilter state of the fake: the pods removed.
type removedPods struct{ n int }

func (r *removedPods) Clone() framework.StateData { c := *r; return &c }

const removedKey framework.StateKey = "PreFilterFake"

func (h *fakeHandle) RunPreFilterExtensionAddPod(_ context.Context, state *framework.CycleState, _ *corev1.Pod, _ *framework.PodInfo, _ *framework.NodeInfo) *framework.Status {
	return h.countRemoved(state, -1)
}

func (h *fakeHandle) RunPreFilterExtensionRemovePod(_ context.Context, state *framework.CycleState, _ *corev1.Pod, _ *framework.PodInfo, _ *framework.NodeInfo) *framework.Status {
	return h.countRemoved(state, +1)
}

func (h *fakeHandle) countRemoved(state *framework.CycleState, d int) *framework.Status {
	data, err := state.Read(removedKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	data.(*removedPods).n += d
	return nil
}

// fakeLister lists NodeInfos in order.
type fakeLister []*framework.NodeInfo

func (l fakeLister) List() []*framework.NodeInfo                                 { return l }
func (l fakeLister) HavePodsWithAffinityList() []*framework.NodeInfo             { return nil }
func (l fakeLister) HavePodsWithRequiredAntiAffinityList() []*framework.NodeInfo { return nil }

func (l fakeLister) Get(name string) (*framework.NodeInfo, error) {
	for _, n := range l {
		if n.Name() == name {
			return n, nil
		}
	}
	return nil, fmt.Errorf("node %q: %w", name, framework.ErrNotFound)
}

// goParallelizer runs every piece in its own goroutine.
type goParallelizer struct{}

func (goParallelizer) Until(ctx context.Context, pieces int, do func(i int)) {
	var wg sync.WaitGroup
	for i := range pieces {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			do(i)
		}()
	}
	wg.Wait()
}

// fakeClient records deletions and nominations.
type fakeClient struct {
	mu          sync.Mutex
	deleted     []string
	nominations map[string]string // pod name → nominated node ("" cleared)
	nominated   map[string][]*framework.PodInfo
	deleteErr   error
}

func (c *fakeClient) Bind(context.Context, *corev1.Pod, string) error {
	return errors.New("fakeClient: Bind not expected")
}

func (c *fakeClient) DeletePod(_ context.Context, pod *corev1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deleteErr != nil {
		return c.deleteErr
	}
	c.deleted = append(c.deleted, pod.Name)
	return nil
}

func (c *fakeClient) SetNominatedNodeName(_ context.Context, pod *corev1.Pod, node string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nominations == nil {
		c.nominations = map[string]string{}
	}
	c.nominations[pod.Name] = node
	return nil
}

func (c *fakeClient) PodsNominatedTo(node string) []*framework.PodInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nominated[node]
}

func (c *fakeClient) deletedPods() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]string(nil), c.deleted...)
	sort.Strings(out)
	return out
}

// podSpec describes a test pod.
type podSpec struct {
	name     string
	priority int32
	cpu      string // request, "" for none
	// started is how long before testNow it started (0: not started).
	started     time.Duration
	terminating bool
	never       bool // preemptionPolicy Never
	nominated   string
}

func (s podSpec) pod() *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: "default", UID: types.UID("uid-" + s.name)},
		Spec: corev1.PodSpec{
			Priority:   &s.priority,
			Containers: []corev1.Container{{Name: "c"}},
		},
		Status: corev1.PodStatus{NominatedNodeName: s.nominated},
	}
	if s.cpu != "" {
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(s.cpu)}
	}
	if s.started > 0 {
		p.Status.StartTime = &metav1.Time{Time: testNow.Add(-s.started)}
	}
	if s.terminating {
		p.DeletionTimestamp = &metav1.Time{Time: testNow}
	}
	if s.never {
		never := corev1.PreemptNever
		p.Spec.PreemptionPolicy = &never
	}
	return p
}

// nodeInfo builds a node of cpu allocatable with pods on it.
func nodeInfo(name, cpu string, pods ...podSpec) *framework.NodeInfo {
	n := framework.NewNodeInfo()
	for _, s := range pods {
		n.AddPod(framework.NewPodInfo(s.pod()))
	}
	n.SetNode(&corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			corev1.ResourceCPU:  resource.MustParse(cpu),
			corev1.ResourcePods: resource.MustParse("110"),
		}},
	})
	return n
}
