package job

import (
	"slices"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestIntervals(t *testing.T) {
	for _, tc := range []struct {
		name        string
		in          string
		completions int
		add         []int
		want        string
		total       int
	}{
		{name: "empty", in: "", completions: 5, want: "", total: 0},
		{name: "range of three", in: "", completions: 5, add: []int{2, 0, 1}, want: "0-2", total: 3},
		{name: "pair written with a comma", in: "", completions: 5, add: []int{3, 4}, want: "3,4", total: 2},
		{name: "merges adjacent", in: "0,1,5", completions: 10, add: []int{2, 3, 4}, want: "0-5", total: 6},
		{name: "parses ranges", in: "1,3-5,7", completions: 10, want: "1,3-5,7", total: 5},
		{name: "drops indexes past completions", in: "1,3-5,7", completions: 5, want: "1,3,4", total: 3},
		{name: "skips garbage", in: "x,2,4-y", completions: 10, want: "2", total: 1},
		{name: "duplicates counted once", in: "2", completions: 10, add: []int{2, 2}, want: "2", total: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseIntervals(tc.in, tc.completions).with(tc.add...)
			if got.String() != tc.want || got.total() != tc.total {
				t.Errorf("got %q (total %d), want %q (total %d)", got.String(), got.total(), tc.want, tc.total)
			}
		})
	}
}

func TestIntervalsHas(t *testing.T) {
	s := parseIntervals("1,3-5,9", 10)
	for ix, want := range map[int]bool{0: false, 1: true, 2: false, 3: true, 4: true, 5: true, 6: false, 9: true, 10: false} {
		if s.has(ix) != want {
			t.Errorf("has(%d) = %v, want %v", ix, !want, want)
		}
	}
}

func TestPendingIndexes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		succeeded string
		active    []*corev1.Pod
		others    []*corev1.Pod
		failed    bool // podReplacementPolicy Failed
		count     int
		want      []int
	}{
		{name: "fresh job", count: 3, want: []int{0, 1, 2}},
		{name: "count bounds", count: 2, want: []int{0, 1}},
		{name: "skips succeeded and active", succeeded: "0,2", active: pods(pod("a", corev1.PodRunning, withIndex(1))), count: 5, want: []int{3, 4}},
		{name: "terminating pods free their index", others: pods(pod("t", corev1.PodRunning, withIndex(0), deleting)), count: 1, want: []int{0}},
		{name: "unless only failed pods are replaced", failed: true, others: pods(pod("t", corev1.PodRunning, withIndex(0), deleting)), count: 1, want: []int{1}},
		{name: "all done", succeeded: "0-4", count: 2, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := indexedJob(5, 5)
			if tc.failed {
				job.Spec.PodReplacementPolicy = ptrTo(batchv1.Failed)
			}
			all := append(append([]*corev1.Pod{}, tc.active...), tc.others...)
			got := pendingIndexes(job, parseIntervals(tc.succeeded, 5), tc.active, all, tc.count)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDuplicateIndexPods(t *testing.T) {
	job := indexedJob(3, 3)
	older := pod("older", corev1.PodRunning, withIndex(1))
	newer := pod("newer", corev1.PodRunning, withIndex(1))
	newer.CreationTimestamp.Time = t0.Add(1)
	rm, keep := duplicateIndexPods(job, pods(
		pod("a", corev1.PodRunning, withIndex(0)), older, newer,
		pod("none", corev1.PodRunning), pod("big", corev1.PodRunning, withIndex(7)),
	))
	if got := names(rm); !slices.Equal(got, []string{"none", "big", "newer"}) {
		t.Errorf("removed %v, want none, big, newer", got)
	}
	if got := names(keep); !slices.Equal(got, []string{"a", "older"}) {
		t.Errorf("kept %v, want a, older", got)
	}
}
