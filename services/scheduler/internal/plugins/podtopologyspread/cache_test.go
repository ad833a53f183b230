package podtopologyspread

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// cachedCount returns the cached count of key on node, if any: from
// the last pass, else from Score's lookups.
func cachedCount(pl *PodTopologySpread, key countKey, node string) (nodeCount, bool) {
	pl.counts.mu.RLock()
	defer pl.counts.mu.RUnlock()
	kc := pl.counts.keys[key]
	if kc == nil {
		return nodeCount{}, false
	}
	for _, e := range kc.byIndex {
		if e.ni != nil && e.ni.Name() == node {
			return nodeCount{generation: e.generation, pods: int(e.pods)}, true
		}
	}
	e, ok := kc.nodes[node]
	return e, ok
}

// webKey is the key of a constraint over topologyKey selecting kv in
// namespace ns.
func webKey(t *testing.T, topologyKey, ns string, kv ...string) countKey {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchLabels: labelMap(kv...)})
	if err != nil {
		t.Fatal(err)
	}
	return countKey{namespace: ns, selector: selectorKey(sel), topologyKey: topologyKey}
}

func preFilterCounts(t *testing.T, pl *PodTopologySpread, pod *corev1.Pod, nodes fakeLister) []*domainCounts {
	t.Helper()
	cs := framework.NewCycleState()
	if _, st := pl.PreFilter(context.Background(), cs, pod, nodes); !st.IsSuccess() {
		t.Fatalf("PreFilter = %v", st)
	}
	return state(t, cs)
}

// TestCountCacheReuse checks that an unchanged node's count comes from
// the cache: a planted count at the node's Generation is used as is.
func TestCountCacheReuse(t *testing.T) {
	pod := makePod("p", "app", "web").spread(tsc(1, zoneKey, corev1.DoNotSchedule, "app", "web")).obj()
	nodes := cluster(map[string][]*corev1.Pod{"nA1": times(2, "w", web)}, nil)
	pl := newPlugin(t, "", &fakeHandle{lister: nodes})
	want := preFilterCounts(t, pl, pod, nodes)
	if got := want[0].pods; !reflect.DeepEqual(got, map[string]int{"a": 2, "b": 0}) {
		t.Fatalf("counts = %v", got)
	}
	key := webKey(t, zoneKey, "default", "app", "web")
	e, ok := cachedCount(pl, key, "nA1")
	if !ok || e.generation != nodes[0].Generation || e.pods != 2 {
		t.Fatalf("cache entry of nA1 = %+v, %v; want 2 pods at generation %d", e, ok, nodes[0].Generation)
	}

	// The same nodes in the same order: found by index.
	pl.counts.mu.Lock()
	kc := pl.counts.keys[key]
	if kc.byIndex[0].ni != nodes[0] {
		t.Fatalf("byIndex[0] is not nA1: %+v", kc.byIndex[0])
	}
	kc.byIndex[0].pods = 7
	pl.counts.mu.Unlock()
	if got := preFilterCounts(t, pl, pod, nodes)[0].pods["a"]; got != 7 {
		t.Errorf("zone a counts %d with a planted count of 7 for unchanged nA1, want 7 (the cache is not used)", got)
	}

	// In another order (nodes added or removed): counted again.
	reversed := fakeLister{nodes[4], nodes[3], nodes[2], nodes[1], nodes[0]}
	if got := preFilterCounts(t, pl, pod, reversed)[0].pods["a"]; got != 2 {
		t.Errorf("zone a counts %d with nA1 at another index, want 2", got)
	}
	pl.counts.mu.RLock()
	if e := kc.byIndex[4]; e.ni != nodes[0] || e.pods != 2 || kc.domains[e.domain] != "a" {
		t.Errorf("byIndex[4] = %+v after a pass with nA1 at index 4", e)
	}
	pl.counts.mu.RUnlock()
}

