package podtopologyspread

import (
	"context"
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

const preScoreStateKey framework.StateKey = "PreScore" + Name

// preScoreState is what PreScore computes for Score; read-only after.
type preScoreState struct {
	// constraints are the ScheduleAnyway constraints, keys[i] the key of
	// what constraints[i] counts in the pod's namespace (for the cache).
	constraints []constraint
	keys        []countKey
	// ignoredNodes lack a topology label and score 0.
	ignoredNodes sets.Set[string]
	// counts[i] are the matching pods per domain of the feasible nodes for
	// constraints[i]; empty for hostname constraints, whose per-node
	// counts Score takes from the node itself.
	counts []map[string]int64
	// weights[i] is log(number of domains + 2): a pod in a constraint over
	// many small domains weighs more than one over a few large ones.
	weights []float64
}

// Clone returns s: it is never changed after PreScore.
func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore counts, for the pod's ScheduleAnyway constraints (or default
// constraints), the matching pods per domain of the feasible nodes over
// all the snapshot's nodes. It returns Skip when there is nothing to
// score.
func (pl *PodTopologySpread) PreScore(ctx context.Context, cs *framework.CycleState, pod *corev1.Pod, filteredNodes []*framework.NodeInfo) *framework.Status {
	lister, err := helper.NodeLister(Name, pl.handle)
	if err != nil {
		return framework.AsStatus(err)
	}
	allNodes := lister.List()
	if len(allNodes) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	constraints, err := pl.constraintsFor(pod, corev1.ScheduleAnyway)
	if err != nil {
		return framework.AsStatus(fmt.Errorf("calculating preScoreState: %w", err))
	}
	if len(constraints) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	// Only system defaults let a node lacking a topology label (no zone)
	// still be scored on the others (hostname).
	requireAllTopologies := len(pod.Spec.TopologySpreadConstraints) > 0 || !pl.systemDefaulted
	s := initPreScoreState(constraints, filteredNodes, requireAllTopologies)

	aff := newNodeAffinity(pod)
	k := len(constraints)
	buf := getResults(len(allNodes) * k)
	defer putResults(buf)
	results := *buf
	pass := pl.counts.beginPass(constraints, pod.Namespace)
	s.keys = pass.keys
	// feasible[i][d]: the domain the cache knows as d is one of a feasible
	// node for constraints[i] (none for hostname constraints).
	feasible := make([][]bool, k)
	for i := range constraints {
		if len(s.counts[i]) == 0 {
			continue
		}
		known := pass.knownDomains(i)
		feasible[i] = make([]bool, len(known))
		for d, v := range known {
			feasible[i][d] = hasKey(s.counts[i], v)
		}
	}
	helper.ForEachNode(ctx, pl.handle, len(allNodes), func(n int) {
		ni := allNodes[n]
		if ni.Node == nil {
			return
		}
		rs := results[n*k : n*k+k]
		if !pass.fill(n, ni, rs) && requireAllTopologies {
			return
		}
		for i := range constraints {
			r := &rs[i]
			if len(s.counts[i]) == 0 || !constraints[i].includesNode(pod, ni.Node, aff) {
				continue
			}
			// Only the domains of feasible nodes matter (and none for
			// hostname constraints). A node without the label is in
			// domain "" (when not all labels are required).
			if r.state == fromCache {
				r.counted = feasible[i][r.domain]
			} else {
				r.counted = hasKey(s.counts[i], pass.value(i, r))
			}
		}
	})
	domains := pass.end(allNodes, results)
	for i := range constraints {
		sumDomains(results, k, i, domains[i], func(v string, pods int) { s.counts[i][v] += int64(pods) })
	}
	cs.Write(preScoreStateKey, s)
	return nil
}

// initPreScoreState sets up the domains of the feasible nodes, the nodes
// to ignore and the constraints' weights.
func initPreScoreState(constraints []constraint, filteredNodes []*framework.NodeInfo, requireAllTopologies bool) *preScoreState {
	s := &preScoreState{
		constraints:  constraints,
		ignoredNodes: sets.New[string](),
		counts:       make([]map[string]int64, len(constraints)),
		weights:      make([]float64, len(constraints)),
	}
	for i := range s.counts {
		s.counts[i] = map[string]int64{}
	}
	for _, ni := range filteredNodes {
		node := ni.Node
		if node == nil {
			continue
		}
		if requireAllTopologies && !hasAllTopologyKeys(node.Labels, constraints) {
			s.ignoredNodes.Insert(node.Name)
			continue
		}
		for i := range constraints {
			if constraints[i].topologyKey == corev1.LabelHostname {
				continue
			}
			if v := node.Labels[constraints[i].topologyKey]; !hasKey(s.counts[i], v) {
				s.counts[i][v] = 0 // a domain, even without matching pods
			}
		}
	}
	for i := range constraints {
		domains := len(s.counts[i])
		if constraints[i].topologyKey == corev1.LabelHostname {
			domains = len(filteredNodes) - s.ignoredNodes.Len()
		}
		s.weights[i] = math.Log(float64(domains + 2))
	}
	return s
}

// Score sums, over the constraints whose topology label the node has,
// the matching pods of its domain times the constraint's weight, plus
// maxSkew-1 (which blunts small differences). Lower is better:
// NormalizeScore reverses it.
func (pl *PodTopologySpread) Score(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) (int64, *framework.Status) {
	s, err := getPreScoreState(cs)
	if err != nil {
		if cs.SkipScorePlugins[Name] {
			return 0, nil
		}
		return 0, framework.AsStatus(err)
	}
	node := nodeInfo.Node
	if node == nil || s.ignoredNodes.Has(node.Name) {
		return 0, nil
	}
	var score float64
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := node.Labels[c.topologyKey]
		if !ok {
			continue
		}
		var n int64
		if c.topologyKey == corev1.LabelHostname {
			n = int64(pl.hostnameCount(s, i, pod, nodeInfo))
		} else {
			n = s.counts[i][v]
		}
		score += float64(n)*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(score)), nil
}

