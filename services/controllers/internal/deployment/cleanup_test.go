package deployment

import (
	"fmt"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestCleanupPlan(t *testing.T) {
	d := deploy(2, "1", "0")
	mk := func(name string, rev int, spec int32) *appsv1.ReplicaSet {
		r := rs(d, name, 100-rev, spec, spec)
		r.Annotations[RevisionAnnotation] = fmt.Sprint(rev)
		return r
	}
	busy := mk("r2", 2, 0)
	busy.Status.Replicas = 1 // pods still terminating
	stale := mk("r3", 3, 0)
	stale.Generation = 2 // status not caught up with the scale-down
	deleting := mk("r0", 0, 0)
	deleting.DeletionTimestamp = &metav1.Time{}
	old := []*appsv1.ReplicaSet{mk("r5", 5, 0), mk("r1", 1, 0), busy, stale, mk("r4", 4, 0), mk("r6", 6, 1), deleting}
	for _, tc := range []struct {
		limit *int32
		want  []string
	}{
		{limit: nil},
		{limit: ptr[int32](10)},
		{limit: ptr[int32](6)},
		{limit: ptr[int32](3), want: []string{"r1"}},             // r1 r2 r3 over; r2 and r3 are not done
		{limit: ptr[int32](1), want: []string{"r1", "r4", "r5"}}, // r6 still has a replica
		{limit: ptr[int32](0), want: []string{"r1", "r4", "r5"}},
	} {
		d.Spec.RevisionHistoryLimit = tc.limit
		var got []string
		for _, r := range cleanupPlan(d, old) {
			got = append(got, r.Name)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("limit %v: cleanup = %v, want %v", tc.limit, got, tc.want)
		}
	}
}

func TestOldPodsRunning(t *testing.T) {
	d := recreate(2)
	newRS := rs(d, "new", 0, 2, 0)
	old := rs(d, "old", 10, 0, 0)
	old.Status.Replicas = 0
	pod := func(phase corev1.PodPhase) *corev1.Pod { return &corev1.Pod{Status: corev1.PodStatus{Phase: phase}} }
	for _, tc := range []struct {
		name   string
		oldRep int32
		pods   map[types.UID][]*corev1.Pod
		want   bool
	}{
		{name: "none", pods: map[types.UID][]*corev1.Pod{old.UID: nil}},
		{name: "old status reports pods", oldRep: 1, want: true},
		{name: "an old pod terminating", pods: map[types.UID][]*corev1.Pod{old.UID: {pod(corev1.PodRunning)}}, want: true},
		{name: "old pods finished", pods: map[types.UID][]*corev1.Pod{old.UID: {pod(corev1.PodSucceeded), pod(corev1.PodFailed)}}},
		{name: "new pods only", pods: map[types.UID][]*corev1.Pod{newRS.UID: {pod(corev1.PodRunning)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old.Status.Replicas = tc.oldRep
			if got := oldPodsRunning(newRS, []*appsv1.ReplicaSet{old}, tc.pods); got != tc.want {
				t.Errorf("oldPodsRunning = %v, want %v", got, tc.want)
			}
		})
	}
}
