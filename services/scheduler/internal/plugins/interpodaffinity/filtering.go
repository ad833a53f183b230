package interpodaffinity

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// Filter's rejection reasons, exactly as kube-scheduler words them.
const (
	// ErrReasonExistingAntiAffinityRulesNotMatch: an existing pod's
	// required anti-affinity term matches the incoming pod in the node's
	// topology.
	ErrReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"
	// ErrReasonAffinityRulesNotMatch: the node's topology has no pod
	// matching the incoming pod's required affinity terms.
	ErrReasonAffinityRulesNotMatch = "node(s) didn't match pod affinity rules"
	// ErrReasonAntiAffinityRulesNotMatch: the node's topology has a pod
	// matching one of the incoming pod's required anti-affinity terms.
	ErrReasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules"
)

const preFilterStateKey framework.StateKey = "PreFilter" + Name

// topologyPair is a node label: a topology key and its value.
type topologyPair struct {
	key   string
	value string
}

// pairCounts counts pods per topology pair; pairs at zero are removed so
// that "no entries" means "nothing matched anywhere".
type pairCounts map[topologyPair]int64

// add adds delta to the pair of node's topologyKey label; a node without
// the label is in no such topology and changes nothing.
func (m pairCounts) add(node *corev1.Node, topologyKey string, delta int64) {
	v, ok := node.Labels[topologyKey]
	if !ok {
		return
	}
	p := topologyPair{key: topologyKey, value: v}
	if m[p] += delta; m[p] == 0 {
		delete(m, p)
	}
}

func (m pairCounts) merge(o pairCounts) {
	for p, n := range o {
		if m[p] += n; m[p] == 0 {
			delete(m, p)
		}
	}
}

func (m pairCounts) clone() pairCounts {
	c := make(pairCounts, len(m))
	for p, n := range m {
		c[p] = n
	}
	return c
}

// preFilterState is what PreFilter computes for Filter.
type preFilterState struct {
	// existingAntiAffinityCounts counts, per topology pair, the required
	// anti-affinity terms of existing pods that match the incoming pod.
	existingAntiAffinityCounts pairCounts
	// affinityCounts counts, per topology pair of each of the incoming
	// pod's required affinity terms, the existing pods matching all those
	// terms.
	affinityCounts pairCounts
	// antiAffinityCounts counts, per topology pair, the existing pods
	// matching each of the incoming pod's required anti-affinity terms.
	antiAffinityCounts pairCounts

	// The incoming pod, its required terms (namespaceSelectors resolved
	// when possible) and its namespace's labels (nil when unknown). These
	// do not change after PreFilter and are shared by clones.
	pod               *corev1.Pod
	affinityTerms     []affinityTerm
	antiAffinityTerms []affinityTerm
	namespaceLabels   labels.Set
}

// Clone copies the counts, which AddPod and RemovePod change.
func (s *preFilterState) Clone() framework.StateData {
	c := *s
	c.existingAntiAffinityCounts = s.existingAntiAffinityCounts.clone()
	c.affinityCounts = s.affinityCounts.clone()
	c.antiAffinityCounts = s.antiAffinityCounts.clone()
	return &c
}

// updateWithPod accounts for pod added (delta 1) to or removed (-1) from
// node.
func (s *preFilterState) updateWithPod(pod *corev1.Pod, node *corev1.Node, delta int64) {
	for _, t := range existingRequiredAntiAffinity(pod) {
		if t.matches(s.pod, s.namespaceLabels) {
			s.existingAntiAffinityCounts.add(node, t.topologyKey, delta)
		}
	}
	// The incoming pod's terms have their namespaceSelectors resolved
	// (when they can be), so pod's namespace labels are not needed.
	if matchesAll(s.affinityTerms, pod, nil) {
		for _, t := range s.affinityTerms {
			s.affinityCounts.add(node, t.topologyKey, delta)
		}
	}
	for _, t := range s.antiAffinityTerms {
		if t.matches(pod, nil) {
			s.antiAffinityCounts.add(node, t.topologyKey, delta)
		}
	}
}