// TestCountCacheNodePodsChange checks that a node whose pods change is
// counted again.
func TestCountCacheNodePodsChange(t *testing.T) {
	pod := makePod("p", "app", "web").spread(
		tsc(1, zoneKey, corev1.DoNotSchedule, "app", "web"),
		tsc(1, hostKey, corev1.DoNotSchedule, "app", "web"),
	).obj()
	nodes := cluster(map[string][]*corev1.Pod{"nA1": {web("w1")}}, nil)
	pl := newPlugin(t, "", &fakeHandle{lister: nodes})
	preFilterCounts(t, pl, pod, nodes)

	// A pod added to nA1, one removed from... nA1 again, and a pod added
	// to nB2 that the constraints do not count.
	w2 := web("w2")
	w2.Spec.NodeName = "nA1"
	nodes[0].AddPod(framework.NewPodInfo(w2))
	db := makePod("db", "app", "db").obj()
	db.Spec.NodeName = "nB2"
	nodes[3].AddPod(framework.NewPodInfo(db))
	got := preFilterCounts(t, pl, pod, nodes)
	want := preFilterCounts(t, newPlugin(t, "", nil), pod, nodes)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after adding pods: %+v, want %+v", got, want)
	}
	if got[0].pods["a"] != 2 || got[1].pods["nA1"] != 2 {
		t.Errorf("after adding w2 to nA1: zone a %d, nA1 %d; want 2, 2", got[0].pods["a"], got[1].pods["nA1"])
	}

	nodes[0].RemovePod(w2.UID)
	nodes[0].RemovePod("w1")
	got = preFilterCounts(t, pl, pod, nodes)
	if got[0].pods["a"] != 0 || got[1].pods["nA1"] != 0 {
		t.Errorf("after removing nA1's pods: zone a %d, nA1 %d; want 0, 0", got[0].pods["a"], got[1].pods["nA1"])
	}
	if e, _ := cachedCount(pl, webKey(t, zoneKey, "default", "app", "web"), "nA1"); e.generation != nodes[0].Generation || e.pods != 0 {
		t.Errorf("cache entry of nA1 = %+v, want 0 pods at generation %d", e, nodes[0].Generation)
	}
}

// TestCountCacheNodeRemoved checks that a removed node's entries go and
// that its pods no longer count.
func TestCountCacheNodeRemoved(t *testing.T) {
	pod := makePod("p", "app", "web").spread(tsc(1, hostKey, corev1.DoNotSchedule, "app", "web")).obj()
	nodes := cluster(map[string][]*corev1.Pod{"nA1": {web("w1")}, "nX": times(3, "x", web)}, nil)
	pl := newPlugin(t, "", &fakeHandle{lister: nodes})
	preFilterCounts(t, pl, pod, nodes)
	key := webKey(t, hostKey, "default", "app", "web")
	if _, ok := cachedCount(pl, key, "nX"); !ok {
		t.Fatal("nX not cached")
	}

	var without fakeLister
	for _, ni := range nodes {
		if ni.Name() != "nX" {
			without = append(without, ni)
		}
	}
	pl.handle = &fakeHandle{lister: without}
	got := preFilterCounts(t, pl, pod, without)
	if _, ok := got[0].pods["nX"]; ok || got[0].min != 0 {
		t.Errorf("counts after removing nX: %+v", got[0])
	}
	if _, ok := cachedCount(pl, key, "nX"); ok {
		t.Error("the removed node nX is still cached")
	}
	pl.counts.mu.RLock()
	n := len(pl.counts.keys[key].byIndex)
	pl.counts.mu.RUnlock()
	if n != len(without) {
		t.Errorf("%d nodes cached, want %d", n, len(without))
	}

	// The node comes back (a new NodeInfo, as the cache builds): counted
	// afresh.
	back := cluster(map[string][]*corev1.Pod{"nA1": {web("w1")}, "nX": {web("x")}}, nil)
	pl.handle = &fakeHandle{lister: back}
	if got := preFilterCounts(t, pl, pod, back)[0].pods["nX"]; got != 1 {
		t.Errorf("nX back with one pod counts %d, want 1", got)
	}
}

