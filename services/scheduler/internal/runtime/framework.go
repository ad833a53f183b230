// Package runtime runs a scheduling profile's plugins at each extension
// point (it is the framework.Handle the plugins get), filters nodes in
// parallel, stops looking once enough feasible nodes are found in a big
// cluster (percentageOfNodesToScore), and sums weighted scores.
package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// PluginRef enables a plugin, with its score weight (0: 1; negative: the
// plugin does not score).
type PluginRef struct {
	Name   string
	Weight int64
}

// Options build a Framework.
type Options struct {
	// SchedulerName is the profile's schedulerName.
	SchedulerName string
	// Plugins are enabled at every extension point they implement, in
	// this order.
	Plugins    []PluginRef
	PluginArgs map[string]json.RawMessage
	Registry   framework.Registry
	Client     framework.Client
	// Parallelism bounds the goroutines filtering and scoring nodes.
	Parallelism int
	// PercentageOfNodesToScore: 0 means adaptive (Kubernetes' formula).
	PercentageOfNodesToScore int32
	PriorityClassValue       func(name string) (int32, bool)
	Extenders                []Extender
	// Volumes reads storage objects for the plugins that need them
	// (VolumeBinding); nil when the scheduler has none.
	Volumes framework.VolumeLister
	// Observe, if set, is told how long each plugin call took.
	Observe func(plugin, extensionPoint string, status *framework.Status, d time.Duration)
	Now     func() time.Time
}

// Framework is one profile's plugins.
type Framework struct {
	opts     Options
	snapshot framework.NodeInfoLister
	par      parallelizer

	preFilter  []framework.PreFilterPlugin
	filter     []framework.FilterPlugin
	postFilter []framework.PostFilterPlugin
	preScore   []framework.PreScorePlugin
	score      []framework.ScorePlugin
	weights    map[string]int64
	reserve    []framework.ReservePlugin
	permit     []framework.PermitPlugin
	preBind    []framework.PreBindPlugin
	bind       []framework.BindPlugin
	postBind   []framework.PostBindPlugin
	all        []framework.Plugin

	nextStart atomic.Int64
	// statusBuf holds FindNodesThatFit's rejections and scoreBuf
	// PrioritizeNodes' per-plugin scores; only the scheduling loop calls
	// them, one cycle at a time. Allocated per cycle, the scores were half
	// of the scheduler's allocations under load (plugins × nodes scored).
	statusBuf []*framework.Status
	scoreBuf  []framework.NodeScore
}

var _ framework.Handle = (*Framework)(nil)