// PreFilter counts the existing pods that matter to the incoming pod's
// required terms, and the existing pods' required anti-affinity terms the
// incoming pod matches, over nodes (all the nodes of the snapshot). It
// returns Skip when there is nothing for Filter to check.
func (pl *InterPodAffinity) PreFilter(ctx context.Context, cs *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	terms, err := parsePodTerms(pod)
	if err != nil {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("parsing pod: %+v", err))
	}
	s := &preFilterState{pod: pod, affinityTerms: terms.requiredAffinity, antiAffinityTerms: terms.requiredAntiAffinity}
	if nsl := pl.namespaceLister(); nsl != nil {
		for _, ts := range [][]affinityTerm{s.affinityTerms, s.antiAffinityTerms} {
			for i := range ts {
				if err := ts[i].resolveNamespaces(nsl); err != nil {
					return nil, framework.AsStatus(fmt.Errorf("resolving namespaceSelector: %w", err))
				}
			}
		}
		s.namespaceLabels = namespaceLabelsOf(nsl, pod.Namespace)
	}

	s.existingAntiAffinityCounts = pl.existingAntiAffinityCounts(ctx, pod, s.namespaceLabels, pl.nodesWithRequiredAntiAffinity(nodes))
	s.affinityCounts, s.antiAffinityCounts = pl.incomingCounts(ctx, s, nodes)
	cs.Write(preFilterStateKey, s)

	if len(s.existingAntiAffinityCounts) == 0 && len(s.affinityTerms) == 0 && len(s.antiAffinityTerms) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	return nil, nil
}

// nodesWithRequiredAntiAffinity returns the nodes among nodes with pods
// that have required anti-affinity terms: the snapshot's list of them
// when nodes are the snapshot's nodes (as in a scheduling cycle), else
// those found going over nodes. Usually there are none, or few.
func (pl *InterPodAffinity) nodesWithRequiredAntiAffinity(nodes []*framework.NodeInfo) []*framework.NodeInfo {
	if pl.handle != nil {
		if l := pl.handle.SnapshotSharedLister(); l != nil && sameNodes(l.List(), nodes) {
			return l.HavePodsWithRequiredAntiAffinityList()
		}
	}
	var out []*framework.NodeInfo
	for _, ni := range nodes {
		if len(ni.PodsWithRequiredAntiAffinity) > 0 {
			out = append(out, ni)
		}
	}
	return out
}

// sameNodes reports whether a and b are the same slice (not merely equal).
func sameNodes(a, b []*framework.NodeInfo) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// existingAntiAffinityCounts counts the required anti-affinity terms of
// the pods on nodes that match pod (in pod's namespace, with nsLabels).
func (pl *InterPodAffinity) existingAntiAffinityCounts(ctx context.Context, pod *corev1.Pod, nsLabels labels.Set, nodes []*framework.NodeInfo) pairCounts {
	if len(nodes) == 0 {
		return pairCounts{}
	}
	perNode := make([]pairCounts, len(nodes))
	helper.ForEachNode(ctx, pl.handle, len(nodes), func(i int) {
		ni := nodes[i]
		if ni.Node == nil || len(ni.PodsWithRequiredAntiAffinity) == 0 {
			return
		}
		counts := pairCounts{}
		for _, existing := range ni.PodsWithRequiredAntiAffinity {
			for _, t := range existingRequiredAntiAffinity(existing.Pod) {
				if t.matches(pod, nsLabels) {
					counts.add(ni.Node, t.topologyKey, 1)
				}
			}
		}
		perNode[i] = counts
	})
	out := pairCounts{}
	for _, c := range perNode {
		out.merge(c)
	}
	return out
}

// incomingCounts counts the pods on nodes matching the incoming pod's
// required affinity terms (all of them) and anti-affinity terms (each).
func (pl *InterPodAffinity) incomingCounts(ctx context.Context, s *preFilterState, nodes []*framework.NodeInfo) (affinity, antiAffinity pairCounts) {
	affinity, antiAffinity = pairCounts{}, pairCounts{}
	if len(s.affinityTerms) == 0 && len(s.antiAffinityTerms) == 0 {
		return affinity, antiAffinity
	}
	perNode := make([][2]pairCounts, len(nodes))
	helper.ForEachNode(ctx, pl.handle, len(nodes), func(i int) {
		ni := nodes[i]
		if ni.Node == nil {
			return
		}
		aff, anti := pairCounts{}, pairCounts{}
		for _, existing := range ni.Pods {
			if matchesAll(s.affinityTerms, existing.Pod, nil) {
				for _, t := range s.affinityTerms {
					aff.add(ni.Node, t.topologyKey, 1)
				}
			}
			for _, t := range s.antiAffinityTerms {
				if t.matches(existing.Pod, nil) {
					anti.add(ni.Node, t.topologyKey, 1)
				}
			}
		}
		perNode[i] = [2]pairCounts{aff, anti}
	})
	for _, c := range perNode {
		affinity.merge(c[0])
		antiAffinity.merge(c[1])
	}
	return affinity, antiAffinity
}

