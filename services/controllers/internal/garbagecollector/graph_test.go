package garbagecollector

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var (
	rsKind  = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	podKind = corev1.SchemeGroupVersion.WithKind("Pod")
)

func ownerRef(kind schema.GroupVersionKind, name, uid string, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: kind.GroupVersion().String(), Kind: kind.Kind, Name: name,
		UID: types.UID(uid), BlockOwnerDeletion: &block}
}

// obj is an object's state in an event.
type obj struct {
	kind       schema.GroupVersionKind
	ns, name   string
	uid        string
	owners     []metav1.OwnerReference
	finalizers []string
	deleting   bool
}

func (o obj) meta() objectMeta {
	return objectMeta{uid: types.UID(o.uid), name: o.name, namespace: o.ns, owners: o.owners,
		finalizers: o.finalizers, beingDeleted: o.deleting}
}

func added(o obj) *event { return &event{typ: addEvent, gvk: o.kind, obj: o.meta()} }

func updated(old, cur obj) *event {
	m := old.meta()
	return &event{typ: updateEvent, gvk: cur.kind, obj: cur.meta(), old: &m}
}

func deleted(o obj) *event { return &event{typ: deleteEvent, gvk: o.kind, obj: o.meta()} }

func uids(s ...string) []types.UID {
	out := make([]types.UID, len(s))
	for i, x := range s {
		out[i] = types.UID(x)
	}
	return out
}

func sorted(u []types.UID) []types.UID {
	u = slices.Clone(u)
	slices.Sort(u)
	return slices.Compact(u)
}