// TestCountCacheKeys checks that pods with different selectors or
// namespaces, or counting a controller's pods, get counts of their own.
func TestCountCacheKeys(t *testing.T) {
	rs := func(name string) *corev1.Pod { return makePod(name).ownedBy("apps/v1", "ReplicaSet", "rs1").obj() }
	existing := map[string][]*corev1.Pod{
		"nA1": {web("w1"), web("w2"), makePod("db", "app", "db").obj(), rs("r1")},
		"nA2": {makePod("o1", "app", "web").namespace("other").obj()},
		"nB1": {makePod("o2", "app", "db").namespace("other").obj(), rs("r2"), rs("r3")},
	}
	spread := func(b *podBuilder, kv ...string) *corev1.Pod {
		return b.spread(tsc(1, zoneKey, corev1.DoNotSchedule, kv...), tsc(1, hostKey, corev1.DoNotSchedule, kv...)).obj()
	}
	expr := func(b *podBuilder) *corev1.Pod {
		c := tsc(1, hostKey, corev1.DoNotSchedule)
		c.LabelSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"db", "web"}}}}
		return b.spread(c).obj()
	}
	pods := []*corev1.Pod{
		spread(makePod("p1", "app", "web"), "app", "web"),
		spread(makePod("p2", "app", "db"), "app", "db"),
		spread(makePod("p3", "app", "web").namespace("other"), "app", "web"),
		spread(makePod("p4", "app", "db").namespace("other"), "app", "db"),
		expr(makePod("p5")),
		expr(makePod("p6").namespace("other")),
		// matchLabelKeys narrows the selector by the pod's own labels.
		func() *corev1.Pod {
			c := tsc(1, hostKey, corev1.DoNotSchedule)
			c.LabelSelector = &metav1.LabelSelector{}
			c.MatchLabelKeys = []string{"app"}
			return makePod("p7", "app", "db").spread(c).obj()
		}(),
	}
	nodes := cluster(existing, nil)
	pl := newPlugin(t, "", &fakeHandle{lister: nodes})
	for round := 0; round < 2; round++ {
		for _, p := range pods {
			got := preFilterCounts(t, pl, p, nodes)
			want := preFilterCounts(t, newPlugin(t, "", nil), p, nodes)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round %d, %s: counts %+v, want %+v", round, p.Name, got, want)
			}
		}
	}

	// Default constraints count the controller's pods, by hostname and
	// zone (PreScore, Score).
	p := makePod("p8").ownedBy("apps/v1", "ReplicaSet", "rs1").obj()
	for round := 0; round < 2; round++ {
		got, want := scores(t, pl, p, nodes), scores(t, newPlugin(t, "", &fakeHandle{lister: nodes}), p, nodes)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round %d, default constraints: scores %v, want %v", round, got, want)
		}
	}
	if got := scores(t, pl, p, nodes); got["nB1"] >= got["nA2"] {
		t.Errorf("nB1 (2 pods of rs1) scores %d, nA2 (none) %d", got["nB1"], got["nA2"])
	}

	pl.counts.mu.RLock()
	keys := len(pl.counts.keys)
	pl.counts.mu.RUnlock()
	// By zone and hostname: web and db in 2 namespaces (8); by
	// hostname: app in (db, web) in 2 namespaces (2), app=db through
	// matchLabelKeys (the same as db in default); rs1 by both (2).
	if keys != 12 {
		t.Errorf("%d keys cached, want 12", keys)
	}
}

// scores runs PreScore, Score and NormalizeScore over nodes.
func scores(t *testing.T, pl *PodTopologySpread, pod *corev1.Pod, nodes fakeLister) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	cs := framework.NewCycleState()
	if st := pl.PreScore(ctx, cs, pod, nodes); !st.IsSuccess() {
		t.Fatalf("PreScore = %v", st)
	}
	var out []framework.NodeScore
	for _, ni := range nodes {
		s, st := pl.Score(ctx, cs, pod, ni)
		if !st.IsSuccess() {
			t.Fatalf("Score = %v", st)
		}
		out = append(out, framework.NodeScore{Name: ni.Name(), Score: s})
	}
	if st := pl.NormalizeScore(ctx, cs, pod, out); !st.IsSuccess() {
		t.Fatalf("NormalizeScore = %v", st)
	}
	m := map[string]int64{}
	for _, s := range out {
		m[s.Name] = s.Score
	}
	return m
}