// AddPod accounts for podToAdd on nodeInfo's node (preemption's
// what-ifs, nominated pods).
func (pl *InterPodAffinity) AddPod(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, podToAdd *framework.PodInfo, nodeInfo *framework.NodeInfo) *framework.Status {
	return updateState(cs, podToAdd, nodeInfo, 1)
}

// RemovePod accounts for podToRemove leaving nodeInfo's node.
func (pl *InterPodAffinity) RemovePod(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, podToRemove *framework.PodInfo, nodeInfo *framework.NodeInfo) *framework.Status {
	return updateState(cs, podToRemove, nodeInfo, -1)
}

func updateState(cs *framework.CycleState, p *framework.PodInfo, nodeInfo *framework.NodeInfo, delta int64) *framework.Status {
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
	s.updateWithPod(p.Pod, nodeInfo.Node, delta)
	return nil
}

func getPreFilterState(cs *framework.CycleState) (*preFilterState, error) {
	return helper.ReadState[*preFilterState](cs, preFilterStateKey)
}

// Filter checks, in Kubernetes' order, the incoming pod's required
// affinity, its required anti-affinity, then the existing pods' required
// anti-affinity.
func (pl *InterPodAffinity) Filter(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, nodeInfo *framework.NodeInfo) *framework.Status {
	s, err := getPreFilterState(cs)
	if err != nil {
		if cs.SkipFilterPlugins[Name] {
			return nil
		}
		return framework.AsStatus(err)
	}
	node := nodeInfo.Node
	if node == nil {
		return framework.AsStatus(errors.New("node not found"))
	}
	if !s.satisfiesAffinity(node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch)
	}
	if !s.satisfiesAntiAffinity(node) {
		return framework.NewStatus(framework.Unschedulable, ErrReasonAntiAffinityRulesNotMatch)
	}
	if !s.satisfiesExistingAntiAffinity(node) {
		return framework.NewStatus(framework.Unschedulable, ErrReasonExistingAntiAffinityRulesNotMatch)
	}
	return nil
}

// satisfiesAffinity reports whether node has every topology label of the
// incoming pod's required affinity terms and, in each, a matching pod.
// The first pod of a group that wants to be together is let through: when
// no pod anywhere matches the terms and the incoming pod matches its own
// terms, any node with the labels will do.
func (s *preFilterState) satisfiesAffinity(node *corev1.Node) bool {
	podsExist := true
	for _, t := range s.affinityTerms {
		v, ok := node.Labels[t.topologyKey]
		if !ok {
			return false
		}
		if s.affinityCounts[topologyPair{key: t.topologyKey, value: v}] <= 0 {
			podsExist = false
		}
	}
	if podsExist {
		return true
	}
	return len(s.affinityCounts) == 0 && matchesAll(s.affinityTerms, s.pod, nil)
}

// satisfiesAntiAffinity reports whether no pod matching one of the
// incoming pod's required anti-affinity terms is in node's topology.
func (s *preFilterState) satisfiesAntiAffinity(node *corev1.Node) bool {
	if len(s.antiAffinityCounts) == 0 {
		return true
	}
	for _, t := range s.antiAffinityTerms {
		if v, ok := node.Labels[t.topologyKey]; ok && s.antiAffinityCounts[topologyPair{key: t.topologyKey, value: v}] > 0 {
			return false
		}
	}
	return true
}

// satisfiesExistingAntiAffinity reports whether no existing pod's
// required anti-affinity term matching the incoming pod covers node.
func (s *preFilterState) satisfiesExistingAntiAffinity(node *corev1.Node) bool {
	if len(s.existingAntiAffinityCounts) == 0 {
		return true
	}
	for k, v := range node.Labels {
		if s.existingAntiAffinityCounts[topologyPair{key: k, value: v}] > 0 {
			return false
		}
	}
	return true
}
