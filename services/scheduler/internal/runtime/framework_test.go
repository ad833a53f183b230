package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/cache"
)

// rejectPrefix rejects nodes whose name starts with its prefix.
type rejectPrefix struct{ prefix string }

func (p rejectPrefix) Name() string { return "RejectPrefix" }
func (p rejectPrefix) Filter(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	if strings.HasPrefix(n.Name(), p.prefix) {
		return framework.NewStatus(framework.Unschedulable, "node(s) were rejected")
	}
	return nil
}

// byName scores node-7 highest, others by their number.
type byName struct{}

func (byName) Name() string { return "ByName" }
func (byName) Score(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	var i int64
	fmt.Sscanf(n.Name(), "node-%d", &i)
	return i % 10, nil
}
func (byName) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	for i := range scores {
		scores[i].Score *= 10
	}
	return nil
}

type binder struct{ bound map[string]string }

func (b *binder) Name() string { return "Binder" }
func (b *binder) Bind(_ context.Context, _ *framework.CycleState, p *corev1.Pod, node string) *framework.Status {
	b.bound[p.Name] = node
	return nil
}

func snapshot(n int) *cache.Snapshot {
	var nodes []*framework.NodeInfo
	for i := range n {
		ni := framework.NewNodeInfo()
		ni.SetNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d", i)}})
		nodes = append(nodes, ni)
	}
	return cache.NewSnapshot(nodes...)
}