// TestCountCacheBounded checks that no more than maxCachedKeys keys are
// kept, the least recently used going first.
func TestCountCacheBounded(t *testing.T) {
	nodes := cluster(nil, nil)
	pl := newPlugin(t, "", &fakeHandle{lister: nodes})
	pod := func(i int) *corev1.Pod {
		v := fmt.Sprint("v", i)
		return makePod("p", "app", v).spread(tsc(1, zoneKey, corev1.DoNotSchedule, "app", v)).obj()
	}
	for i := 0; i < maxCachedKeys+10; i++ {
		preFilterCounts(t, pl, pod(i), nodes)
		preFilterCounts(t, pl, pod(0), nodes) // keeps v0 recent
	}
	pl.counts.mu.RLock()
	defer pl.counts.mu.RUnlock()
	if len(pl.counts.keys) != maxCachedKeys {
		t.Errorf("%d keys cached, want %d", len(pl.counts.keys), maxCachedKeys)
	}
	if pl.counts.keys[webKey(t, zoneKey, "default", "app", "v0")] == nil {
		t.Error("the most recently used key was evicted")
	}
	if pl.counts.keys[webKey(t, zoneKey, "default", "app", "v1")] != nil {
		t.Error("the least recently used key was kept")
	}
}

// TestCountCacheGenerationZero checks that NodeInfos without a
// Generation (built by hand) are not cached.
func TestCountCacheGenerationZero(t *testing.T) {
	pod := makePod("p", "app", "web").spread(tsc(1, zoneKey, corev1.DoNotSchedule, "app", "web")).obj()
	node := makeNode("n1", hostKey, "n1", zoneKey, "a")
	ni := &framework.NodeInfo{Node: node, Pods: []*framework.PodInfo{framework.NewPodInfo(web("w1"))}}
	pl := newPlugin(t, "", nil)
	if got := preFilterCounts(t, pl, pod, fakeLister{ni})[0].pods["a"]; got != 1 {
		t.Fatalf("zone a = %d, want 1", got)
	}
	ni.Pods = append(ni.Pods, framework.NewPodInfo(web("w2")))
	if got := preFilterCounts(t, pl, pod, fakeLister{ni})[0].pods["a"]; got != 2 {
		t.Errorf("zone a = %d after adding a pod to a NodeInfo without Generation, want 2", got)
	}
	if _, ok := cachedCount(pl, webKey(t, zoneKey, "default", "app", "web"), "n1"); ok {
		t.Error("a NodeInfo without Generation was cached")
	}
}

func TestSelectorKey(t *testing.T) {
	parse := func(s string) labels.Selector {
		sel, err := labels.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return sel
	}
	same := [][2]labels.Selector{
		{parse("a=1,b in (x,y)"), parse("b in (y,x),a=1")},
		{labels.SelectorFromSet(labels.Set{"a": "1", "b": "2"}), parse("b=2,a=1")},
	}
	for _, p := range same {
		if selectorKey(p[0]) != selectorKey(p[1]) {
			t.Errorf("%q and %q have different keys", p[0], p[1])
		}
	}
	different := []labels.Selector{
		labels.Everything(), labels.Nothing(), parse("a=1"), parse("a!=1"), parse("a in (1)"), parse("a"), parse("!a"),
		parse("a=1,b=2"), parse("a in (1,2)"), parse("a notin (1,2)"), parse("a=12"), parse("a1=2"),
		// Unvalidated values (SelectorFromSet does not validate) cannot
		// be mistaken for others.
		labels.SelectorFromSet(labels.Set{"a": "1,b=2"}), labels.SelectorFromSet(labels.Set{"a": "1:"}),
	}
	seen := map[string]labels.Selector{}
	for _, s := range different {
		k := selectorKey(s)
		if o, ok := seen[k]; ok {
			t.Errorf("%q and %q have the same key %q", o, s, k)
		}
		seen[k] = s
	}
}

// TestRecount checks that domainCounts.recount gives the state that
// adding the counts one by one gives.
func TestRecount(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for round := 0; round < 200; round++ {
		one, bulk := newDomainCounts(), newDomainCounts()
		for i := rng.Intn(8); i > 0; i-- {
			v, n := fmt.Sprint(rng.Intn(5)), rng.Intn(4)
			one.add(v, n)
			bulk.pods[v] += n
		}
		bulk.recount()
		if !reflect.DeepEqual(one, bulk) {
			t.Fatalf("round %d: recount %+v, adding one by one %+v", round, bulk, one)
		}
	}
}