func TestGraph(t *testing.T) {
	rs := obj{kind: rsKind, ns: "ns", name: "web", uid: "rs"}
	pod := obj{kind: podKind, ns: "ns", name: "web-1", uid: "pod", owners: []metav1.OwnerReference{ownerRef(rsKind, "web", "rs", true)}}
	pod2 := obj{kind: podKind, ns: "ns", name: "web-2", uid: "pod2", owners: []metav1.OwnerReference{ownerRef(rsKind, "web", "rs", false)}}

	type step struct {
		ev         *event
		wantDelete []types.UID
		wantOrphan []types.UID
		wantAbsent []types.UID
		check      func(t *testing.T, g *graph)
	}
	foreground := rs
	foreground.deleting, foreground.finalizers = true, []string{metav1.FinalizerDeleteDependents}
	orphaning := rs
	orphaning.deleting, orphaning.finalizers = true, []string{metav1.FinalizerOrphanDependents}
	unblocked := pod
	unblocked.owners = []metav1.OwnerReference{ownerRef(rsKind, "web", "rs", false)}
	released := pod
	released.owners = nil
	otherNS := obj{kind: podKind, ns: "elsewhere", name: "x", uid: "x", owners: []metav1.OwnerReference{ownerRef(rsKind, "web", "rs", false)}}
	misnamed := obj{kind: podKind, ns: "ns", name: "y", uid: "y", owners: []metav1.OwnerReference{ownerRef(rsKind, "other", "rs", false)}}

	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{name: "dependent first: a virtual owner, checked, then observed", steps: []step{
			{ev: added(pod), wantDelete: uids("rs"), check: func(t *testing.T, g *graph) {
				v, ok := g.view("rs")
				if !ok || v.observed || len(v.dependents) != 1 || !v.dependents[0].blocking {
					t.Errorf("virtual owner %+v, %v", v, ok)
				}
			}},
			{ev: added(rs), check: func(t *testing.T, g *graph) {
				if v, _ := g.view("rs"); !v.observed || v.identity.Name != "web" {
					t.Errorf("owner after its add %+v", v)
				}
			}},
		}},
		{name: "owner deleted: dependents checked, owner remembered absent", steps: []step{
			{ev: added(rs)},
			{ev: added(pod)},
			{ev: added(pod2)},
			{ev: deleted(rs), wantDelete: uids("pod", "pod2"), wantAbsent: uids("rs"), check: func(t *testing.T, g *graph) {
				if _, ok := g.view("rs"); ok {
					t.Error("deleted owner still in the graph")
				}
			}},
		}},
		{name: "foreground: dependents and owner checked; a dependent's deletion wakes the owner", steps: []step{
			{ev: added(rs)},
			{ev: added(pod)},
			{ev: updated(rs, foreground), wantDelete: uids("pod", "rs"), check: func(t *testing.T, g *graph) {
				if v, _ := g.view("rs"); !v.deletingDependents || !v.beingDeleted {
					t.Errorf("owner %+v", v)
				}
			}},
			{ev: updated(foreground, foreground)}, // no transition: nothing
			{ev: deleted(pod), wantDelete: uids("rs"), check: func(t *testing.T, g *graph) {
				if v, _ := g.view("rs"); len(v.dependents) != 0 {
					t.Errorf("owner still has dependents %+v", v.dependents)
				}
			}},
		}},
		{name: "owner first seen already deleting in the foreground", steps: []step{
			{ev: added(foreground), wantDelete: uids("rs")},
		}},
		{name: "orphan finalizer: the owner goes to attemptToOrphan", steps: []step{
			{ev: added(rs)},
			{ev: added(pod)},
			{ev: updated(rs, orphaning), wantOrphan: uids("rs")},
		}},
		{name: "a blocking reference going away wakes the owner", steps: []step{
			{ev: added(rs)},
			{ev: added(pod)},
			{ev: updated(pod, unblocked), wantDelete: uids("rs"), check: func(t *testing.T, g *graph) {
				if v, _ := g.view("rs"); len(v.dependents) != 1 || v.dependents[0].blocking {
					t.Errorf("dependents %+v", v.dependents)
				}
			}},
			{ev: updated(unblocked, released), check: func(t *testing.T, g *graph) {
				if v, _ := g.view("rs"); len(v.dependents) != 0 {
					t.Errorf("released dependent still listed: %+v", v.dependents)
				}
			}},
		}},
		{name: "virtual owner found absent: removed, dependents checked", steps: []step{
			{ev: added(pod), wantDelete: uids("rs")},
			{ev: &event{typ: deleteEvent, virtual: true, gvk: rsKind, obj: objectMeta{uid: "rs", name: "web", namespace: "ns"}},
				wantDelete: uids("pod"), wantAbsent: uids("rs"), check: func(t *testing.T, g *graph) {
					if _, ok := g.view("rs"); ok {
						t.Error("absent virtual owner still in the graph")
					}
				}},
		}},
		{name: "virtual delete under other coordinates keeps the node", steps: []step{
			{ev: added(rs)},
			{ev: added(pod)},
			{ev: &event{typ: deleteEvent, virtual: true, gvk: rsKind, obj: objectMeta{uid: "rs", name: "gone", namespace: "ns"}},
				check: func(t *testing.T, g *graph) {
					if _, ok := g.view("rs"); !ok {
						t.Error("real owner removed by a mismatching virtual delete")
					}
				}},
		}},
		{name: "an owner in another namespace, or named otherwise, has the dependent checked", steps: []step{
			{ev: added(rs)},
			{ev: added(otherNS), wantDelete: uids("x")},
			{ev: added(misnamed), wantDelete: uids("y")},
		}},
		{name: "delete of an object never seen is ignored", steps: []step{
			{ev: deleted(pod)},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph()
			for i, s := range tc.steps {
				out := g.process(s.ev)
				var absent []types.UID
				for _, r := range out.absent {
					absent = append(absent, r.UID)
				}
				if got := sorted(out.attemptToDelete); !slices.Equal(got, sorted(s.wantDelete)) {
					t.Errorf("step %d: attemptToDelete %v, want %v", i, got, s.wantDelete)
				}
				if got := sorted(out.attemptToOrphan); !slices.Equal(got, sorted(s.wantOrphan)) {
					t.Errorf("step %d: attemptToOrphan %v, want %v", i, got, s.wantOrphan)
				}
				if got := sorted(absent); !slices.Equal(got, sorted(s.wantAbsent)) {
					t.Errorf("step %d: absent %v, want %v", i, got, s.wantAbsent)
				}
				if s.check != nil {
					s.check(t, g)
				}
			}
		})
	}
}

func TestReferencesDiffs(t *testing.T) {
	a := ownerRef(rsKind, "a", "a", true)
	b := ownerRef(rsKind, "b", "b", false)
	a2 := ownerRef(rsKind, "a", "a", false)
	c := ownerRef(rsKind, "c", "c", false)
	added, removed, changed := referencesDiffs([]metav1.OwnerReference{a, b}, []metav1.OwnerReference{a2, c})
	if len(added) != 1 || added[0].UID != "c" || len(removed) != 1 || removed[0].UID != "b" ||
		len(changed) != 1 || changed[0].old.UID != "a" || !blocking(changed[0].old) || blocking(changed[0].new) {
		t.Errorf("added %v removed %v changed %v", added, removed, changed)
	}
}
