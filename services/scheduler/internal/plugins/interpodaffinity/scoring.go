package interpodaffinity

import (
	"context"
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

const preScoreStateKey framework.StateKey = "PreScore" + Name

// topologyScores sums weights per topology key and value.
type topologyScores map[string]map[string]int64

// add adds weight to the topology of node's topologyKey label, if any.
func (m topologyScores) add(node *corev1.Node, topologyKey string, weight int64) {
	v, ok := node.Labels[topologyKey]
	if !ok {
		return
	}
	if m[topologyKey] == nil {
		m[topologyKey] = map[string]int64{}
	}
	m[topologyKey][v] += weight
}

// addTerms adds sign*weight for each term that pod matches.
func (m topologyScores) addTerms(terms []weightedTerm, pod *corev1.Pod, nsLabels labels.Set, node *corev1.Node, sign int64) {
	for i := range terms {
		if terms[i].matches(pod, nsLabels) {
			m.add(node, terms[i].topologyKey, sign*int64(terms[i].weight))
		}
	}
}

func (m topologyScores) merge(o topologyScores) {
	for k, values := range o {
		if m[k] == nil {
			m[k] = values
			continue
		}
		for v, w := range values {
			m[k][v] += w
		}
	}
}

// preScoreState is what PreScore computes for Score; read-only after.
type preScoreState struct {
	scores topologyScores
}

// Clone returns s: it is never changed after PreScore.
func (s *preScoreState) Clone() framework.StateData { return s }

// scoreInput is the incoming pod as the scoring of one existing pod
// needs it.
type scoreInput struct {
	pod                   *corev1.Pod
	preferredAffinity     []weightedTerm
	preferredAntiAffinity []weightedTerm
	namespaceLabels       labels.Set
}

// PreScore adds up, per topology, the weights of the preferred terms
// (and the existing pods' required affinity terms, at
// Args.HardPodAffinityWeight) that relate the incoming pod to the pods
// already on the snapshot's nodes. It returns Skip when nothing relates.
// The nodes argument (the feasible nodes) is not used: the pods that
// matter run anywhere.
func (pl *InterPodAffinity) PreScore(ctx context.Context, cs *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	lister, err := helper.NodeLister(Name, pl.handle)
	if err != nil {
		return framework.AsStatus(err)
	}
	in := scoreInput{pod: pod}
	if in.preferredAffinity, err = preferredTerms(pod, preferredAffinityTerms(pod)); err != nil {
		return framework.AsStatus(fmt.Errorf("parsing pod: preferredAffinityTerms: %w", err))
	}
	if in.preferredAntiAffinity, err = preferredTerms(pod, preferredAntiAffinityTerms(pod)); err != nil {
		return framework.AsStatus(fmt.Errorf("parsing pod: preferredAntiAffinityTerms: %w", err))
	}
	hasPreferences := len(in.preferredAffinity) > 0 || len(in.preferredAntiAffinity) > 0
	if pl.ignoreExistingPrefs && !hasPreferences {
		return framework.NewStatus(framework.Skip)
	}
	if nsl := pl.namespaceLister(); nsl != nil {
		for _, ts := range [][]weightedTerm{in.preferredAffinity, in.preferredAntiAffinity} {
			for i := range ts {
				if err := ts[i].resolveNamespaces(nsl); err != nil {
					return framework.AsStatus(fmt.Errorf("resolving namespaceSelector: %w", err))
				}
			}
		}
		in.namespaceLabels = namespaceLabelsOf(nsl, pod.Namespace)
	}

	// Without preferences of its own, only the existing pods' terms
	// count: only the nodes and pods that have some need be looked at.
	nodes := lister.HavePodsWithAffinityList()
	if hasPreferences {
		nodes = lister.List()
	}
	perNode := make([]topologyScores, len(nodes))
	helper.ForEachNode(ctx, pl.handle, len(nodes), func(i int) {
		ni := nodes[i]
		if ni.Node == nil || len(ni.Node.Labels) == 0 {
			return
		}
		pods := ni.PodsWithAffinity
		if hasPreferences {
			pods = ni.Pods
		}
		scores := topologyScores{}
		for _, existing := range pods {
			pl.scoreExistingPod(scores, &in, existing.Pod, ni.Node)
		}
		perNode[i] = scores
	})
	s := &preScoreState{scores: topologyScores{}}
	for _, sc := range perNode {
		s.scores.merge(sc)
	}
	if len(s.scores) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	cs.Write(preScoreStateKey, s)
	return nil
}

// scoreExistingPod adds to scores what existing, on node, means for the
// incoming pod: its preferences about existing, and existing's
// preferences (and required affinity) about it.
func (pl *InterPodAffinity) scoreExistingPod(scores topologyScores, in *scoreInput, existing *corev1.Pod, node *corev1.Node) {
	scores.addTerms(in.preferredAffinity, existing, nil, node, 1)
	scores.addTerms(in.preferredAntiAffinity, existing, nil, node, -1)
	if a := existing.Spec.Affinity; a == nil || (a.PodAffinity == nil && a.PodAntiAffinity == nil) {
		return
	}
	if pl.hardPodAffinityWeight > 0 {
		for _, t := range existingRequiredAffinity(existing) {
			if t.matches(in.pod, in.namespaceLabels) {
				scores.add(node, t.topologyKey, int64(pl.hardPodAffinityWeight))
			}
		}
	}
	scores.addTerms(existingPreferredAffinity(existing), in.pod, in.namespaceLabels, node, 1)
	scores.addTerms(existingPreferredAntiAffinity(existing), in.pod, in.namespaceLabels, node, -1)
}

// Score returns the sum of the weights of nodeInfo's topologies:
// positive for affinity, negative for anti-affinity; NormalizeScore
// scales it.
func (pl *InterPodAffinity) Score(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, nodeInfo *framework.NodeInfo) (int64, *framework.Status) {
	s, err := getPreScoreState(cs)
	if err != nil {
		if cs.SkipScorePlugins[Name] {
			return 0, nil
		}
		return 0, framework.AsStatus(err)
	}
	if nodeInfo.Node == nil {
		return 0, nil
	}
	var score int64
	for key, values := range s.scores {
		if v, ok := nodeInfo.Node.Labels[key]; ok {
			score += values[v]
		}
	}
	return score, nil
}

// NormalizeScore maps the raw scores linearly onto 0..MaxNodeScore, the
// lowest to 0 and the highest to MaxNodeScore (all 0 when they are
// equal).
func (pl *InterPodAffinity) NormalizeScore(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	s, err := getPreScoreState(cs)
	if err != nil {
		if cs.SkipScorePlugins[Name] {
			return nil
		}
		return framework.AsStatus(err)
	}
	if len(s.scores) == 0 {
		return nil
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, sc := range scores {
		lo, hi = min(lo, sc.Score), max(hi, sc.Score)
	}
	diff := hi - lo
	for i := range scores {
		var f float64
		if diff > 0 {
			f = float64(framework.MaxNodeScore) * (float64(scores[i].Score-lo) / float64(diff))
		}
		scores[i].Score = int64(f)
	}
	return nil
}

func getPreScoreState(cs *framework.CycleState) (*preScoreState, error) {
	return helper.ReadState[*preScoreState](cs, preScoreStateKey)
}