func newFramework(t *testing.T, pct int32, plugins ...framework.Plugin) *Framework {
	t.Helper()
	reg := framework.Registry{}
	var refs []PluginRef
	for _, p := range plugins {
		reg[p.Name()] = func(json.RawMessage, framework.Handle) (framework.Plugin, error) { return p, nil }
		refs = append(refs, PluginRef{Name: p.Name(), Weight: 2})
	}
	f, err := New(Options{SchedulerName: "test", Plugins: refs, Registry: reg, PercentageOfNodesToScore: pct})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFilterAndScore(t *testing.T) {
	b := &binder{bound: map[string]string{}}
	f := newFramework(t, 100, rejectPrefix{"node-1"}, byName{}, b)
	f.SetSnapshot(snapshot(20))
	ctx := context.Background()
	state := framework.NewCycleState()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	feasible, rejected, err := f.FindNodesThatFit(ctx, state, pod, nil)
	if err != nil {
		t.Fatal(err)
	}
	// node-1 and node-10..19 are rejected; the rejections are reported
	// only when no node fits.
	if len(feasible) != 9 || len(rejected) != 0 {
		t.Fatalf("%d feasible, %d rejections reported", len(feasible), len(rejected))
	}
	none := newFramework(t, 100, rejectPrefix{"node-"}, &binder{})
	none.SetSnapshot(snapshot(20))
	if feasible, rejected, err := none.FindNodesThatFit(ctx, framework.NewCycleState(), pod, nil); err != nil || len(feasible) != 0 || len(rejected) != 20 {
		t.Fatalf("nothing fits: %d feasible, %d rejected, %v", len(feasible), len(rejected), err)
	} else if s := rejected["node-13"]; s.Code() != framework.Unschedulable || s.Plugin() != "RejectPrefix" {
		t.Fatalf("node-13: %v from %q", s, s.Plugin())
	}
	scores, err := f.PrioritizeNodes(ctx, state, pod, feasible)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scores {
		var i int64
		fmt.Sscanf(s.Name, "node-%d", &i)
		if s.Score != i%10*10*2 {
			t.Fatalf("%s scored %d, want normalised and weighted %d", s.Name, s.Score, i%10*10*2)
		}
	}
	if st := f.RunBind(ctx, state, pod, "node-9"); !st.IsSuccess() || b.bound["p"] != "node-9" {
		t.Fatalf("bind: %v %v", st, b.bound)
	}
}

func TestEnoughFeasibleNodesInABigCluster(t *testing.T) {
	f := newFramework(t, 0, rejectPrefix{"none"}, &binder{})
	for total, want := range map[int]int{50: 50, 100: 100, 1000: 420, 5000: 500, 20000: 1000} {
		if got := f.numFeasibleNodesToFind(total); got != want {
			t.Errorf("%d nodes: find %d, want %d", total, got, want)
		}
	}
	f.SetSnapshot(snapshot(5000))
	seen := map[string]bool{}
	for range 3 {
		feasible, _, err := f.FindNodesThatFit(context.Background(), framework.NewCycleState(), &corev1.Pod{}, nil)
		if err != nil || len(feasible) != 500 {
			t.Fatalf("%d feasible, %v", len(feasible), err)
		}
		for _, n := range feasible {
			if seen[n.Name()] {
				t.Fatalf("node %s examined twice in three cycles of 500 out of 5000: the search does not rotate", n.Name())
			}
			seen[n.Name()] = true
		}
	}
}

func TestConfigurationErrors(t *testing.T) {
	if _, err := New(Options{Plugins: []PluginRef{{Name: "Missing"}}, Registry: framework.Registry{}}); err == nil || !strings.Contains(err.Error(), `no plugin named "Missing"`) {
		t.Errorf("unknown plugin: %v", err)
	}
	reg := framework.Registry{"F": func(json.RawMessage, framework.Handle) (framework.Plugin, error) { return rejectPrefix{}, nil }}
	if _, err := New(Options{Plugins: []PluginRef{{Name: "F"}}, Registry: reg}); err == nil || !strings.Contains(err.Error(), "no Bind plugin") {
		t.Errorf("no binder: %v", err)
	}
}

// hinter's PreFilter hints that its Filter rejects the nodes whose name
// starts with prefix; its Filter counts its calls and does so.
type hinter struct {
	prefix string
	calls  *atomic.Int64
}

func (h hinter) Name() string { return "Hinter" }
func (h hinter) PreFilter(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, nodes []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	rejects := make([]bool, len(nodes))
	for i, n := range nodes {
		rejects[i] = strings.HasPrefix(n.Name(), h.prefix)
	}
	cs.AddFilterHint(framework.FilterHint{Plugin: h.Name(), Nodes: nodes, Rejects: rejects})
	return nil, nil
}
func (h hinter) Filter(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	h.calls.Add(1)
	if strings.HasPrefix(n.Name(), h.prefix) {
		return framework.NewStatus(framework.Unschedulable, "node(s) were hinted away")
	}
	return nil
}

// A PreFilter hint spares Filter the nodes it rules out; when nothing
// fits, every node is filtered after all and the rejections are the
// Filters' own.
func TestFilterHints(t *testing.T) {
	var calls atomic.Int64
	// node-1 and node-10..node-19 are hinted away, out of 20.
	f := newFramework(t, 100, hinter{prefix: "node-1", calls: &calls}, &binder{})
	f.SetSnapshot(snapshot(20))
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "p"}}
	cs := framework.NewCycleState()
	pre, st := f.RunPreFilterPlugins(context.Background(), cs, pod)
	if !st.IsSuccess() {
		t.Fatal(st)
	}
	feasible, _, err := f.FindNodesThatFit(context.Background(), cs, pod, pre)
	if err != nil {
		t.Fatal(err)
	}
	if len(feasible) != 9 || calls.Load() != 9 {
		t.Errorf("%d feasible nodes, %d Filter calls; want 9 and 9", len(feasible), calls.Load())
	}
	for _, n := range feasible {
		if strings.HasPrefix(n.Name(), "node-1") {
			t.Errorf("%s is feasible", n.Name())
		}
	}

	// Every node hinted away: found none, so all 20 are filtered, and
	// each rejection is Filter's status.
	calls.Store(0)
	f = newFramework(t, 100, hinter{prefix: "node-", calls: &calls}, &binder{})
	f.SetSnapshot(snapshot(20))
	cs = framework.NewCycleState()
	if pre, st = f.RunPreFilterPlugins(context.Background(), cs, pod); !st.IsSuccess() {
		t.Fatal(st)
	}
	feasible, rejected, err := f.FindNodesThatFit(context.Background(), cs, pod, pre)
	if err != nil || len(feasible) != 0 || len(rejected) != 20 || calls.Load() != 20 {
		t.Fatalf("feasible %d, rejected %d, %d Filter calls, err %v; want 0, 20, 20", len(feasible), len(rejected), calls.Load(), err)
	}
	if r := rejected["node-3"]; r == nil || !strings.Contains(r.String(), "hinted away") {
		t.Errorf("node-3's rejection %v", r)
	}
}

