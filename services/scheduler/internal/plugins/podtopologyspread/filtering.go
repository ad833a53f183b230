package podtopologyspread

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

const preFilterStateKey framework.StateKey = "PreFilter" + Name

// domainCounts counts the matching pods per domain (topology value) of
// one constraint, and keeps the minimum over domains exact under
// AddPod/RemovePod through a histogram of the counts.
type domainCounts struct {
	// pods is the number of matching pods per domain; a domain with
	// eligible nodes but no matching pod has 0.
	pods map[string]int
	// hist is the number of domains per pod count (no zero entries).
	hist map[int]int
	// min is the least count of any domain (meaningless without domains).
	min int
}

func newDomainCounts() *domainCounts {
	return &domainCounts{pods: map[string]int{}, hist: map[int]int{}}
}

// add adds delta pods to domain v, adding the domain if new.
func (d *domainCounts) add(v string, delta int) {
	old, known := d.pods[v]
	n := old + delta
	d.pods[v] = n
	d.hist[n]++
	if known {
		if d.hist[old]--; d.hist[old] == 0 {
			delete(d.hist, old)
		}
	}
	switch {
	case len(d.pods) == 1 || n < d.min:
		d.min = n
	case known && old == d.min && d.hist[old] == 0:
		// The only least crowded domain grew: the next count up is the
		// minimum now.
		d.min = n
		for c := range d.hist {
			d.min = min(d.min, c)
		}
	}
}

// globalMin is the minimum the skew is measured from: 0 while there are
// fewer than minDomains domains (the missing ones count as empty).
func (d *domainCounts) globalMin(minDomains int32) int {
	if len(d.pods) < int(minDomains) {
		return 0
	}
	return d.min
}

// recount sets d's histogram and minimum from d.pods, for counts summed
// into d.pods directly: the state adding them one by one would give.
func (d *domainCounts) recount() {
	clear(d.hist)
	d.min = 0
	first := true
	for _, n := range d.pods {
		d.hist[n]++
		if first || n < d.min {
			d.min, first = n, false
		}
	}
}

func (d *domainCounts) clone() *domainCounts {
	return &domainCounts{pods: maps.Clone(d.pods), hist: maps.Clone(d.hist), min: d.min}
}

// preFilterState is what PreFilter computes for Filter.
type preFilterState struct {
	// mu guards counts: AddPod and RemovePod change them on a clone that
	// Filter may be reading.
	mu sync.RWMutex
	// constraints are the DoNotSchedule constraints; counts[i] are
	// constraints[i]'s.
	constraints []constraint
	counts      []*domainCounts
	// nodeAffinity is the incoming pod's, for nodeAffinityPolicy.
	nodeAffinity *nodeAffinity
	// pod is the incoming pod and selfMatch[i] 1 if constraints[i]
	// selects it (else 0): Filter adds it to the node's domain.
	pod       *corev1.Pod
	selfMatch []int
}

// Clone copies the counts, which AddPod and RemovePod change.
func (s *preFilterState) Clone() framework.StateData {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := &preFilterState{constraints: s.constraints, nodeAffinity: s.nodeAffinity, pod: s.pod, selfMatch: s.selfMatch, counts: make([]*domainCounts, len(s.counts))}
	for i, d := range s.counts {
		c.counts[i] = d.clone()
	}
	return c
}

// PreFilter counts the matching pods per domain of each DoNotSchedule
// constraint over nodes (all the nodes of the snapshot), and returns Skip
// for a pod without such constraints.
func (pl *PodTopologySpread) PreFilter(ctx context.Context, cs *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	constraints, err := pl.constraintsFor(pod, corev1.DoNotSchedule)
	if err != nil {
		return nil, framework.AsStatus(fmt.Errorf("get constraints from pod: %w", err))
	}
	s := &preFilterState{
		constraints: constraints, nodeAffinity: newNodeAffinity(pod), counts: make([]*domainCounts, len(constraints)),
		pod: pod, selfMatch: make([]int, len(constraints)),
	}
	for i := range s.counts {
		s.counts[i] = newDomainCounts()
		if constraints[i].selects(pod) {
			s.selfMatch[i] = 1
		}
	}
	if len(constraints) > 0 {
		if rejects := pl.countDomains(ctx, s, pod, nodes); rejects != nil {
			cs.AddFilterHint(framework.FilterHint{Plugin: Name, Nodes: nodes, Rejects: rejects})
		}
	}
	cs.Write(preFilterStateKey, s)
	if len(constraints) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	return nil, nil
}

// countDomains fills s.counts from the pods on nodes, and returns which
// of nodes Filter rejects for pod (the FilterHint; nil when it rejects
// none). What each node contributes (its topology values and matching
// pods) comes from pl.counts while the node is unchanged.
func (pl *PodTopologySpread) countDomains(ctx context.Context, s *preFilterState, pod *corev1.Pod, nodes []*framework.NodeInfo) []bool {
	k := len(s.constraints)
	buf := getResults(len(nodes) * k)
	defer putResults(buf)
	results := *buf
	pass := pl.counts.beginPass(s.constraints, pod.Namespace)
	helper.ForEachNode(ctx, pl.handle, len(nodes), func(n int) {
		ni := nodes[n]
		if ni.Node == nil {
			return
		}
		rs := results[n*k : n*k+k]
		// Only the nodes with every topology label count.
		if !pass.fill(n, ni, rs) {
			return
		}
		for i := range s.constraints {
			rs[i].counted = s.constraints[i].includesNode(pod, ni.Node, s.nodeAffinity)
		}
	})
	domains := pass.end(nodes, results)
	for i, d := range s.counts {
		sumDomains(results, k, i, domains[i], func(v string, pods int) { d.pods[v] = pods })
		d.recount()
	}
	return s.rejects(nodes, results, domains)
}