// New builds the plugins of a profile.
func New(opts Options) (*Framework, error) {
	if opts.Parallelism <= 0 {
		opts.Parallelism = DefaultParallelism
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f := &Framework{opts: opts, par: parallelizer{workers: opts.Parallelism}, weights: map[string]int64{}}
	seen := map[string]bool{}
	for _, ref := range opts.Plugins {
		if seen[ref.Name] {
			return nil, fmt.Errorf("profile %s: plugin %s is enabled twice", opts.SchedulerName, ref.Name)
		}
		seen[ref.Name] = true
		factory, ok := opts.Registry[ref.Name]
		if !ok {
			return nil, fmt.Errorf("profile %s: no plugin named %q is registered", opts.SchedulerName, ref.Name)
		}
		p, err := factory(opts.PluginArgs[ref.Name], f)
		if err != nil {
			return nil, fmt.Errorf("profile %s: plugin %s: %w", opts.SchedulerName, ref.Name, err)
		}
		f.all = append(f.all, p)
		if x, ok := p.(framework.PreFilterPlugin); ok {
			f.preFilter = append(f.preFilter, x)
		}
		if x, ok := p.(framework.FilterPlugin); ok {
			f.filter = append(f.filter, x)
		}
		if x, ok := p.(framework.PostFilterPlugin); ok {
			f.postFilter = append(f.postFilter, x)
		}
		if x, ok := p.(framework.PreScorePlugin); ok {
			f.preScore = append(f.preScore, x)
		}
		if x, ok := p.(framework.ScorePlugin); ok && ref.Weight >= 0 {
			f.score = append(f.score, x)
			w := ref.Weight
			if w == 0 {
				w = 1
			}
			f.weights[p.Name()] = w
		}
		if x, ok := p.(framework.ReservePlugin); ok {
			f.reserve = append(f.reserve, x)
		}
		if x, ok := p.(framework.PermitPlugin); ok {
			f.permit = append(f.permit, x)
		}
		if x, ok := p.(framework.PreBindPlugin); ok {
			f.preBind = append(f.preBind, x)
		}
		if x, ok := p.(framework.BindPlugin); ok {
			f.bind = append(f.bind, x)
		}
		if x, ok := p.(framework.PostBindPlugin); ok {
			f.postBind = append(f.postBind, x)
		}
	}
	if len(f.bind) == 0 && !hasBinderExtender(opts.Extenders) {
		return nil, fmt.Errorf("profile %s: no Bind plugin enabled", opts.SchedulerName)
	}
	return f, nil
}

func hasBinderExtender(es []Extender) bool {
	for _, e := range es {
		if e.IsBinder() {
			return true
		}
	}
	return false
}

// SchedulerName is the profile's name.
func (f *Framework) SchedulerName() string { return f.opts.SchedulerName }

// PluginEvents lists, per plugin, the cluster events it registered
// (EnqueueExtensions).
func (f *Framework) PluginEvents() map[string][]framework.ClusterEvent {
	out := map[string][]framework.ClusterEvent{}
	for _, p := range f.all {
		if x, ok := p.(framework.EnqueueExtensions); ok {
			out[p.Name()] = x.EventsToRegister()
		}
	}
	return out
}

// SetSnapshot sets the snapshot of the cycle about to run.
func (f *Framework) SetSnapshot(s framework.NodeInfoLister) { f.snapshot = s }

// --- framework.Handle

func (f *Framework) SnapshotSharedLister() framework.NodeInfoLister { return f.snapshot }
func (f *Framework) Client() framework.Client                       { return f.opts.Client }
func (f *Framework) Parallelizer() framework.Parallelizer           { return f.par }
func (f *Framework) Now() time.Time                                 { return f.opts.Now() }

// VolumeLister gives plugins the storage objects
// (framework.VolumeListerProvider); nil when the scheduler has none.
func (f *Framework) VolumeLister() framework.VolumeLister { return f.opts.Volumes }

func (f *Framework) PriorityClassValue(name string) (int32, bool) {
	if f.opts.PriorityClassValue == nil {
		return 0, false
	}
	return f.opts.PriorityClassValue(name)
}

func (f *Framework) observe(plugin, point string, s *framework.Status, start time.Time) {
	if f.opts.Observe != nil {
		f.opts.Observe(plugin, point, s, time.Since(start))
	}
}

// RunPreFilterPlugins runs the PreFilter plugins; the result narrows the
// nodes to consider. A rejection names the plugin.
func (f *Framework) RunPreFilterPlugins(ctx context.Context, state *framework.CycleState, pod *corev1.Pod) (*framework.PreFilterResult, *framework.Status) {
	var result *framework.PreFilterResult
	nodes := f.snapshot.List()
	skip := map[string]bool{}
	for _, p := range f.preFilter {
		start := time.Now()
		r, s := p.PreFilter(ctx, state, pod, nodes)
		f.observe(p.Name(), "PreFilter", s, start)
		switch {
		case s.IsSkip():
			skip[p.Name()] = true
			continue
		case !s.IsSuccess():
			return nil, s.WithPlugin(p.Name())
		}
		result = mergePreFilter(result, r)
		if result != nil && result.NodeNames != nil && len(result.NodeNames) == 0 {
			return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable,
				"node(s) didn't satisfy plugin(s) ["+p.Name()+"]").WithPlugin(p.Name())
		}
	}
	state.SkipFilterPlugins = skip
	return result, nil
}

