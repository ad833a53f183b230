package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
)

func TestOwnerLookups(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	rs := func(name, uid string, sel map[string]string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(uid)},
			Spec:       appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: sel}},
		}
	}
	for _, r := range []*appsv1.ReplicaSet{rs("web", "u1", map[string]string{"app": "web"}), rs("all", "u2", nil), rs("db", "u3", map[string]string{"app": "db"})} {
		if err := idx.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	lister := listers.New[*appsv1.ReplicaSet](idx, schema.GroupResource{Group: "apps", Resource: "replicasets"})
	gvk := appsv1.SchemeGroupVersion.WithKind("ReplicaSet")

	for _, tc := range []struct {
		name string
		ref  *metav1.OwnerReference
		want string
	}{
		{"found", &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "u1"}, "web"},
		{"namesake with another uid", &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "old"}, ""},
		{"other kind", &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "u1"}, ""},
		{"missing", &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "gone", UID: "u9"}, ""},
		{"no reference", nil, ""},
	} {
		got, ok := ResolveControllerRef(lister, gvk, "ns", tc.ref)
		if name := nameOf(got, ok); name != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, name, tc.want)
		}
	}

	sel := func(r *appsv1.ReplicaSet) *metav1.LabelSelector { return r.Spec.Selector }
	if got := Selecting(lister, "ns", map[string]string{"app": "web", "x": "y"}, sel); len(got) != 1 || got[0].Name != "web" {
		t.Errorf("selecting app=web: %v", got)
	}
	if got := Selecting(lister, "ns", nil, sel); len(got) != 0 {
		t.Errorf("an object without labels is selected by %d (an empty selector selects nothing)", len(got))
	}
	if got := Selecting(lister, "other", map[string]string{"app": "web"}, sel); len(got) != 0 {
		t.Errorf("selected across namespaces: %v", got)
	}

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	if p, ok := Deleted[*corev1.Pod](pod); !ok || p != pod {
		t.Error("a plain object is not returned")
	}
	if p, ok := Deleted[*corev1.Pod](cache.DeletedFinalStateUnknown{Key: "ns/p", Obj: pod}); !ok || p != pod {
		t.Error("a tombstone's object is not returned")
	}
	if _, ok := Deleted[*corev1.Pod](cache.DeletedFinalStateUnknown{Key: "ns/x", Obj: &corev1.Node{}}); ok {
		t.Error("a tombstone of another type accepted")
	}
}

func nameOf(r *appsv1.ReplicaSet, ok bool) string {
	if !ok {
		return ""
	}
	return r.Name
}