// hostnameCount is the number of pods on nodeInfo that s.constraints[i]
// (a hostname constraint) counts, through the cache.
func (pl *PodTopologySpread) hostnameCount(s *preScoreState, i int, pod *corev1.Pod, nodeInfo *framework.NodeInfo) int {
	if i >= len(s.keys) || s.keys[i].namespace != pod.Namespace {
		return countMatching(nodeInfo.Pods, &s.constraints[i], pod.Namespace)
	}
	return pl.counts.lookup(&s.constraints[i], s.keys[i], pod.Namespace, nodeInfo)
}

// NormalizeScore maps the scores onto 0..MaxNodeScore, reversed: the
// node with the highest score s_max gets MaxNodeScore*s_min/s_max, the
// one with the lowest gets MaxNodeScore; ignored nodes get 0.
func (pl *PodTopologySpread) NormalizeScore(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	s, err := getPreScoreState(cs)
	if err != nil {
		if cs.SkipScorePlugins[Name] {
			return nil
		}
		return framework.AsStatus(err)
	}
	var lo, hi int64 = math.MaxInt64, 0
	for _, sc := range scores {
		if s.ignoredNodes.Has(sc.Name) {
			continue
		}
		lo, hi = min(lo, sc.Score), max(hi, sc.Score)
	}
	for i := range scores {
		switch {
		case s.ignoredNodes.Has(scores[i].Name):
			scores[i].Score = 0
		case hi == 0:
			scores[i].Score = framework.MaxNodeScore
		default:
			scores[i].Score = framework.MaxNodeScore * (hi + lo - scores[i].Score) / hi
		}
	}
	return nil
}

func hasKey(m map[string]int64, k string) bool {
	_, ok := m[k]
	return ok
}

func getPreScoreState(cs *framework.CycleState) (*preScoreState, error) {
	return helper.ReadState[*preScoreState](cs, preScoreStateKey)
}
