package daemonset

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
	ds := daemonSet()
	ds.Annotations = map[string]string{appsv1.DeprecatedTemplateGeneration: "3"}
	data, err := history.TemplatePatch(&ds.Spec.Template)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := newRevision(ds, data, 2)
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := templateHash(&ds.Spec.Template, nil)
	ref := metav1.GetControllerOf(rev)
	if rev.Name != "ds-"+hash || revisionHash(rev) != hash || rev.Labels["app"] != "d" || rev.Namespace != "ns" ||
		rev.Revision != 2 || rev.Annotations[appsv1.DeprecatedTemplateGeneration] != "3" ||
		ref == nil || ref.UID != ds.UID || ref.Kind != "DaemonSet" {
		t.Errorf("revision %+v", rev)
	}
	ds.Status.CollisionCount = ptr.To[int32](1)
	if again, _ := newRevision(ds, data, 2); again.Name == rev.Name {
		t.Error("a collision count kept the name")
	}
}

func dsRevision(t *testing.T, image string, revision int64) *appsv1.ControllerRevision {
	t.Helper()
	ds := daemonSet()
	ds.Spec.Template.Spec.Containers[0].Image = image
	data, err := history.TemplatePatch(&ds.Spec.Template)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := newRevision(ds, data, revision)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func TestConstructHistory(t *testing.T) {
	tests := []struct {
		name    string
		history []*appsv1.ControllerRevision
		image   string
		// calls are the fake's calls without names.
		calls string
		// want: the current revision's number and image, and the old
		// revisions' images.
		wantRevision int64
		wantOld      string
	}{
		{name: "first revision", image: "v1", calls: "create", wantRevision: 1},
		{name: "unchanged", history: []*appsv1.ControllerRevision{dsRevision(t, "v1", 1)}, image: "v1", wantRevision: 1},
		{name: "update", history: []*appsv1.ControllerRevision{dsRevision(t, "v1", 1)}, image: "v2", calls: "create",
			wantRevision: 2, wantOld: "v1"},
		{name: "rollback renumbers", history: []*appsv1.ControllerRevision{dsRevision(t, "v1", 1), dsRevision(t, "v2", 2)},
			image: "v1", calls: "renumber 3", wantRevision: 3, wantOld: "v2"},
		{name: "a duplicate is deleted", history: []*appsv1.ControllerRevision{
			func() *appsv1.ControllerRevision {
				r := dsRevision(t, "v1", 1)
				r.Name, r.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = "ds-older", "older"
				return r
			}(), dsRevision(t, "v2", 2), dsRevision(t, "v1", 3)},
			image: "v1", calls: "delete", wantRevision: 3, wantOld: "v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, fake := history.NewFake(tt.history...)
			dsc := &Controller{history: store, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			ds := daemonSet()
			ds.Spec.Template.Spec.Containers[0].Image = tt.image
			cur, old, err := dsc.constructHistory(context.Background(), ds, nodePods{})
			if err != nil {
				t.Fatal(err)
			}
			if got := verbs(fake.Calls); got != tt.calls {
				t.Errorf("calls %q, want %q", got, tt.calls)
			}
			tmpl, err := history.Template(cur)
			if err != nil || tmpl.Spec.Containers[0].Image != tt.image || cur.Revision != tt.wantRevision {
				t.Errorf("current revision #%d %v (%v), want #%d of %s", cur.Revision, tmpl, err, tt.wantRevision, tt.image)
			}
			var images []string
			for _, r := range old {
				tmpl, err := history.Template(r)
				if err != nil {
					t.Fatal(err)
				}
				images = append(images, tmpl.Spec.Containers[0].Image)
			}
			if strings.Join(images, ",") != tt.wantOld {
				t.Errorf("old revisions %v, want %s", images, tt.wantOld)
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

func TestRevisionsToPrune(t *testing.T) {
	old := func(hashes ...string) []*appsv1.ControllerRevision {
		var out []*appsv1.ControllerRevision
		for i, h := range hashes {
			out = append(out, &appsv1.ControllerRevision{
				ObjectMeta: metav1.ObjectMeta{Name: "ds-" + h, Labels: map[string]string{appsv1.DefaultDaemonSetUniqueLabelKey: h}},
				Revision:   int64(i + 1)})
		}
		return out
	}
	tests := []struct {
		name  string
		old   []*appsv1.ControllerRevision
		live  string
		limit int
		want  string
	}{
		{name: "within the limit", old: old("a", "b"), limit: 2},
		{name: "the oldest go", old: old("a", "b", "c", "d"), limit: 2, want: "ds-a,ds-b"},
		{name: "revisions of running pods stay, yet count", old: old("a", "b", "c", "d"), live: "a", limit: 2, want: "ds-b,ds-c"},
		{name: "all live: none go", old: old("a", "b"), live: "a,b", limit: 0},
		{name: "limit 0", old: old("a", "b"), limit: 0, want: "ds-a,ds-b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := map[string]bool{}
			for _, h := range strings.Split(tt.live, ",") {
				live[h] = h != ""
			}
			var got []string
			for _, r := range revisionsToPrune(tt.old, live, tt.limit) {
				got = append(got, r.Name)
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("pruned %v, want %s", got, tt.want)
			}
		})
	}
}

func TestCleanupHistoryKeepsLiveRevisions(t *testing.T) {
	revs := []*appsv1.ControllerRevision{dsRevision(t, "v1", 1), dsRevision(t, "v2", 2), dsRevision(t, "v3", 3)}
	store, fake := history.NewFake(revs...)
	dsc := &Controller{history: store, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ds := daemonSet()
	ds.Spec.RevisionHistoryLimit = ptr.To[int32](0)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{
		appsv1.DefaultDaemonSetUniqueLabelKey: revisionHash(revs[1])}}}
	if err := dsc.cleanupHistory(context.Background(), ds, fake.Revisions()[:2], nodePods{"n1": {pod}}); err != nil {
		t.Fatal(err)
	}
	left := fake.Revisions()
	if len(left) != 2 || left[0].Revision != 2 || left[1].Revision != 3 {
		t.Errorf("left %d revisions, want #2 (a pod's) and #3", len(left))
	}
}