// reversed scores nodes by 9 minus their number's last digit, with no
// normalizing.
type reversed struct{}

func (reversed) Name() string { return "Reversed" }
func (reversed) Score(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	var i int64
	fmt.Sscanf(n.Name(), "node-%d", &i)
	return 9 - i%10, nil
}

// TestScoresOfSuccessiveCycles scores node lists of changing length with
// the same framework, whose per-plugin score lists share one buffer from
// cycle to cycle: every total is the weighted sum of its own node's
// scores, whatever the cycle before scored.
func TestScoresOfSuccessiveCycles(t *testing.T) {
	f := newFramework(t, 100, byName{}, reversed{}, &binder{})
	snap := snapshot(50)
	f.SetSnapshot(snap)
	all := snap.List()
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	for _, n := range []int{20, 7, 50, 3, 50} {
		nodes := all[:n]
		scores, err := f.PrioritizeNodes(ctx, framework.NewCycleState(), pod, nodes)
		if err != nil {
			t.Fatal(err)
		}
		if len(scores) != n {
			t.Fatalf("%d nodes: %d scores", n, len(scores))
		}
		for k, s := range scores {
			var i int64
			fmt.Sscanf(s.Name, "node-%d", &i)
			// byName normalised (x10) and reversed, both weighted 2.
			if want := (i%10*10 + 9 - i%10) * 2; s.Name != nodes[k].Name() || s.Score != want {
				t.Fatalf("%d nodes: entry %d is %s scored %d, want %s scored %d", n, k, s.Name, s.Score, nodes[k].Name(), want)
			}
		}
	}
}

// skipper's PreFilter returns Skip when told to; its Filter rejects every
// node and counts its calls.
type skipper struct {
	name  string
	skip  bool
	calls *atomic.Int64
}

func (s skipper) Name() string { return s.name }
func (s skipper) PreFilter(context.Context, *framework.CycleState, *corev1.Pod, []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	if s.skip {
		return nil, framework.NewStatus(framework.Skip)
	}
	return nil, nil
}
func (s skipper) Filter(context.Context, *framework.CycleState, *corev1.Pod, *framework.NodeInfo) *framework.Status {
	s.calls.Add(1)
	return framework.NewStatus(framework.Unschedulable, s.name+" rejects every node")
}

// TestSkippedFiltersDoNotRun: a filter whose PreFilter returned Skip runs
// neither in the search for feasible nodes nor through RunFilterPlugins;
// the others run on every node.
func TestSkippedFiltersDoNotRun(t *testing.T) {
	var skipped, kept atomic.Int64
	f := newFramework(t, 100, skipper{"Skipped", true, &skipped}, skipper{"Kept", false, &kept}, &binder{})
	f.SetSnapshot(snapshot(30))
	ctx := context.Background()
	state := framework.NewCycleState()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	if _, s := f.RunPreFilterPlugins(ctx, state, pod); !s.IsSuccess() {
		t.Fatal(s)
	}
	if !state.SkipFilterPlugins["Skipped"] || state.SkipFilterPlugins["Kept"] {
		t.Fatalf("skip set %v", state.SkipFilterPlugins)
	}
	feasible, rejected, err := f.FindNodesThatFit(ctx, state, pod, nil)
	if err != nil || len(feasible) != 0 || len(rejected) != 30 {
		t.Fatalf("%d feasible, %d rejected, %v", len(feasible), len(rejected), err)
	}
	if s := rejected["node-3"]; s.Plugin() != "Kept" {
		t.Errorf("node-3 rejected by %q, want Kept", s.Plugin())
	}
	if s := f.RunFilterPlugins(ctx, state, pod, f.snapshot.List()[0]); s.Plugin() != "Kept" {
		t.Errorf("RunFilterPlugins: rejected by %q, want Kept", s.Plugin())
	}
	if n := skipped.Load(); n != 0 {
		t.Errorf("the skipped filter ran %d times", n)
	}
	if n := kept.Load(); n < 31 {
		t.Errorf("the kept filter ran %d times, want at least once per node and once more", n)
	}
}