func mergePreFilter(a, b *framework.PreFilterResult) *framework.PreFilterResult {
	if b == nil || b.NodeNames == nil {
		return a
	}
	if a == nil || a.NodeNames == nil {
		return b
	}
	out := &framework.PreFilterResult{NodeNames: map[string]bool{}}
	for n := range a.NodeNames {
		if b.NodeNames[n] {
			out.NodeNames[n] = true
		}
	}
	return out
}

// RunFilterPlugins runs the Filter plugins on one node and returns the
// first rejection.
func (f *Framework) RunFilterPlugins(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) *framework.Status {
	return runFilters(ctx, f.filter, state.SkipFilterPlugins, state, pod, nodeInfo)
}

// runFilters runs filters but those in skip on one node.
func runFilters(ctx context.Context, filters []framework.FilterPlugin, skip map[string]bool, state *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) *framework.Status {
	for _, p := range filters {
		if len(skip) != 0 && skip[p.Name()] {
			continue
		}
		s := p.Filter(ctx, state, pod, nodeInfo)
		if !s.IsSuccess() {
			if !s.IsRejected() {
				s = framework.AsStatus(fmt.Errorf("running %q filter plugin: %w", p.Name(), s.AsError()))
			}
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// cycleFilters is the Framework as the search for feasible nodes hands it
// to framework.RunFilterPluginsWithNominatedPods: its filter plugins are
// those not skipped, picked once per cycle rather than looked up in
// SkipFilterPlugins for every plugin on every node (8% of the
// scheduler's CPU). Clones of the cycle's state share its skip sets.
type cycleFilters struct {
	*Framework
	filters []framework.FilterPlugin
}

func (f *Framework) forCycle(state *framework.CycleState) *cycleFilters {
	c := &cycleFilters{Framework: f, filters: f.filter}
	if len(state.SkipFilterPlugins) != 0 {
		c.filters = make([]framework.FilterPlugin, 0, len(f.filter))
		for _, p := range f.filter {
			if !state.SkipFilterPlugins[p.Name()] {
				c.filters = append(c.filters, p)
			}
		}
	}
	return c
}

func (c *cycleFilters) RunFilterPlugins(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) *framework.Status {
	return runFilters(ctx, c.filters, nil, state, pod, nodeInfo)
}

// RunPreFilterExtensionAddPod tells every PreFilterExtensions of an
// added pod.
func (f *Framework) RunPreFilterExtensionAddPod(ctx context.Context, state *framework.CycleState, podToSchedule *corev1.Pod, podToAdd *framework.PodInfo, nodeInfo *framework.NodeInfo) *framework.Status {
	for _, p := range f.preFilter {
		x, ok := p.(framework.PreFilterExtensions)
		if !ok || state.SkipFilterPlugins[p.Name()] {
			continue
		}
		if s := x.AddPod(ctx, state, podToSchedule, podToAdd, nodeInfo); !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunPreFilterExtensionRemovePod tells every PreFilterExtensions of a
// removed pod.
func (f *Framework) RunPreFilterExtensionRemovePod(ctx context.Context, state *framework.CycleState, podToSchedule *corev1.Pod, podToRemove *framework.PodInfo, nodeInfo *framework.NodeInfo) *framework.Status {
	for _, p := range f.preFilter {
		x, ok := p.(framework.PreFilterExtensions)
		if !ok || state.SkipFilterPlugins[p.Name()] {
			continue
		}
		if s := x.RemovePod(ctx, state, podToSchedule, podToRemove, nodeInfo); !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// hintedRejects merges the FilterHints of the plugins that run Filter
// this cycle and were given nodes: which nodes the search may skip, nil
// for none.
func (f *Framework) hintedRejects(state *framework.CycleState, nodes []*framework.NodeInfo) []bool {
	var out []bool
	for _, h := range state.FilterHints() {
		if len(h.Nodes) != len(nodes) || len(h.Rejects) != len(nodes) || len(nodes) == 0 || &h.Nodes[0] != &nodes[0] ||
			state.SkipFilterPlugins[h.Plugin] || !slices.ContainsFunc(f.filter, func(p framework.FilterPlugin) bool { return p.Name() == h.Plugin }) {
			continue
		}
		if out == nil {
			out = slices.Clone(h.Rejects)
			continue
		}
		for i, r := range h.Rejects {
			out[i] = out[i] || r
		}
	}
	return out
}

// numFeasibleNodesToFind is how many feasible nodes are enough to pick
// from: all in a small cluster, else a percentage (adaptive by default:
// 50% minus 1% per 125 nodes, at least 5%), at least 100.
func (f *Framework) numFeasibleNodesToFind(total int) int {
	const minFeasible = 100
	if total < minFeasible {
		return total
	}
	pct := f.opts.PercentageOfNodesToScore
	if pct >= 100 {
		return total
	}
	if pct <= 0 {
		pct = int32(50 - total/125)
		if pct < 5 {
			pct = 5
		}
	}
	n := total * int(pct) / 100
	return max(n, minFeasible)
}

// FindNodesThatFit filters the nodes in parallel, starting where the
// previous cycle stopped so that every node gets its turn, and returns
// the feasible ones; when there are none, also the rejection of each node
// (which is what explaining the failure and preemption need). Calls must
// not overlap.
func (f *Framework) FindNodesThatFit(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, pre *framework.PreFilterResult) ([]*framework.NodeInfo, framework.NodeToStatus, error) {
	all := f.snapshot.List()
	nodes := all
	rejected := framework.NodeToStatus{}
	if pre != nil && pre.NodeNames != nil {
		nodes = make([]*framework.NodeInfo, 0, len(pre.NodeNames))
		for _, n := range all {
			if pre.NodeNames[n.Name()] {
				nodes = append(nodes, n)
			}
		}
		for _, n := range all {
			if !pre.NodeNames[n.Name()] {
				rejected[n.Name()] = framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't satisfy plugin(s) [PreFilter]")
			}
		}
	}
	if len(nodes) == 0 {
		return nil, rejected, nil
	}
	want := f.numFeasibleNodesToFind(len(nodes))
	if len(f.filter) == 0 {
		out := make([]*framework.NodeInfo, 0, want)
		start := int(f.nextStart.Load()) % len(nodes)
		for i := 0; i < want; i++ {
			out = append(out, nodes[(start+i)%len(nodes)])
		}
		f.nextStart.Store(int64((start + want) % len(nodes)))
		return out, rejected, nil
	}

	// The search skips the nodes a PreFilter hint rules out; if it then
	// finds no node, it runs again over every node, so that the
	// rejections are the Filters' own.
	skip := f.hintedRejects(state, nodes)
	start := int(f.nextStart.Load()) % len(nodes)
	feasible := make([]*framework.NodeInfo, want)
	var found atomic.Int64
	var examined atomic.Int64
	var mu sync.Mutex
	var firstErr error
	// The rejections are kept in a buffer reused from cycle to cycle, and
	// turned into the NodeToStatus map only when no node fits: a cycle
	// that finds a node (the common case) builds no map of thousands.
	if cap(f.statusBuf) < len(nodes) {
		f.statusBuf = make([]*framework.Status, len(nodes))
	}
	statuses := f.statusBuf[:len(nodes)]
	defer clear(statuses)
	h := f.forCycle(state)
	search := func(skip []bool) {
		// filterCtx stops handing out ranges of nodes once enough nodes
		// are found; a range under way is finished, so that the nodes
		// examined run on from start without a gap and the next cycle
		// starts after them. Each range keeps what it examined and found
		// locally and adds it to the shared counters once: one shared
		// counter written per node made the cores fight over its cache
		// line.
		filterCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		f.par.untilChunks(filterCtx, len(nodes), func(lo, hi int) {
			examined.Add(int64(hi - lo))
			var fits [maxChunk]*framework.NodeInfo
			n := 0
			defer func() {
				if n == 0 {
					return
				}
				k := int(found.Add(int64(n)))
				if first := k - n; first < want {
					copy(feasible[first:min(k, want)], fits[:n])
				}
				if k >= want {
					cancel()
				}
			}()
			for i := lo; i < hi; i++ {
				idx := (start + i) % len(nodes)
				if skip != nil && skip[idx] {
					continue
				}
				ni := nodes[idx]
				s := framework.RunFilterPluginsWithNominatedPods(filterCtx, h, state, pod, ni)
				if s.IsSuccess() {
					fits[n] = ni
					n++
					continue
				}
				if !s.IsRejected() {
					mu.Lock()
					if firstErr == nil {
						firstErr = s.AsError()
					}
					mu.Unlock()
					cancel()
					return
				}
				statuses[idx] = s
			}
		})
	}
	search(skip)
	if skip != nil && firstErr == nil && found.Load() == 0 {
		examined.Store(0)
		clear(statuses)
		search(nil)
	}
	if firstErr != nil {
		return nil, nil, firstErr
	}
	n := min(int(found.Load()), want)
	feasible = feasible[:n]
	compact := feasible[:0]
	for _, ni := range feasible {
		if ni != nil {
			compact = append(compact, ni)
		}
	}
	f.nextStart.Store(int64((start + int(examined.Load())) % len(nodes)))
	feasible = compact

	// Extenders filter what the plugins left.
	for _, e := range f.opts.Extenders {
		if len(feasible) == 0 {
			break
		}
		if !e.IsInterested(pod) {
			continue
		}
		kept, err := runExtenderFilter(ctx, e, pod, feasible, rejected)
		if err != nil {
			if e.IsIgnorable() {
				continue
			}
			return nil, nil, err
		}
		feasible = kept
	}
	if len(feasible) == 0 {
		for i, s := range statuses {
			if s != nil {
				rejected[nodes[i].Name()] = s
			}
		}
	}
	return feasible, rejected, nil
}

// RunPostFilterPlugins runs the PostFilter plugins (preemption) until one
// succeeds.
func (f *Framework) RunPostFilterPlugins(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, rejected framework.NodeToStatus) (*framework.PostFilterResult, *framework.Status) {
	var last *framework.Status
	for _, p := range f.postFilter {
		start := time.Now()
		r, s := p.PostFilter(ctx, state, pod, rejected)
		f.observe(p.Name(), "PostFilter", s, start)
		if s.IsSuccess() {
			return r, nil
		}
		if !s.IsRejected() {
			return nil, s.WithPlugin(p.Name())
		}
		last = s.WithPlugin(p.Name())
	}
	if last == nil {
		last = framework.NewStatus(framework.Unschedulable)
	}
	return nil, last
}

// PrioritizeNodes runs PreScore and Score plugins (and extenders) and
// returns each node's weighted total.
func (f *Framework) PrioritizeNodes(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) ([]framework.NodeScore, error) {
	skip := map[string]bool{}
	for _, p := range f.preScore {
		start := time.Now()
		s := p.PreScore(ctx, state, pod, nodes)
		f.observe(p.Name(), "PreScore", s, start)
		if s.IsSkip() {
			skip[p.Name()] = true
		} else if !s.IsSuccess() {
			return nil, fmt.Errorf("running PreScore plugin %q: %w", p.Name(), s.AsError())
		}
	}
	state.SkipScorePlugins = skip
	totals := make([]framework.NodeScore, len(nodes))
	for i, n := range nodes {
		totals[i].Name = n.Name()
	}
	var plugins []framework.ScorePlugin
	for _, p := range f.score {
		if !skip[p.Name()] {
			plugins = append(plugins, p)
		}
	}
	// Every plugin's list is a part of scoreBuf, capped so that it cannot
	// grow into the next one. Each entry is written before it is read:
	// a cycle whose scoring fails for a node returns its error.
	n := len(nodes)
	if cap(f.scoreBuf) < len(plugins)*n {
		f.scoreBuf = make([]framework.NodeScore, len(plugins)*n)
	}
	scores := make([][]framework.NodeScore, len(plugins))
	for j := range plugins {
		scores[j] = f.scoreBuf[j*n : (j+1)*n : (j+1)*n]
	}
	var mu sync.Mutex
	var firstErr error
	f.par.Until(ctx, len(nodes), func(i int) {
		for j, p := range plugins {
			v, s := p.Score(ctx, state, pod, nodes[i])
			if !s.IsSuccess() {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("running Score plugin %q: %w", p.Name(), s.AsError())
				}
				mu.Unlock()
				return
			}
			scores[j][i] = framework.NodeScore{Name: nodes[i].Name(), Score: v}
		}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	for j, p := range plugins {
		if x, ok := p.(framework.ScoreNormalizer); ok {
			if s := x.NormalizeScore(ctx, state, pod, scores[j]); !s.IsSuccess() {
				return nil, fmt.Errorf("normalizing scores of plugin %q: %w", p.Name(), s.AsError())
			}
		}
		w := f.weights[p.Name()]
		for i := range nodes {
			v := scores[j][i].Score
			if v < framework.MinNodeScore || v > framework.MaxNodeScore {
				return nil, fmt.Errorf("plugin %q scored node %s %d, outside [%d, %d]", p.Name(), nodes[i].Name(), v, framework.MinNodeScore, framework.MaxNodeScore)
			}
			totals[i].Score += v * w
		}
	}
	for _, e := range f.opts.Extenders {
		if !e.IsInterested(pod) {
			continue
		}
		if err := runExtenderPrioritize(ctx, e, pod, nodes, totals); err != nil && !e.IsIgnorable() {
			return nil, err
		}
	}
	return totals, nil
}

// RunReservePlugins reserves in order; on failure the caller runs
// RunUnreservePlugins.
func (f *Framework) RunReservePlugins(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	for _, p := range f.reserve {
		if s := p.Reserve(ctx, state, pod, node); !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunUnreservePlugins undoes Reserve, in reverse order.
func (f *Framework) RunUnreservePlugins(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, node string) {
	for i := len(f.reserve) - 1; i >= 0; i-- {
		f.reserve[i].Unreserve(ctx, state, pod, node)
	}
}

// RunPermitPlugins asks every Permit plugin; a Wait is honoured by
// waiting (in the binding goroutine) for the longest timeout asked, after
// which the pod is rejected unless allowed by then. Gantry's built-in
// plugins never wait.
func (f *Framework) RunPermitPlugins(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, node string) (*framework.Status, time.Duration) {
	var wait time.Duration
	for _, p := range f.permit {
		s, d := p.Permit(ctx, state, pod, node)
		switch s.Code() {
		case framework.Success:
		case framework.Wait:
			wait = max(wait, d)
		default:
			return s.WithPlugin(p.Name()), 0
		}
	}
	if wait > 0 {
		return framework.NewStatus(framework.Wait), wait
	}
	return nil, 0
}

// RunPreBindPlugins runs PreBind in order.
func (f *Framework) RunPreBindPlugins(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	for _, p := range f.preBind {
		if s := p.PreBind(ctx, state, pod, node); !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunBind binds through the first interested binder extender, else the
// first Bind plugin that does not Skip.
func (f *Framework) RunBind(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	for _, e := range f.opts.Extenders {
		if e.IsBinder() && e.IsInterested(pod) {
			return framework.AsStatus(e.Bind(ctx, pod, node))
		}
	}
	for _, p := range f.bind {
		start := time.Now()
		s := p.Bind(ctx, state, pod, node)
		f.observe(p.Name(), "Bind", s, start)
		if s.IsSkip() {
			continue
		}
		return s.WithPlugin(p.Name())
	}
	return framework.NewStatus(framework.Error, "no bind plugin bound the pod")
}

// RunPostBindPlugins tells PostBind plugins of a binding.
func (f *Framework) RunPostBindPlugins(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, node string) {
	for _, p := range f.postBind {
		p.PostBind(ctx, state, pod, node)
	}
}