// TestCountCacheRandom schedules random pods over random changes to a
// cluster with one plugin, whose cache lives across the cycles, and
// checks every PreFilter state, Filter result and score against a plugin
// starting afresh.
func TestCountCacheRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	ctx := context.Background()
	apps := []string{"web", "db", "batch"}
	namespaces := []string{"default", "other"}
	var nodes fakeLister
	nodeNames := 0
	addNode := func() {
		nodeNames++
		name := fmt.Sprint("n", nodeNames)
		n := makeNode(name, hostKey, name, zoneKey, fmt.Sprint("z", rng.Intn(3)))
		if rng.Intn(4) == 0 {
			n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "x", Effect: corev1.TaintEffectNoSchedule}}
		}
		if rng.Intn(5) == 0 {
			delete(n.Labels, zoneKey)
		}
		ni := framework.NewNodeInfo()
		ni.SetNode(n)
		nodes = append(nodes, ni)
	}
	for i := 0; i < 12; i++ {
		addNode()
	}
	randomPod := func(name string) *corev1.Pod {
		app := apps[rng.Intn(len(apps))]
		b := makePod(name, "app", app, "tier", fmt.Sprint(rng.Intn(2))).namespace(namespaces[rng.Intn(len(namespaces))])
		if rng.Intn(3) == 0 {
			b.ownedBy("apps/v1", "ReplicaSet", app)
		}
		return b.obj()
	}
	randomSpread := func(p *corev1.Pod) {
		for _, key := range []string{zoneKey, hostKey} {
			if rng.Intn(3) == 0 {
				continue
			}
			action := corev1.DoNotSchedule
			if rng.Intn(2) == 0 {
				action = corev1.ScheduleAnyway
			}
			c := tsc(int32(1+rng.Intn(2)), key, action, "app", apps[rng.Intn(len(apps))])
			if rng.Intn(3) == 0 {
				c.MatchLabelKeys = []string{"tier"}
			}
			if rng.Intn(3) == 0 {
				c.NodeTaintsPolicy = ptr(corev1.NodeInclusionPolicyHonor)
			}
			p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, c)
		}
		if rng.Intn(4) == 0 {
			p.Spec.NodeSelector = map[string]string{zoneKey: fmt.Sprint("z", rng.Intn(3))}
		}
	}

	pl := newPlugin(t, "", &fakeHandle{lister: nodes})
	podNames := 0
	for cycle := 0; cycle < 300; cycle++ {
		// Change the cluster: pods come and go, nodes too, or a node is
		// relabelled.
		for changes := rng.Intn(4); changes > 0; changes-- {
			ni := nodes[rng.Intn(len(nodes))]
			switch r := rng.Intn(10); {
			case r < 5:
				podNames++
				p := randomPod(fmt.Sprint("e", podNames))
				if rng.Intn(10) == 0 {
					now := metav1.Now()
					p.DeletionTimestamp = &now
				}
				p.Spec.NodeName = ni.Name()
				ni.AddPod(framework.NewPodInfo(p))
			case r < 8:
				if len(ni.Pods) > 0 {
					ni.RemovePod(ni.Pods[rng.Intn(len(ni.Pods))].Pod.UID)
				}
			case r < 9:
				if len(nodes) > 4 {
					i := rng.Intn(len(nodes))
					nodes = append(nodes[:i:i], nodes[i+1:]...)
				}
				addNode()
			default:
				n := ni.Node.DeepCopy()
				n.Labels[zoneKey] = fmt.Sprint("z", rng.Intn(3))
				ni.SetNode(n)
			}
		}
		pl.handle = &fakeHandle{lister: nodes}
		fresh := newPlugin(t, "", &fakeHandle{lister: nodes})

		podNames++
		pod := randomPod(fmt.Sprint("p", podNames))
		randomSpread(pod)
		gotCS, wantCS := framework.NewCycleState(), framework.NewCycleState()
		_, gotSt := pl.PreFilter(ctx, gotCS, pod, nodes)
		_, wantSt := fresh.PreFilter(ctx, wantCS, pod, nodes)
		if gotSt.String() != wantSt.String() {
			t.Fatalf("cycle %d: PreFilter = %v, want %v", cycle, gotSt, wantSt)
		}
		if gotSt.IsSuccess() {
			if got, want := state(t, gotCS), state(t, wantCS); !reflect.DeepEqual(got, want) {
				t.Fatalf("cycle %d: PreFilter counts %+v, want %+v", cycle, got, want)
			}
			for _, ni := range nodes {
				if got, want := pl.Filter(ctx, gotCS, pod, ni), fresh.Filter(ctx, wantCS, pod, ni); got.String() != want.String() {
					t.Fatalf("cycle %d: Filter(%s) = %v, want %v", cycle, ni.Name(), got, want)
				}
			}
		}
		feasible := nodes[:1+rng.Intn(len(nodes))]
		gotSt, wantSt = pl.PreScore(ctx, gotCS, pod, feasible), fresh.PreScore(ctx, wantCS, pod, feasible)
		if gotSt.String() != wantSt.String() {
			t.Fatalf("cycle %d: PreScore = %v, want %v", cycle, gotSt, wantSt)
		}
		if !gotSt.IsSuccess() {
			continue
		}
		for _, ni := range feasible {
			got, _ := pl.Score(ctx, gotCS, pod, ni)
			want, _ := fresh.Score(ctx, wantCS, pod, ni)
			if got != want {
				t.Fatalf("cycle %d: Score(%s) = %d, want %d", cycle, ni.Name(), got, want)
			}
		}
	}
}

