package interpodaffinity

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// fakeLister is a NodeInfoLister over a fixed set of nodes.
type fakeLister []*framework.NodeInfo

func (l fakeLister) List() []*framework.NodeInfo { return l }

func (l fakeLister) HavePodsWithAffinityList() []*framework.NodeInfo {
	var out []*framework.NodeInfo
	for _, n := range l {
		if len(n.PodsWithAffinity) > 0 {
			out = append(out, n)
		}
	}
	return out
}

func (l fakeLister) HavePodsWithRequiredAntiAffinityList() []*framework.NodeInfo {
	var out []*framework.NodeInfo
	for _, n := range l {
		if len(n.PodsWithRequiredAntiAffinity) > 0 {
			out = append(out, n)
		}
	}
	return out
}

func (l fakeLister) Get(name string) (*framework.NodeInfo, error) {
	for _, n := range l {
		if n.Name() == name {
			return n, nil
		}
	}
	return nil, fmt.Errorf("nodeinfo %q: %w", name, framework.ErrNotFound)
}

// fakeHandle offers the snapshot and a Parallelizer running every piece
// in its own goroutine (so that -race checks the plugin's parallel
// work); every other Handle method panics (nil embedded). A plugin built
// with a nil Handle works sequentially.
type fakeHandle struct {
	framework.Handle
	lister fakeLister
}

func (h *fakeHandle) SnapshotSharedLister() framework.NodeInfoLister { return h.lister }
func (h *fakeHandle) Parallelizer() framework.Parallelizer           { return goParallelizer{} }

type goParallelizer struct{}

func (goParallelizer) Until(_ context.Context, pieces int, do func(i int)) {
	var wg sync.WaitGroup
	for i := 0; i < pieces; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do(i)
		}()
	}
	wg.Wait()
}

// fakeNamespaces is a NamespaceLister over fixed namespaces.
type fakeNamespaces []*corev1.Namespace

func (f fakeNamespaces) List(sel labels.Selector) ([]*corev1.Namespace, error) {
	var out []*corev1.Namespace
	for _, ns := range f {
		if sel.Matches(labels.Set(ns.Labels)) {
			out = append(out, ns)
		}
	}
	return out, nil
}

func (f fakeNamespaces) Get(name string) (*corev1.Namespace, error) {
	for _, ns := range f {
		if ns.Name == name {
			return ns, nil
		}
	}
	return nil, fmt.Errorf("namespace %q: %w", name, framework.ErrNotFound)
}

// nsHandle is a fakeHandle that also knows the namespaces.
type nsHandle struct {
	fakeHandle
	namespaces fakeNamespaces
}

func (h *nsHandle) NamespaceLister() NamespaceLister { return h.namespaces }

func namespace(name string, kv ...string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labelMap(kv...)}}
}

// labelMap builds labels from key, value pairs.
func labelMap(kv ...string) map[string]string {
	if len(kv) == 0 {
		return nil
	}
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func makeNode(name string, kv ...string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labelMap(kv...)}}
}

// nodeInfo builds a NodeInfo as the snapshot would.
func nodeInfo(node *corev1.Node, pods ...*corev1.Pod) *framework.NodeInfo {
	for _, p := range pods {
		p.Spec.NodeName = node.Name
	}
	ni := framework.NewNodeInfo(pods...)
	ni.SetNode(node)
	return ni
}

// podBuilder builds test pods in namespace "default".
type podBuilder struct{ p *corev1.Pod }

func makePod(name string, kv ...string) *podBuilder {
	return &podBuilder{p: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: "default", UID: types.UID(name), Labels: labelMap(kv...),
	}}}
}

func (b *podBuilder) namespace(ns string) *podBuilder {
	b.p.Namespace = ns
	b.p.UID = types.UID(ns + "/" + b.p.Name)
	return b
}

func (b *podBuilder) affinity() *corev1.Affinity {
	if b.p.Spec.Affinity == nil {
		b.p.Spec.Affinity = &corev1.Affinity{}
	}
	return b.p.Spec.Affinity
}

func (b *podBuilder) podAffinity() *corev1.PodAffinity {
	a := b.affinity()
	if a.PodAffinity == nil {
		a.PodAffinity = &corev1.PodAffinity{}
	}
	return a.PodAffinity
}

func (b *podBuilder) podAntiAffinity() *corev1.PodAntiAffinity {
	a := b.affinity()
	if a.PodAntiAffinity == nil {
		a.PodAntiAffinity = &corev1.PodAntiAffinity{}
	}
	return a.PodAntiAffinity
}

func (b *podBuilder) requiredAffinity(terms ...corev1.PodAffinityTerm) *podBuilder {
	pa := b.podAffinity()
	pa.RequiredDuringSchedulingIgnoredDuringExecution = append(pa.RequiredDuringSchedulingIgnoredDuringExecution, terms...)
	return b
}

func (b *podBuilder) requiredAntiAffinity(terms ...corev1.PodAffinityTerm) *podBuilder {
	pa := b.podAntiAffinity()
	pa.RequiredDuringSchedulingIgnoredDuringExecution = append(pa.RequiredDuringSchedulingIgnoredDuringExecution, terms...)
	return b
}

func (b *podBuilder) preferredAffinity(weight int32, t corev1.PodAffinityTerm) *podBuilder {
	pa := b.podAffinity()
	pa.PreferredDuringSchedulingIgnoredDuringExecution = append(pa.PreferredDuringSchedulingIgnoredDuringExecution,
		corev1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: t})
	return b
}

func (b *podBuilder) preferredAntiAffinity(weight int32, t corev1.PodAffinityTerm) *podBuilder {
	pa := b.podAntiAffinity()
	pa.PreferredDuringSchedulingIgnoredDuringExecution = append(pa.PreferredDuringSchedulingIgnoredDuringExecution,
		corev1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: t})
	return b
}

func (b *podBuilder) obj() *corev1.Pod { return b.p }

// term is a pod affinity term over topologyKey selecting labels kv.
func term(topologyKey string, kv ...string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{TopologyKey: topologyKey, LabelSelector: &metav1.LabelSelector{MatchLabels: labelMap(kv...)}}
}

// termIn is a term selecting pods whose label key has one of values.
func termIn(topologyKey, key string, values ...string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{TopologyKey: topologyKey, LabelSelector: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: metav1.LabelSelectorOpIn, Values: values}},
	}}
}

func newPlugin(t *testing.T, args string, h framework.Handle) *InterPodAffinity {
	t.Helper()
	var raw json.RawMessage
	if args != "" {
		raw = json.RawMessage(args)
	}
	p, err := New(raw, h)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p.(*InterPodAffinity)
}

// statusString renders a status for comparison: code and reasons.
func statusString(s *framework.Status) string { return s.String() }
