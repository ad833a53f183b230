package statefulset

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/gantry-dev/gantry/services/controllers/internal/history"
)

func TestNewRevision(t *testing.T) {
	a := testSet(3, retain, retain)
	a.Annotations = map[string]string{"kubernetes.io/change-cause": "first"}
	data, err := history.TemplatePatch(&a.Spec.Template)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := newRevision(a, data, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	hash := ra.Labels[history.HashLabel]
	ref := metav1.GetControllerOf(ra)
	if hash == "" || ra.Name != "web-"+hash || ra.Namespace != "default" || ra.Revision != 4 || ra.Labels["app"] != "web" ||
		ra.Annotations["kubernetes.io/change-cause"] != "first" || string(ra.Data.Raw) != string(data) ||
		ref == nil || ref.UID != a.UID || ref.Kind != "StatefulSet" {
		t.Errorf("revision %+v", ra)
	}
	if a.Spec.Template.Labels[history.HashLabel] != "" {
		t.Error("newRevision labelled the set's template")
	}
	name := func(set *appsv1.StatefulSet, collisions int32) string {
		r, err := newRevision(set, data, 1, collisions)
		if err != nil {
			t.Fatal(err)
		}
		return r.Name
	}
	// Only the template and the collision count make the name.
	b := a.DeepCopy()
	b.Spec.Replicas = ptr.To[int32](7)
	b.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](1)}
	if name(b, 0) != ra.Name {
		t.Error("scaling changed the revision name")
	}
	c := a.DeepCopy()
	c.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	if name(c, 0) == ra.Name {
		t.Error("a new image kept the revision name")
	}
	if name(a, 1) == ra.Name {
		t.Error("a collision kept the revision name")
	}
}

// revisionController is a Controller with history over a fake API
// server holding revs.
func revisionController(revs ...*appsv1.ControllerRevision) (*Controller, *history.Fake) {
	store, fake := history.NewFake(revs...)
	return &Controller{history: store, log: slog.New(slog.NewTextHandler(io.Discard, nil))}, fake
}

// storedRevision is set's revision of its template with image, as the
// controller would have stored it.
func storedRevision(t *testing.T, set *appsv1.StatefulSet, image string, revision int64) *appsv1.ControllerRevision {
	t.Helper()
	s := set.DeepCopy()
	s.Spec.Template.Spec.Containers[0].Image = image
	data, err := history.TemplatePatch(&s.Spec.Template)
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRevision(s, data, revision, 0)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSyncRevisions(t *testing.T) {
	set := testSet(3, retain, retain)
	set.Spec.Template.Spec.Containers[0].Image = "v2"
	tests := []struct {
		name string
		// history holds revisions of these images, numbered from 1.
		history []string
		// current is the image of status.currentRevision ("" for none).
		current  string
		deleting bool
		calls    string
		// want: the update revision's number, and the current
		// revision's image.
		wantUpdate  int64
		wantCurrent string
	}{
		{name: "first sync creates revision 1", calls: "create", wantUpdate: 1, wantCurrent: "v2"},
		{name: "unchanged template: nothing written", history: []string{"v1", "v2"}, current: "v2", wantUpdate: 2, wantCurrent: "v2"},
		{name: "new template: revision 2, current stays", history: []string{"v1"}, current: "v1", calls: "create",
			wantUpdate: 2, wantCurrent: "v1"},
		{name: "rollback renumbers the old revision", history: []string{"v2", "v3"}, current: "v3", calls: "renumber 3",
			wantUpdate: 3, wantCurrent: "v3"},
		{name: "unknown current revision: the update one", history: []string{"v1"}, current: "gone", calls: "create",
			wantUpdate: 2, wantCurrent: "v2"},
		{name: "a set being deleted writes nothing", history: []string{"v2", "v3"}, current: "v3", deleting: true,
			wantUpdate: 1, wantCurrent: "v3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := set.DeepCopy()
			var revs []*appsv1.ControllerRevision
			for i, image := range tt.history {
				r := storedRevision(t, s, image, int64(i+1))
				revs = append(revs, r)
				if image == tt.current {
					s.Status.CurrentRevision = r.Name
				}
			}
			if tt.current == "gone" {
				s.Status.CurrentRevision = "web-gone"
			}
			if tt.deleting {
				s.DeletionTimestamp = &metav1.Time{}
			}
			c, fake := revisionController(revs...)
			sorted := fake.Revisions()
			r, err := c.syncRevisions(context.Background(), s, sorted)
			if err != nil {
				t.Fatal(err)
			}
			if got := verbs(fake.Calls); got != tt.calls {
				t.Errorf("calls %q, want %q", got, tt.calls)
			}
			if r.update.Revision != tt.wantUpdate || r.currentTemplate.Spec.Containers[0].Image != tt.wantCurrent {
				t.Errorf("update revision %d, current template %s; want %d, %s",
					r.update.Revision, r.currentTemplate.Spec.Containers[0].Image, tt.wantUpdate, tt.wantCurrent)
			}
			if tmpl, err := history.Template(r.update); err != nil || tmpl.Spec.Containers[0].Image != "v2" {
				t.Errorf("update revision's template %v, %v; want v2", tmpl, err)
			}
			if tt.current == "" || tt.current == "gone" {
				if r.current != r.update {
					t.Errorf("current revision %s, want the update revision %s", r.current.Name, r.update.Name)
				}
			}
		})
	}
}

