package garbagecollector

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestDecide(t *testing.T) {
	owner := func(uid string, s ownerState) classified {
		return classified{ref: metav1.OwnerReference{UID: types.UID(uid), Name: uid}, state: s}
	}
	for _, tc := range []struct {
		name              string
		owners            []classified
		hasDependents     bool
		dependentDeleting bool
		finalizers        []string
		want              plan
	}{
		{name: "no owners: not garbage", want: plan{action: keep}},
		{name: "solid owner", owners: []classified{owner("a", solid)}, want: plan{action: keep}},
		{name: "all owners gone: background", owners: []classified{owner("a", dangling), owner("b", dangling)},
			want: plan{action: deleteObject, policy: metav1.DeletePropagationBackground}},
		{name: "some owners gone: drop their references", owners: []classified{owner("a", solid), owner("b", dangling)},
			want: plan{action: removeRefs, refs: []types.UID{"b"}}},
		{name: "an owner waits in the foreground while another is solid: drop the waiting one",
			owners: []classified{owner("a", waiting), owner("b", solid), owner("c", dangling)},
			want:   plan{action: removeRefs, refs: []types.UID{"a", "c"}}},
		{name: "owner waits, no dependents of its own: background",
			owners: []classified{owner("a", waiting)},
			want:   plan{action: deleteObject, policy: metav1.DeletePropagationBackground}},
		{name: "owner waits and the item has dependents: foreground",
			owners: []classified{owner("a", waiting)}, hasDependents: true,
			want: plan{action: deleteObject, policy: metav1.DeletePropagationForeground}},
		{name: "owner and a dependent both wait: unblock first",
			owners: []classified{owner("a", waiting), owner("b", dangling)}, hasDependents: true, dependentDeleting: true,
			want: plan{action: deleteObject, policy: metav1.DeletePropagationForeground, unblock: true}},
		{name: "the item's own orphan finalizer is honoured", owners: []classified{owner("a", dangling)},
			finalizers: []string{metav1.FinalizerOrphanDependents},
			want:       plan{action: deleteObject, policy: metav1.DeletePropagationOrphan}},
		{name: "the item's own foreground finalizer is honoured", owners: []classified{owner("a", dangling)},
			finalizers: []string{"example.com/x", metav1.FinalizerDeleteDependents},
			want:       plan{action: deleteObject, policy: metav1.DeletePropagationForeground}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decide(tc.owners, tc.hasDependents, tc.dependentDeleting, tc.finalizers)
			if got.action != tc.want.action || got.policy != tc.want.policy || got.unblock != tc.want.unblock ||
				!slices.Equal(got.refs, tc.want.refs) {
				t.Errorf("decide = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestForegroundStep(t *testing.T) {
	dep := func(uid string, blocking, deleting bool) dependentView {
		return dependentView{identity: objectRef{UID: types.UID(uid)}, blocking: blocking, deletingDependents: deleting}
	}
	for _, tc := range []struct {
		name       string
		dependents []dependentView
		wantFinish bool
		wantDelete []types.UID
	}{
		{name: "no dependents: finish", wantFinish: true},
		{name: "only non-blocking dependents: finish", dependents: []dependentView{dep("a", false, false)}, wantFinish: true},
		{name: "blocking dependents are deleted", dependents: []dependentView{dep("a", true, false), dep("b", false, false)},
			wantDelete: []types.UID{"a"}},
		{name: "a blocking dependent already deleting its own waits",
			dependents: []dependentView{dep("a", true, true), dep("b", true, false)}, wantDelete: []types.UID{"b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			finish, toDelete := foregroundStep(tc.dependents)
			var uids []types.UID
			for _, r := range toDelete {
				uids = append(uids, r.UID)
			}
			if finish != tc.wantFinish || !slices.Equal(uids, tc.wantDelete) {
				t.Errorf("foregroundStep = %v, %v; want %v, %v", finish, uids, tc.wantFinish, tc.wantDelete)
			}
		})
	}
}