// TestCountCacheConcurrent runs PreFilter, PreScore and Score of one
// plugin from several goroutines at once (for -race), as the pods' own
// cycles would, and checks the results.
func TestCountCacheConcurrent(t *testing.T) {
	existing := map[string][]*corev1.Pod{"nA1": times(3, "w", web), "nB1": {web("w"), makePod("d", "app", "db").obj()}}
	nodes := cluster(existing, nil)
	pl := newPlugin(t, "", &fakeHandle{lister: nodes})
	pods := []*corev1.Pod{
		makePod("p1", "app", "web").spread(tsc(1, zoneKey, corev1.DoNotSchedule, "app", "web"), tsc(1, hostKey, corev1.ScheduleAnyway, "app", "web")).obj(),
		makePod("p2", "app", "db").spread(tsc(1, hostKey, corev1.DoNotSchedule, "app", "db"), tsc(1, zoneKey, corev1.ScheduleAnyway, "app", "db")).obj(),
	}
	want := make([][]*domainCounts, len(pods))
	wantScores := make([]map[string]int64, len(pods))
	for i, p := range pods {
		want[i] = preFilterCounts(t, newPlugin(t, "", nil), p, nodes)
		wantScores[i] = scores(t, newPlugin(t, "", &fakeHandle{lister: nodes}), p, nodes)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 20; round++ {
				i := (g + round) % len(pods)
				cs := framework.NewCycleState()
				if _, st := pl.PreFilter(ctx, cs, pods[i], nodes); !st.IsSuccess() {
					t.Errorf("PreFilter = %v", st)
					return
				}
				if s, err := getPreFilterState(cs); err != nil || !reflect.DeepEqual(s.counts, want[i]) {
					t.Errorf("%s: counts %+v (%v), want %+v", pods[i].Name, s.counts, err, want[i])
				}
				if st := pl.PreScore(ctx, cs, pods[i], nodes); !st.IsSuccess() {
					t.Errorf("PreScore = %v", st)
					return
				}
				var out []framework.NodeScore
				for _, ni := range nodes {
					s, _ := pl.Score(ctx, cs, pods[i], ni)
					out = append(out, framework.NodeScore{Name: ni.Name(), Score: s})
				}
				pl.NormalizeScore(ctx, cs, pods[i], out)
				got := map[string]int64{}
				for _, s := range out {
					got[s.Name] = s.Score
				}
				if !reflect.DeepEqual(got, wantScores[i]) {
					t.Errorf("%s: scores %v, want %v", pods[i].Name, got, wantScores[i])
				}
			}
		}()
	}
	wg.Wait()
}

