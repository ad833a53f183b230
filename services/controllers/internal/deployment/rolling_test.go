package deployment

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func TestPlanRollingUpdate(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    *appsv1.Deployment
		// old (oldest first) and new ReplicaSets: spec replicas, available.
		old  [][2]int32
		new  [2]int32
		tune func(old []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet)
		want []string
	}{
		{
			name: "surge a new pod",
			d:    deploy(4, "1", "1"), old: [][2]int32{{4, 4}}, new: [2]int32{0, 0},
			want: []string{"new:1"},
		},
		{
			name: "no room to surge: scale old down within maxUnavailable",
			d:    deploy(4, "1", "1"), old: [][2]int32{{4, 4}}, new: [2]int32{1, 0},
			want: []string{"old0:3"},
		},
		{
			name: "room again: grow new",
			d:    deploy(4, "1", "1"), old: [][2]int32{{3, 3}}, new: [2]int32{1, 1},
			want: []string{"new:2"},
		},
		{
			name: "grow new up to replicas only",
			d:    deploy(4, "100%", "0"), old: [][2]int32{{4, 4}}, new: [2]int32{0, 0},
			want: []string{"new:4"},
		},
		{
			name: "pods an old replica set still has count against the surge",
			d:    deploy(4, "1", "1"), old: [][2]int32{{3, 4}}, new: [2]int32{1, 1},
			tune: func(old []*appsv1.ReplicaSet, _ *appsv1.ReplicaSet) { old[0].Status.Replicas = 4 },
			// 4 old pods still there + 1 new = 5: no growth; old already
			// counts as 3 available, new 1, min 3: one more old can go.
			want: []string{"old0:2"},
		},
		{
			name: "unhealthy old pods go first, within what the new pods leave",
			d:    deploy(4, "0", "1"), old: [][2]int32{{4, 2}}, new: [2]int32{0, 0},
			want: []string{"old0:3"},
		},
		{
			name: "maxUnavailable 0 waits for new pods",
			d:    deploy(3, "1", "0"), old: [][2]int32{{3, 3}}, new: [2]int32{1, 0},
		},
		{
			name: "maxUnavailable 0, new pod available: one old goes",
			d:    deploy(3, "1", "0"), old: [][2]int32{{3, 3}}, new: [2]int32{1, 1},
			want: []string{"old0:2"},
		},
		{
			name: "oldest replica sets first",
			d:    deploy(4, "0", "2"), old: [][2]int32{{2, 2}, {2, 2}}, new: [2]int32{0, 0},
			want: []string{"old0:0"},
		},
		{
			name: "across several old replica sets",
			d:    deploy(6, "0", "3"), old: [][2]int32{{2, 2}, {4, 4}}, new: [2]int32{0, 0},
			want: []string{"old0:0", "old1:3"},
		},
		{
			name: "new above replicas is brought back",
			d:    deploy(3, "1", "0"), new: [2]int32{5, 5},
			want: []string{"new:3"},
		},
		{
			name: "done",
			d:    deploy(3, "1", "0"), old: [][2]int32{{0, 0}}, new: [2]int32{3, 3},
		},
		{
			name: "percentages: 10 replicas, 25% each (surge 3, unavailable 2)",
			d:    deploy(10, "25%", "25%"), old: [][2]int32{{10, 10}}, new: [2]int32{0, 0},
			want: []string{"new:3"},
		},
		{
			name: "percentages: then old down to 8 available",
			d:    deploy(10, "25%", "25%"), old: [][2]int32{{10, 10}}, new: [2]int32{3, 0},
			want: []string{"old0:8"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var old []*appsv1.ReplicaSet
			for i, o := range tc.old {
				old = append(old, rs(tc.d, fmt.Sprintf("old%d", i), 100-i, o[0], o[1]))
			}
			newRS := rs(tc.d, "new", 0, tc.new[0], tc.new[1])
			if tc.tune != nil {
				tc.tune(old, newRS)
			}
			got := sizes(planRollingUpdate(tc.d, newRS, old))
			if len(got)+len(tc.want) > 0 && !slices.Equal(got, tc.want) {
				t.Errorf("plan = %v, want %v", got, tc.want)
			}
		})
	}
}

// simRS is a ReplicaSet in the rollout simulation: its spec and status,
// and the pods it really has (status lags until the ReplicaSet
// controller syncs it).
type simRS struct {
	rs          *appsv1.ReplicaSet
	pods, avail int32
}

// TestRollingUpdateBounds simulates rollouts, the Deployment, ReplicaSet
// controller and pods acting in random order (stale statuses included),
// and checks at every step that pods never exceed replicas+maxSurge and
// available pods never drop below replicas-maxUnavailable, and that the
// rollout completes.
func TestRollingUpdateBounds(t *testing.T) {
	fences := [][2]string{{"25%", "25%"}, {"0", "1"}, {"1", "0"}, {"50%", "0"}, {"0", "100%"}, {"3", "2"}, {"10%", "30%"}}
	for _, n := range []int32{1, 2, 3, 5, 10} {
		for _, f := range fences {
			for seed := range uint64(20) {
				name := fmt.Sprintf("replicas=%d/surge=%s/unavailable=%s/seed=%d", n, f[0], f[1], seed)
				simulateRollout(t, name, deploy(n, f[0], f[1]), rand.New(rand.NewPCG(seed, 7)))
			}
		}
	}
}

func simulateRollout(t *testing.T, name string, d *appsv1.Deployment, rng *rand.Rand) {
	t.Helper()
	n := replicas(d)
	maxPods, minAvail := n+maxSurge(d), n-maxUnavailable(d)
	old := &simRS{rs: rs(d, "old", 10, n, n), pods: n, avail: n}
	cur := &simRS{rs: rs(d, "new", 0, 0, 0)}
	all := []*simRS{old, cur}
	check := func(step int, what string) bool {
		var pods, avail int32
		for _, s := range all {
			pods += s.pods
			avail += s.avail
		}
		if pods > maxPods || avail < minAvail {
			t.Errorf("%s: step %d (%s): %d pods (max %d), %d available (min %d)", name, step, what, pods, maxPods, avail, minAvail)
			return false
		}
		return true
	}
	for step := range 5000 {
		if rsReplicas(cur.rs) == n && cur.rs.Status.AvailableReplicas == n && old.pods == 0 && old.rs.Status.Replicas == 0 {
			return
		}
		var what string
		switch a := rng.IntN(3); a {
		case 0: // the deployment controller takes a step
			what = "deployment"
			for _, s := range planRollingUpdate(d, cur.rs, []*appsv1.ReplicaSet{old.rs}) {
				s.rs.Spec.Replicas = ptr(s.to)
			}
		case 1: // a ReplicaSet controller sync
			s := all[rng.IntN(len(all))]
			what = "replicaset " + s.rs.Name
			want := rsReplicas(s.rs)
			if s.pods > want {
				del := s.pods - want
				s.avail -= del - min(del, s.pods-s.avail) // unavailable pods go first
				s.pods = want
			} else {
				s.pods = want
			}
			s.rs.Status.Replicas, s.rs.Status.AvailableReplicas = s.pods, s.avail
		case 2: // a pod becomes ready
			s := all[rng.IntN(len(all))]
			what = "pod of " + s.rs.Name
			if s.avail < s.pods {
				s.avail++
			}
		}
		if !check(step, what) {
			return
		}
	}
	t.Errorf("%s: rollout did not complete: old %d/%d, new %d/%d", name,
		rsReplicas(old.rs), old.avail, rsReplicas(cur.rs), cur.avail)
}