// verbs are the fake's calls without revision names: "create",
// "renumber 3".
func verbs(calls []string) string {
	var out []string
	for _, c := range calls {
		f := strings.Fields(c)
		out = append(out, strings.Join(append(f[:1:1], f[2:]...), " "))
	}
	return strings.Join(out, ";")
}

func TestSyncRevisionsCollision(t *testing.T) {
	set := testSet(3, retain, retain)
	// Another template's revision took the name of this one's.
	squatter := storedRevision(t, set, "other", 1)
	mine, _ := newRevision(set, nil, 0, 0)
	squatter.Name = mine.Name
	c, fake := revisionController(squatter)
	r, err := c.syncRevisions(context.Background(), set, fake.Revisions())
	if err != nil {
		t.Fatal(err)
	}
	next, _ := newRevision(set, nil, 0, 1)
	if r.collisions != 1 || r.update.Name != next.Name || r.update.Revision != 2 {
		t.Errorf("update %s #%d after %d collisions; want %s #2 after 1", r.update.Name, r.update.Revision, r.collisions, next.Name)
	}
}

func TestRevisionsToPrune(t *testing.T) {
	revs := func(n int) []*appsv1.ControllerRevision {
		var out []*appsv1.ControllerRevision
		for i := 1; i <= n; i++ {
			out = append(out, &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "r" + string(rune('0'+i))}, Revision: int64(i)})
		}
		return out
	}
	tests := []struct {
		name  string
		n     int
		live  string
		limit int
		want  string
	}{
		{name: "within the limit", n: 3, live: "r3", limit: 2, want: ""},
		{name: "the oldest go", n: 5, live: "r5", limit: 2, want: "r1,r2"},
		{name: "live ones stay and do not count", n: 5, live: "r1,r4,r5", limit: 1, want: "r2"},
		{name: "limit 0 keeps only live ones", n: 4, live: "r2,r4", limit: 0, want: "r1,r3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := map[string]bool{}
			for _, n := range strings.Split(tt.live, ",") {
				live[n] = true
			}
			var got []string
			for _, r := range revisionsToPrune(revs(tt.n), live, tt.limit) {
				got = append(got, r.Name)
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("pruned %v, want %s", got, tt.want)
			}
		})
	}
}

func TestLiveRevisions(t *testing.T) {
	r := revisions{current: &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "a"}},
		update: &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "b"}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{appsv1.StatefulSetRevisionLabel: "c"}}}
	live := liveRevisions(r, []*corev1.Pod{pod})
	if !live["a"] || !live["b"] || !live["c"] || len(live) != 3 {
		t.Errorf("live %v, want a, b, c", live)
	}
}