// rejects returns, from countDomains' results, which of nodes Filter
// rejects for the incoming pod: a node without every topology label, or
// one whose domain would be too crowded for some constraint (a node
// without a Node is left to Filter, which reports it as an error). Nil
// when none.
func (s *preFilterState) rejects(nodes []*framework.NodeInfo, results []nodeResult, domains [][]string) []bool {
	k := len(s.constraints)
	fits := make([][]bool, k)
	for i := range s.constraints {
		c := &s.constraints[i]
		gmin := s.counts[i].globalMin(c.minDomains)
		fits[i] = make([]bool, len(domains[i]))
		for id, v := range domains[i] {
			fits[i][id] = s.counts[i].pods[v]+s.selfMatch[i]-gmin <= int(c.maxSkew)
		}
	}
	out := make([]bool, len(nodes))
	some := false
	for n, ni := range nodes {
		rs := results[n*k : n*k+k]
		if ni.Node == nil || rs[0].state == notSeen { // not counted (a cancelled pass): Filter decides
			continue
		}
		for i, r := range rs {
			if !r.hasLabel || !fits[i][r.domain] {
				out[n], some = true, true
				break
			}
		}
	}
	if !some {
		return nil
	}
	return out
}

// AddPod accounts for podToAdd on nodeInfo's node (preemption's
// what-ifs, nominated pods).
func (pl *PodTopologySpread) AddPod(_ context.Context, cs *framework.CycleState, podToSchedule *corev1.Pod, podToAdd *framework.PodInfo, nodeInfo *framework.NodeInfo) *framework.Status {
	return updateState(cs, podToSchedule, podToAdd, nodeInfo, 1)
}

// RemovePod accounts for podToRemove leaving nodeInfo's node.
func (pl *PodTopologySpread) RemovePod(_ context.Context, cs *framework.CycleState, podToSchedule *corev1.Pod, podToRemove *framework.PodInfo, nodeInfo *framework.NodeInfo) *framework.Status {
	return updateState(cs, podToSchedule, podToRemove, nodeInfo, -1)
}

func updateState(cs *framework.CycleState, podToSchedule *corev1.Pod, p *framework.PodInfo, nodeInfo *framework.NodeInfo, delta int) *framework.Status {
	s, err := getPreFilterState(cs)
	if err != nil {
		if cs.SkipFilterPlugins[Name] {
			return nil
		}
		return framework.AsStatus(err)
	}
	if nodeInfo == nil || nodeInfo.Node == nil {
		return framework.AsStatus(errors.New("node not found"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updateWithPod(podToSchedule, p.Pod, nodeInfo.Node, delta)
	return nil
}

// updateWithPod adds delta for pod on node to the domains pod counts in,
// the way countDomains would have counted it.
func (s *preFilterState) updateWithPod(podToSchedule, pod *corev1.Pod, node *corev1.Node, delta int) {
	if pod.Namespace != podToSchedule.Namespace || pod.DeletionTimestamp != nil || !hasAllTopologyKeys(node.Labels, s.constraints) {
		return
	}
	for i := range s.constraints {
		c := &s.constraints[i]
		if !c.selects(pod) || !c.includesNode(podToSchedule, node, s.nodeAffinity) {
			continue
		}
		s.counts[i].add(node.Labels[c.topologyKey], delta)
	}
}

func getPreFilterState(cs *framework.CycleState) (*preFilterState, error) {
	return helper.ReadState[*preFilterState](cs, preFilterStateKey)
}

// Filter checks each DoNotSchedule constraint: the node must have the
// topology label, and the pods in its domain, plus the incoming pod if
// it is selected, must not exceed the global minimum by more than
// maxSkew.
func (pl *PodTopologySpread) Filter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) *framework.Status {
	s, err := getPreFilterState(cs)
	if err != nil {
		if cs.SkipFilterPlugins[Name] {
			return nil
		}
		return framework.AsStatus(err)
	}
	if len(s.constraints) == 0 {
		return nil
	}
	node := nodeInfo.Node
	if node == nil {
		return framework.AsStatus(errors.New("node not found"))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := node.Labels[c.topologyKey]
		if !ok {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeLabelNotMatch)
		}
		self := 0
		if pod == s.pod {
			self = s.selfMatch[i]
		} else if c.selects(pod) {
			self = 1
		}
		skew := s.counts[i].pods[v] + self - s.counts[i].globalMin(c.minDomains)
		if skew > int(c.maxSkew) {
			return framework.NewStatus(framework.Unschedulable, ErrReasonConstraintsNotMatch)
		}
	}
	return nil
}
