package history

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

func template(image string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}},
	}
}

func mustPatch(t *testing.T, tmpl *corev1.PodTemplateSpec) []byte {
	t.Helper()
	data, err := TemplatePatch(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestTemplatePatch(t *testing.T) {
	data := mustPatch(t, template("nginx:1"))
	if !strings.HasPrefix(string(data), `{"spec":{"template":{"$patch":"replace","metadata":{`) {
		t.Errorf("data %s, want a replace patch of spec.template with sorted keys", data)
	}
	if again := mustPatch(t, template("nginx:1")); string(again) != string(data) {
		t.Errorf("equal templates encode differently:\n%s\n%s", data, again)
	}

	// Applied to a set with another template (as kubectl rollout undo
	// does), the patch brings back exactly this template.
	set := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: *template("nginx:2")}}
	set.Spec.Template.Labels["extra"] = "x"
	set.Spec.Template.Spec.Containers = append(set.Spec.Template.Spec.Containers, corev1.Container{Name: "side", Image: "busybox"})
	original, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	patched, err := strategicpatch.StrategicMergePatch(original, data, &appsv1.StatefulSet{})
	if err != nil {
		t.Fatal(err)
	}
	var back appsv1.StatefulSet
	if err := json.Unmarshal(patched, &back); err != nil {
		t.Fatal(err)
	}
	tmpl := back.Spec.Template
	if len(tmpl.Spec.Containers) != 1 || tmpl.Spec.Containers[0].Image != "nginx:1" || tmpl.Labels["extra"] != "" {
		t.Errorf("template after the patch: %+v", tmpl)
	}

	got, err := Template(&appsv1.ControllerRevision{Data: runtimeRaw(data)})
	if err != nil || got.Spec.Containers[0].Image != "nginx:1" || got.Labels["app"] != "web" {
		t.Errorf("Template = %+v, %v", got, err)
	}
	for _, bad := range []string{`{"spec":{}}`, `not json`} {
		if _, err := Template(&appsv1.ControllerRevision{Data: runtimeRaw([]byte(bad))}); err == nil {
			t.Errorf("Template of %s: no error", bad)
		}
	}
}

func TestEqualData(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":[1,2]}`, `{"a":1,"b":[1,2]}`, true},
		{`{"a":1,"b":[1,2]}`, `{ "b": [1, 2], "a": 1 }`, true},
		{`{"a":1,"b":[1,2]}`, `{"a":1,"b":[2,1]}`, false},
		{`{"a":1}`, `{"a":"1"}`, false},
		{`{"a":1}`, `garbage`, false},
	}
	for _, tt := range tests {
		if got := EqualData([]byte(tt.a), []byte(tt.b)); got != tt.want {
			t.Errorf("EqualData(%s, %s) = %v", tt.a, tt.b, got)
		}
	}
}

func rev(name string, revision int64, data []byte, created time.Duration) *appsv1.ControllerRevision {
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Unix(1000, 0).Add(created))},
		Data:       runtimeRaw(data), Revision: revision,
	}
}

func names(revs []*appsv1.ControllerRevision) string {
	var out []string
	for _, r := range revs {
		out = append(out, r.Name)
	}
	return strings.Join(out, ",")
}

func TestSortAndNext(t *testing.T) {
	revs := []*appsv1.ControllerRevision{
		rev("c", 3, nil, 0), rev("b2", 2, nil, time.Second), rev("b1", 2, nil, 0), rev("a", 1, nil, 5*time.Second),
		rev("b0", 2, nil, 0),
	}
	Sort(revs)
	if got := names(revs); got != "a,b0,b1,b2,c" {
		t.Errorf("sorted %s, want a,b0,b1,b2,c (number, then age, then name)", got)
	}
	if n := Next(revs); n != 4 {
		t.Errorf("Next = %d, want 4", n)
	}
	if n := Next(nil); n != 1 {
		t.Errorf("Next of no history = %d, want 1", n)
	}
}

func TestChoose(t *testing.T) {
	v1, v2, v3 := mustPatch(t, template("v1")), mustPatch(t, template("v2")), mustPatch(t, template("v3"))
	tests := []struct {
		name       string
		history    []*appsv1.ControllerRevision
		data       []byte
		existing   string // "" for a new revision
		duplicates string
		revision   int64
		renumber   bool
	}{
		{name: "first revision", data: v1, revision: 1},
		{name: "unchanged template", history: []*appsv1.ControllerRevision{rev("a", 1, v1, 0)}, data: v1,
			existing: "a", revision: 1},
		{name: "new template", history: []*appsv1.ControllerRevision{rev("a", 1, v1, 0), rev("b", 2, v2, 0)}, data: v3,
			revision: 3},
		{name: "rollback to an old template renumbers it", history: []*appsv1.ControllerRevision{rev("a", 1, v1, 0), rev("b", 2, v2, 0)},
			data: v1, existing: "a", revision: 3, renumber: true},
		{name: "duplicates: the newest is kept", history: []*appsv1.ControllerRevision{
			rev("a", 1, v1, 0), rev("b", 2, v2, 0), rev("a2", 3, v1, 0)},
			data: v1, existing: "a2", duplicates: "a", revision: 3},
		{name: "a tie on the newest number is broken by renumbering", history: []*appsv1.ControllerRevision{
			rev("a", 2, v1, 0), rev("b", 2, v2, time.Second)},
			data: v1, existing: "a", revision: 3, renumber: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			Sort(tt.history)
			c := Choose(tt.history, tt.data)
			existing := ""
			if c.Existing != nil {
				existing = c.Existing.Name
			}
			if existing != tt.existing || names(c.Duplicates) != tt.duplicates || c.Revision != tt.revision || c.Renumber() != tt.renumber {
				t.Errorf("choice: existing %q duplicates %q revision %d renumber %v; want %q %q %d %v",
					existing, names(c.Duplicates), c.Revision, c.Renumber(), tt.existing, tt.duplicates, tt.revision, tt.renumber)
			}
		})
	}
}

func TestNewAndName(t *testing.T) {
	owner := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1"}}
	lbls := map[string]string{"app": "web"}
	r := New(owner, appsv1.SchemeGroupVersion.WithKind("StatefulSet"), Name("web", "abc"), lbls, map[string]string{"k": "v"}, []byte(`{}`), 2)
	lbls[HashLabel] = "changed"
	ref := metav1.GetControllerOf(r)
	if r.Name != "web-abc" || r.Namespace != "ns" || r.Revision != 2 || r.Labels[HashLabel] != "" || r.Annotations["k"] != "v" ||
		ref == nil || ref.UID != "u1" || ref.Kind != "StatefulSet" {
		t.Errorf("revision %+v", r)
	}
	if n := Name(strings.Repeat("x", 300), "h"); len(n) != 225 {
		t.Errorf("long name cut to %d, want 225", len(n))
	}
}

func runtimeRaw(b []byte) runtime.RawExtension { return runtime.RawExtension{Raw: b} }