// TestManyHostnames checks PreFilter's and PreScore's counts over many
// hostnames and zones against a plain count, twice (cached).
func TestManyHostnames(t *testing.T) {
	var nodes fakeLister
	want := map[string]int{}
	for i := 0; i < 50; i++ {
		name := fmt.Sprint("n", i)
		var pods []*corev1.Pod
		for j := 0; j < i%4; j++ {
			p := web(fmt.Sprint(name, "-", j))
			p.Spec.NodeName = name
			pods = append(pods, p)
		}
		ni := framework.NewNodeInfo(pods...)
		ni.SetNode(makeNode(name, hostKey, name, zoneKey, fmt.Sprint("z", i%20)))
		nodes = append(nodes, ni)
		want[name] = i % 4
	}
	pl := newPlugin(t, "", &fakeHandle{lister: nodes})
	filterPod := makePod("p", "app", "web").spread(tsc(1, hostKey, corev1.DoNotSchedule, "app", "web")).obj()
	scorePod := makePod("p", "app", "web").spread(tsc(1, zoneKey, corev1.ScheduleAnyway, "app", "web")).obj()
	wantZones := map[string]int64{}
	for i := range nodes {
		wantZones[fmt.Sprint("z", i%20)] += int64(i % 4)
	}
	for round := 0; round < 2; round++ {
		got := preFilterCounts(t, pl, filterPod, nodes)[0]
		if !reflect.DeepEqual(got.pods, want) || got.min != 0 {
			t.Errorf("round %d: counts %v (min %d), want %v (min 0)", round, got.pods, got.min, want)
		}
		cs := framework.NewCycleState()
		if st := pl.PreScore(context.Background(), cs, scorePod, nodes); !st.IsSuccess() {
			t.Fatalf("PreScore = %v", st)
		}
		s, err := getPreScoreState(cs)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s.counts[0], wantZones) {
			t.Errorf("round %d: zone counts %v, want %v", round, s.counts[0], wantZones)
		}
	}
}

// TestCountCacheScore checks Score's lookups by name of hostname counts:
// reused while the node is unchanged, counted again when its pods
// change, dropped when it goes.
func TestCountCacheScore(t *testing.T) {
	pod := makePod("p", "app", "web").spread(tsc(1, hostKey, corev1.ScheduleAnyway, "app", "web")).obj()
	nodes := cluster(map[string][]*corev1.Pod{"nA1": times(2, "w", web), "nX": {web("x")}}, nil)
	pl := newPlugin(t, "", &fakeHandle{lister: nodes})
	fresh := func(nodes fakeLister) map[string]int64 {
		return scores(t, newPlugin(t, "", &fakeHandle{lister: nodes}), pod, nodes)
	}
	if got, want := scores(t, pl, pod, nodes), fresh(nodes); !reflect.DeepEqual(got, want) {
		t.Fatalf("scores %v, want %v", got, want)
	}
	key := webKey(t, hostKey, "default", "app", "web")
	pl.counts.mu.RLock()
	e, ok := pl.counts.keys[key].nodes["nA1"]
	pl.counts.mu.RUnlock()
	if !ok || e.pods != 2 || e.generation != nodes[0].Generation {
		t.Fatalf("nA1 by name = %+v, %v", e, ok)
	}

	// Reused: a planted count is used.
	pl.counts.mu.Lock()
	pl.counts.keys[key].nodes["nA1"] = nodeCount{generation: nodes[0].Generation, pods: 0}
	pl.counts.mu.Unlock()
	if got := scores(t, pl, pod, nodes); got["nA1"] != got["nA2"] {
		t.Errorf("with nA1 planted at 0 pods, nA1 scores %d and the empty nA2 %d", got["nA1"], got["nA2"])
	}

	// nA1's pods change: counted again.
	nodes[0].RemovePod("w-0")
	if got, want := scores(t, pl, pod, nodes), fresh(nodes); !reflect.DeepEqual(got, want) {
		t.Errorf("after a pod left nA1: scores %v, want %v", got, want)
	}

	// nX goes: dropped.
	without := nodes[:4]
	pl.handle = &fakeHandle{lister: without}
	if got, want := scores(t, pl, pod, without), fresh(without); !reflect.DeepEqual(got, want) {
		t.Errorf("without nX: scores %v, want %v", got, want)
	}
	pl.counts.mu.RLock()
	defer pl.counts.mu.RUnlock()
	if _, ok := pl.counts.keys[key].nodes["nX"]; ok {
		t.Error("the removed node nX is still cached by name")
	}
	if n := len(pl.counts.keys[key].nodes); n > len(without) {
		t.Errorf("%d nodes cached by name, want at most %d", n, len(without))
	}
}

