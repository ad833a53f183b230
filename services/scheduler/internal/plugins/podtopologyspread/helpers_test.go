package podtopologyspread

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

const (
	hostKey = corev1.LabelHostname
	zoneKey = corev1.LabelTopologyZone
)

// fakeLister is a NodeInfoLister over a fixed set of nodes.
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
	return nil, fmt.Errorf("nodeinfo %q: %w", name, framework.ErrNotFound)
}

// fakeHandle offers the snapshot and a Parallelizer running every piece
// in its own goroutine (so that -race checks the plugin's parallel
// work); every other Handle method panics (nil embedded).
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

// testNodes are nA1, nA2 in zone a, nB1, nB2 in zone b, and nX with a
// hostname label only.
func testNodes() []*corev1.Node {
	return []*corev1.Node{
		makeNode("nA1", hostKey, "nA1", zoneKey, "a"),
		makeNode("nA2", hostKey, "nA2", zoneKey, "a"),
		makeNode("nB1", hostKey, "nB1", zoneKey, "b"),
		makeNode("nB2", hostKey, "nB2", zoneKey, "b"),
		makeNode("nX", hostKey, "nX"),
	}
}

// cluster builds the test nodes, changed by edit if not nil, with the
// given pods on them.
func cluster(pods map[string][]*corev1.Pod, edit func(*corev1.Node)) fakeLister {
	var out fakeLister
	for _, n := range testNodes() {
		if edit != nil {
			edit(n)
		}
		for _, p := range pods[n.Name] {
			p.Spec.NodeName = n.Name
		}
		ni := framework.NewNodeInfo(pods[n.Name]...)
		ni.SetNode(n)
		out = append(out, ni)
	}
	return out
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
	return b
}

func (b *podBuilder) terminating() *podBuilder {
	now := metav1.Now()
	b.p.DeletionTimestamp = &now
	return b
}

// ownedBy sets the pod's controller.
func (b *podBuilder) ownedBy(apiVersion, kind, uid string) *podBuilder {
	yes := true
	b.p.OwnerReferences = append(b.p.OwnerReferences, metav1.OwnerReference{
		APIVersion: apiVersion, Kind: kind, Name: uid, UID: types.UID(uid), Controller: &yes,
	})
	return b
}

func (b *podBuilder) spread(cs ...corev1.TopologySpreadConstraint) *podBuilder {
	b.p.Spec.TopologySpreadConstraints = append(b.p.Spec.TopologySpreadConstraints, cs...)
	return b
}

func (b *podBuilder) nodeSelector(kv ...string) *podBuilder {
	b.p.Spec.NodeSelector = labelMap(kv...)
	return b
}

func (b *podBuilder) requiredNodeAffinity(terms ...corev1.NodeSelectorTerm) *podBuilder {
	b.p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms},
	}}
	return b
}

func (b *podBuilder) tolerate(tol corev1.Toleration) *podBuilder {
	b.p.Spec.Tolerations = append(b.p.Spec.Tolerations, tol)
	return b
}

func (b *podBuilder) obj() *corev1.Pod { return b.p }

// times returns n pods named prefix-i built by mk.
func times(n int, prefix string, mk func(name string) *corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for i := 0; i < n; i++ {
		out = append(out, mk(fmt.Sprintf("%s-%d", prefix, i)))
	}
	return out
}

// tsc is a constraint selecting labels kv.
func tsc(maxSkew int32, key string, action corev1.UnsatisfiableConstraintAction, kv ...string) corev1.TopologySpreadConstraint {
	return corev1.TopologySpreadConstraint{
		MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: action,
		LabelSelector: &metav1.LabelSelector{MatchLabels: labelMap(kv...)},
	}
}

func newPlugin(t *testing.T, args string, h framework.Handle) *PodTopologySpread {
	t.Helper()
	var raw json.RawMessage
	if args != "" {
		raw = json.RawMessage(args)
	}
	p, err := New(raw, h)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p.(*PodTopologySpread)
}

func ptr[T any](v T) *T { return &v }
