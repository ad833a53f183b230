package history

import (
	"context"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

var setKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

func owner() *appsv1.StatefulSet {
	return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "set-uid"}}
}

func stored(name string, revision int64, data string, lbls map[string]string, ref *metav1.OwnerReference) *appsv1.ControllerRevision {
	r := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: lbls},
		Data:       runtimeRaw([]byte(data)), Revision: revision,
	}
	if ref != nil {
		r.OwnerReferences = []metav1.OwnerReference{*ref}
	}
	return r
}

func TestCreateUnique(t *testing.T) {
	ctx := context.Background()
	web := map[string]string{"app": "web"}
	s, f := NewFake(stored("web-h0", 1, `{"a":1}`, web, nil), stored("web-h1", 1, `{"a":2}`, web, nil))
	build := func(data string) func(int32) (*appsv1.ControllerRevision, error) {
		return func(collisions int32) (*appsv1.ControllerRevision, error) {
			return New(owner(), setKind, Name("web", "h"+string(rune('0'+collisions))), web, nil, []byte(data), 2), nil
		}
	}

	// web-h0 and web-h1 hold other data: two collisions, then web-h2.
	collisions := int32(0)
	got, err := s.CreateUnique(ctx, &collisions, build(`{"a":3}`))
	if err != nil || got.Name != "web-h2" || collisions != 2 {
		t.Errorf("created %v (collisions %d, err %v), want web-h2 after 2 collisions", got, collisions, err)
	}
	// A name taken by the same data is that revision.
	collisions = 1
	f.Calls = nil
	got, err = s.CreateUnique(ctx, &collisions, build(`{ "a": 2 }`))
	if err != nil || got.Name != "web-h1" || got.Revision != 1 || collisions != 1 {
		t.Errorf("got %v (collisions %d, err %v), want the existing web-h1", got, collisions, err)
	}
	if strings.Join(f.Calls, ";") != "create web-h1" {
		t.Errorf("calls %v", f.Calls)
	}
	// A build error stops it.
	boom := errors.New("boom")
	if _, err := s.CreateUnique(ctx, &collisions, func(int32) (*appsv1.ControllerRevision, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("err %v, want boom", err)
	}
}

func TestRenumber(t *testing.T) {
	ctx := context.Background()
	s, f := NewFake(stored("web-a", 1, `{}`, nil, nil))
	stale := f.Revisions()[0]
	if _, err := s.Renumber(ctx, stale, 2); err != nil {
		t.Fatal(err)
	}
	// stale's resourceVersion is out of date now: the conflict is
	// retried on a fresh copy.
	got, err := s.Renumber(ctx, stale, 5)
	if err != nil || got.Revision != 5 {
		t.Fatalf("renumbered %v, %v; want 5", got, err)
	}
	if want := "renumber web-a 2;renumber web-a 5;renumber web-a 5"; strings.Join(f.Calls, ";") != want {
		t.Errorf("calls %v, want %s", f.Calls, want)
	}
	// Already there: nothing written.
	f.Calls = nil
	if _, err := s.Renumber(ctx, got, 5); err != nil || len(f.Calls) != 0 {
		t.Errorf("calls %v, err %v", f.Calls, err)
	}
}

func TestDeleteChecksUID(t *testing.T) {
	ctx := context.Background()
	s, f := NewFake(stored("web-a", 1, `{}`, nil, nil))
	other := f.Revisions()[0]
	other.UID = "someone-else"
	if err := s.Delete(ctx, other); err != nil || len(f.Revisions()) != 1 {
		t.Errorf("delete of a namesake: err %v, %d left", err, len(f.Revisions()))
	}
	if err := s.Delete(ctx, f.Revisions()[0]); err != nil || len(f.Revisions()) != 0 {
		t.Errorf("delete: err %v, %d left", err, len(f.Revisions()))
	}
	if err := s.Delete(ctx, other); err != nil {
		t.Errorf("delete of a gone revision: %v", err)
	}
}

func TestClaim(t *testing.T) {
	ctx := context.Background()
	web, api := map[string]string{"app": "web"}, map[string]string{"app": "api"}
	mine := metav1.NewControllerRef(owner(), setKind)
	theirs := &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "other", UID: "other-uid", Controller: new(true)}
	s, f := NewFake(
		stored("web-owned", 1, `{}`, web, mine),
		stored("web-orphan", 2, `{}`, web, nil),
		stored("api-orphan", 1, `{}`, api, nil),
		stored("web-theirs", 1, `{}`, web, theirs),
		stored("web-relabelled", 3, `{}`, api, mine),
	)
	other := stored("web-elsewhere", 1, `{}`, web, nil)
	other.Namespace = "other"
	if err := f.idx.Add(other); err != nil {
		t.Fatal(err)
	}
	asked := 0
	got, err := s.Claim(ctx, owner(), setKind, labels.SelectorFromSet(web), func(context.Context) error { asked++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	Sort(got)
	if names(got) != "web-owned,web-orphan" {
		t.Errorf("claimed %s, want web-owned,web-orphan", names(got))
	}
	for _, r := range f.Revisions() {
		ref := metav1.GetControllerOf(r)
		owned := ref != nil && ref.UID == types.UID("set-uid")
		if want := r.Name == "web-owned" || r.Name == "web-orphan"; owned != want {
			t.Errorf("%s owned by the set: %v, want %v", r.Name, owned, want)
		}
	}
	if asked != 1 {
		t.Errorf("owner rechecked %d times, want once", asked)
	}
}
