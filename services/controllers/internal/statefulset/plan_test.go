package statefulset

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var now = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// podState is a test pod's condition.
type podState int

const (
	ready       podState = iota // Running and Ready (for an hour)
	pending                     // Pending
	notReady                    // Running, not Ready
	terminating                 // Running and Ready, being deleted
	failed                      // Failed
	succeeded                   // Succeeded
	justReady                   // Running and Ready since now
)

// tpod is a pod "web-<ord>" at revision rev in state st.
func tpod(ord int, rev string, st podState) *corev1.Pod {
	name := "web-" + strconv.Itoa(ord)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "default", UID: types.UID("uid-" + name),
			Labels: map[string]string{
				appsv1.StatefulSetPodNameLabel:  name,
				appsv1.PodIndexLabel:            strconv.Itoa(ord),
				appsv1.StatefulSetRevisionLabel: rev,
			},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	readySince := metav1.NewTime(now.Add(-time.Hour))
	cond := corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: readySince}
	switch st {
	case pending:
		pod.Status.Phase = corev1.PodPending
		cond.Status = corev1.ConditionFalse
	case notReady:
		cond.Status = corev1.ConditionFalse
	case terminating:
		pod.DeletionTimestamp = &readySince
	case failed:
		pod.Status.Phase = corev1.PodFailed
		cond.Status = corev1.ConditionFalse
	case succeeded:
		pod.Status.Phase = corev1.PodSucceeded
		cond.Status = corev1.ConditionFalse
	case justReady:
		cond.LastTransitionTime = metav1.NewTime(now)
	}
	pod.Status.Conditions = []corev1.PodCondition{cond}
	return pod
}

func pods(ps ...*corev1.Pod) []*corev1.Pod { return ps }

// readyAt returns n ready pods from ordinal 0 at rev.
func readyAt(n int, rev string) []*corev1.Pod {
	var out []*corev1.Pod
	for i := range n {
		out = append(out, tpod(i, rev, ready))
	}
	return out
}

func ordered(n int) view {
	return view{Name: "web", Replicas: n, MaxUnavailable: 1, CurrentRevision: "a", UpdateRevision: "a"}
}

func parallel(n int) view {
	v := ordered(n)
	v.Parallel = true
	return v
}

func with(v view, f func(*view)) view {
	f(&v)
	return v
}