// TestCountCacheDomainsBounded replaces every node, under new names,
// over and over: the hostname domains of the nodes gone must not pile
// up, and the counts stay right.
func TestCountCacheDomainsBounded(t *testing.T) {
	pod := makePod("p", "app", "web").spread(tsc(3, hostKey, corev1.DoNotSchedule, "app", "web")).obj()
	pl := newPlugin(t, "", nil)
	for round := 0; round < 40; round++ {
		var nodes fakeLister
		want := map[string]int{}
		for i := 0; i < 5; i++ {
			name := fmt.Sprint("r", round, "-n", i)
			var pods []*corev1.Pod
			for j := 0; j < i; j++ {
				p := web(fmt.Sprint(name, "-", j))
				p.Spec.NodeName = name
				pods = append(pods, p)
			}
			ni := framework.NewNodeInfo(pods...)
			ni.SetNode(makeNode(name, hostKey, name))
			nodes = append(nodes, ni)
			want[name] = i
		}
		for again := 0; again < 2; again++ {
			if got := preFilterCounts(t, pl, pod, nodes)[0].pods; !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d: counts %v, want %v", round, got, want)
			}
		}
	}
	pl.counts.mu.RLock()
	defer pl.counts.mu.RUnlock()
	if n := len(pl.counts.keys[webKey(t, hostKey, "default", "app", "web")].domains); n > 2*5+64 {
		t.Errorf("%d domains kept for 5 nodes", n)
	}
}

// TestCountPassStale checks a pass during which another pass evicts its
// key or replaces its domains (between the end of its parallel part and
// its end): what it found in the cache indexes the domains it was given,
// which end maps onto the key's new ones.
func TestCountPassStale(t *testing.T) {
	pod := makePod("p", "app", "web").spread(tsc(1, zoneKey, corev1.DoNotSchedule, "app", "web")).obj()
	nodes := cluster(map[string][]*corev1.Pod{"nA1": {web("w1")}, "nB2": times(2, "w", web)}, nil)
	key := webKey(t, zoneKey, "default", "app", "web")
	for _, meanwhile := range []struct {
		name string
		do   func(c *countCache)
	}{
		{"evicted", func(c *countCache) { delete(c.keys, key) }},
		{"domains replaced", func(c *countCache) {
			kc := c.keys[key]
			kc.domains, kc.domainIDs = []string{"other", "b"}, map[string]int32{"other": 0, "b": 1}
			kc.epoch++
		}},
	} {
		t.Run(meanwhile.name, func(t *testing.T) {
			pl := newPlugin(t, "", nil)
			want := preFilterCounts(t, pl, pod, nodes) // warms the cache
			cs, err := pl.constraintsFor(pod, corev1.DoNotSchedule)
			if err != nil {
				t.Fatal(err)
			}
			pass := pl.counts.beginPass(cs, "default")
			results := make([]nodeResult, len(nodes))
			for n, ni := range nodes {
				if pass.fill(n, ni, results[n:n+1]) {
					results[n].counted = true
				}
				if results[n].state != fromCache {
					t.Fatalf("node %s not found in the cache", ni.Name())
				}
			}
			pl.counts.mu.RUnlock()
			pl.counts.mu.Lock()
			meanwhile.do(pl.counts)
			pl.counts.mu.Unlock()
			pl.counts.mu.RLock()
			domains := pass.end(nodes, results)
			got := map[string]int{}
			sumDomains(results, 1, 0, domains[0], func(v string, pods int) { got[v] = pods })
			if !reflect.DeepEqual(got, want[0].pods) {
				t.Errorf("counts %v, want %v", got, want[0].pods)
			}
			for n, ni := range nodes {
				if r := results[n]; r.hasLabel && domains[0][r.domain] != ni.Node.Labels[zoneKey] {
					t.Errorf("%s: domain %q, want %q", ni.Name(), domains[0][r.domain], ni.Node.Labels[zoneKey])
				}
			}
			// And the next pass finds the right domains in the cache.
			if got := preFilterCounts(t, pl, pod, nodes); !reflect.DeepEqual(got, want) {
				t.Errorf("next pass: counts %+v, want %+v", got, want)
			}
		})
	}
}