func TestPlan(t *testing.T) {
	update := func(v *view) { v.UpdateRevision = "b" }
	tests := []struct {
		name    string
		v       view
		pods    []*corev1.Pod
		want    []string
		waiting string
	}{
		{name: "ordered: first pod", v: ordered(3),
			want: []string{"create 0@a"}, waiting: "web-0 to be created"},
		{name: "ordered: waits for web-0 to be ready", v: ordered(3), pods: pods(tpod(0, "a", pending)),
			want: nil, waiting: "web-0 to be Running and Ready"},
		{name: "ordered: running but not ready", v: ordered(3), pods: pods(tpod(0, "a", notReady)),
			waiting: "web-0 to be Running and Ready"},
		{name: "ordered: next once ready", v: ordered(3), pods: readyAt(1, "a"),
			want: []string{"create 1@a"}, waiting: "web-1 to be created"},
		{name: "ordered: fills the gap first", v: ordered(3), pods: pods(tpod(0, "a", ready), tpod(2, "a", ready)),
			want: []string{"create 1@a"}},
		{name: "ordered: minReadySeconds", v: with(ordered(3), func(v *view) { v.MinReady = 10 * time.Second }),
			pods: pods(tpod(0, "a", justReady)), waiting: "web-0 to be available"},
		{name: "ordered: terminating pod blocks", v: ordered(3), pods: pods(tpod(0, "a", terminating)),
			waiting: "web-0 to terminate"},
		{name: "ordered: failed pod is deleted", v: ordered(3), pods: pods(tpod(0, "a", failed), tpod(1, "a", ready)),
			want: []string{"delete web-0 (finished)"}, waiting: "web-0 to be replaced"},
		{name: "ordered: succeeded pod is deleted", v: ordered(1), pods: pods(tpod(0, "a", succeeded)),
			want: []string{"delete web-0 (finished)"}},
		{name: "ordered: failed pod being deleted waits", v: ordered(1),
			pods:    pods(func() *corev1.Pod { p := tpod(0, "a", failed); p.DeletionTimestamp = &metav1.Time{Time: now}; return p }()),
			waiting: "web-0 to be replaced"},
		{name: "ordered: steady", v: ordered(3), pods: readyAt(3, "a")},
		{name: "ordered: relabels a pod that lost its identity label", v: ordered(1),
			pods: pods(func() *corev1.Pod { p := tpod(0, "a", ready); delete(p.Labels, appsv1.PodIndexLabel); return p }()),
			want: []string{"relabel web-0"}},

		{name: "ordered: scale down from the top", v: ordered(2), pods: readyAt(4, "a"),
			want: []string{"delete web-3 (scale down)"}, waiting: "web-3 to terminate"},
		{name: "ordered: scale down waits for termination", v: ordered(2),
			pods:    pods(tpod(0, "a", ready), tpod(1, "a", ready), tpod(2, "a", ready), tpod(3, "a", terminating)),
			waiting: "web-3 to terminate"},
		{name: "ordered: no scale down while a replica is unhealthy", v: ordered(2),
			pods:    pods(tpod(0, "a", ready), tpod(1, "a", notReady), tpod(2, "a", ready)),
			waiting: "web-1 to be Running and Ready"},
		{name: "ordered: the first unhealthy condemned pod may go", v: ordered(2),
			pods: pods(tpod(0, "a", ready), tpod(1, "a", ready), tpod(2, "a", notReady)),
			want: []string{"delete web-2 (scale down)"}},
		{name: "ordered: a higher unhealthy pod waits for a lower one", v: ordered(1),
			pods:    pods(tpod(0, "a", ready), tpod(1, "a", notReady), tpod(2, "a", notReady)),
			waiting: "web-1 to be Running and Ready before scaling down"},
		{name: "ordered: scale to zero", v: ordered(0), pods: readyAt(2, "a"),
			want: []string{"delete web-1 (scale down)"}},

		{name: "parallel: creates all", v: parallel(3),
			want: []string{"create 0@a", "create 1@a", "create 2@a"}},
		{name: "parallel: does not wait for readiness", v: parallel(3), pods: pods(tpod(0, "a", pending)),
			want: []string{"create 1@a", "create 2@a"}},
		{name: "parallel: replaces a failed pod and goes on", v: parallel(2), pods: pods(tpod(0, "a", failed)),
			want: []string{"delete web-0 (finished)", "create 1@a"}},
		{name: "parallel: scales down all at once", v: parallel(1),
			pods: pods(tpod(0, "a", ready), tpod(1, "a", notReady), tpod(2, "a", terminating), tpod(3, "a", ready)),
			want: []string{"delete web-3 (scale down)", "delete web-1 (scale down)"}},

		{name: "start ordinal", v: with(ordered(2), func(v *view) { v.Start = 5 }),
			pods: pods(tpod(0, "a", ready), tpod(5, "a", ready)),
			want: []string{"create 6@a"}},
		{name: "start ordinal: pods below it are condemned", v: with(ordered(2), func(v *view) { v.Start = 5 }),
			pods: pods(tpod(0, "a", ready), tpod(5, "a", ready), tpod(6, "a", ready)),
			want: []string{"delete web-0 (scale down)"}},

		{name: "rolling update: highest ordinal first", v: with(ordered(3), update), pods: readyAt(3, "a"),
			want: []string{"delete web-2 (update)"}},
		{name: "rolling update: next after the updated pod is ready", v: with(ordered(3), update),
			pods: pods(tpod(0, "a", ready), tpod(1, "a", ready), tpod(2, "b", ready)),
			want: []string{"delete web-1 (update)"}},
		{name: "rolling update: waits for the updated pod", v: with(ordered(3), update),
			pods:    pods(tpod(0, "a", ready), tpod(1, "a", ready), tpod(2, "b", pending)),
			waiting: "web-2 to be Running and Ready"},
		{name: "rolling update: re-creates the deleted pod at the update revision", v: with(ordered(3), update),
			pods: pods(tpod(0, "a", ready), tpod(1, "a", ready)),
			want: []string{"create 2@b"}},
		{name: "rolling update: partition", v: with(ordered(3), func(v *view) { update(v); v.Partition = 2; v.CurrentBelow = 2 }),
			pods: pods(tpod(0, "a", ready), tpod(1, "a", ready), tpod(2, "b", ready))},
		{name: "rolling update: below the partition pods come back at the current revision",
			v:    with(ordered(3), func(v *view) { update(v); v.Partition = 2; v.CurrentBelow = 2 }),
			pods: pods(tpod(1, "a", ready), tpod(2, "b", ready)),
			want: []string{"create 0@a"}},
		{name: "rolling update: partition beyond replicas updates nothing",
			v:    with(ordered(3), func(v *view) { update(v); v.Partition = 5; v.CurrentBelow = 5 }),
			pods: readyAt(3, "a")},
		{name: "rolling update: maxUnavailable", v: with(parallel(4), func(v *view) { update(v); v.MaxUnavailable = 2 }),
			pods: readyAt(4, "a"),
			want: []string{"delete web-3 (update)", "delete web-2 (update)"}},
		{name: "rolling update: maxUnavailable counts unavailable pods", v: with(parallel(4), func(v *view) { update(v); v.MaxUnavailable = 2 }),
			pods: pods(tpod(0, "a", ready), tpod(1, "a", ready), tpod(2, "a", ready), tpod(3, "b", pending)),
			want: []string{"delete web-2 (update)"}},
		{name: "rolling update: parallel waits within maxUnavailable", v: with(parallel(3), update),
			pods:    pods(tpod(0, "a", ready), tpod(1, "a", ready), tpod(2, "b", pending)),
			waiting: "1 unavailable pods before updating web-1"},
		{name: "rolling update: scaling comes first", v: with(ordered(2), update), pods: readyAt(3, "a"),
			want: []string{"delete web-2 (scale down)"}},
		{name: "on delete: nothing is replaced", v: with(ordered(2), func(v *view) { update(v); v.OnDelete = true }),
			pods: readyAt(2, "a")},
		{name: "on delete: a deleted pod comes back at the update revision",
			v:    with(ordered(2), func(v *view) { update(v); v.OnDelete = true; v.CurrentBelow = 2 }),
			pods: pods(tpod(1, "a", ready)),
			want: []string{"create 0@b"}},

		{name: "claims: pending pods get their claims, ready ones their owners", v: with(ordered(3), func(v *view) { v.HasClaims = true }),
			pods: pods(tpod(0, "a", ready), tpod(1, "a", pending)),
			want: []string{"claim owners web-0", "claims web-1"}},
		{name: "claims: condemned pods' claims before the scale down", v: with(ordered(1), func(v *view) { v.HasClaims = true }),
			pods: readyAt(3, "a"),
			want: []string{"claim owners web-0", "claim owners web-2", "claim owners web-1", "delete web-2 (scale down)"}},

		{name: "deleting: nothing", v: with(ordered(3), func(v *view) { v.Deleting = true }), pods: readyAt(1, "a")},
		{name: "pods without an ordinal are ignored", v: ordered(1),
			pods: pods(tpod(0, "a", ready), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-x"}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan(tt.v, tt.pods, now)
			var got []string
			for _, s := range p.Steps() {
				got = append(got, s.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("steps = %q, want %q", got, tt.want)
			}
			if tt.waiting != "" && p.Waiting != tt.waiting {
				t.Errorf("waiting = %q, want %q", p.Waiting, tt.waiting)
			}
		})
	}
}

func TestPlanRecheckAfter(t *testing.T) {
	v := with(ordered(2), func(v *view) { v.MinReady = 10 * time.Second })
	p := plan(v, pods(tpod(0, "a", justReady)), now)
	if p.RecheckAfter != 10*time.Second {
		t.Errorf("RecheckAfter = %v, want 10s", p.RecheckAfter)
	}
	p = plan(v, readyAt(1, "a"), now)
	if p.RecheckAfter != 0 {
		t.Errorf("RecheckAfter = %v for an available pod, want 0", p.RecheckAfter)
	}
}

// TestPlanOrderedReadyInvariant drives plan as the cluster would (pods
// become ready only when the test says so) and checks that no pod is ever
// created while a lower ordinal is not Running and Ready, and that scale
// down removes pods from the highest ordinal, one at a time.
func TestPlanOrderedReadyInvariant(t *testing.T) {
	state := map[int]*corev1.Pod{}
	list := func() []*corev1.Pod {
		var out []*corev1.Pod
		for _, p := range state {
			out = append(out, p)
		}
		return out
	}
	var created []int
	for range 20 {
		p := plan(ordered(4), list(), now)
		for _, s := range p.Steps() {
			if s.Kind != createPod {
				t.Fatalf("unexpected step %v", s)
			}
			for lower := range s.Ordinal {
				if pod := state[lower]; pod == nil || !isRunningAndReady(pod) {
					t.Fatalf("creates %d while %d is not ready", s.Ordinal, lower)
				}
			}
			created = append(created, s.Ordinal)
			state[s.Ordinal] = tpod(s.Ordinal, "a", pending)
		}
		// The cluster makes pending pods ready, one per round.
		for ord := range 4 {
			if pod := state[ord]; pod != nil && !isRunningAndReady(pod) {
				state[ord] = tpod(ord, "a", ready)
				break
			}
		}
	}
	if !reflect.DeepEqual(created, []int{0, 1, 2, 3}) {
		t.Fatalf("created %v, want [0 1 2 3]", created)
	}
	var deleted []int
	for range 20 {
		p := plan(ordered(1), list(), now)
		for _, s := range p.Steps() {
			if s.Kind != deletePod {
				t.Fatalf("unexpected step %v", s)
			}
			ord := ordinalOf(s.Pod)
			for higher := ord + 1; higher < 4; higher++ {
				if state[higher] != nil {
					t.Fatalf("deletes %d while %d exists", ord, higher)
				}
			}
			deleted = append(deleted, ord)
			state[ord] = tpod(ord, "a", terminating)
		}
		// The cluster finishes terminations.
		for ord, pod := range state {
			if isTerminating(pod) {
				delete(state, ord)
			}
		}
	}
	if !reflect.DeepEqual(deleted, []int{3, 2, 1}) {
		t.Fatalf("deleted %v, want [3 2 1]", deleted)
	}
}
