package deployment

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestResolveFenceposts(t *testing.T) {
	for _, tc := range []struct {
		surge, unavailable string
		desired            int32
		wantS, wantU       int32
	}{
		{"25%", "25%", 4, 1, 1},
		{"25%", "25%", 3, 1, 0},  // surge rounds up, unavailable down
		{"25%", "25%", 10, 3, 2}, // 2.5 -> 3 and 2
		{"50%", "50%", 5, 3, 2},
		{"0", "0%", 3, 0, 1}, // both zero: one may be unavailable
		{"0%", "10%", 5, 0, 1},
		{"1", "0", 10, 1, 0},
		{"2", "3", 1, 2, 3},
		{"100%", "0", 3, 3, 0},
	} {
		s, u := intstr.Parse(tc.surge), intstr.Parse(tc.unavailable)
		gotS, gotU, err := resolveFenceposts(&s, &u, tc.desired)
		if err != nil || gotS != tc.wantS || gotU != tc.wantU {
			t.Errorf("resolveFenceposts(%s, %s, %d) = %d, %d, %v; want %d, %d",
				tc.surge, tc.unavailable, tc.desired, gotS, gotU, err, tc.wantS, tc.wantU)
		}
	}
	bad := intstr.FromString("lots")
	if _, _, err := resolveFenceposts(&bad, nil, 3); err == nil {
		t.Error("an invalid maxSurge resolved")
	}
}

func TestMaxUnavailableAndSurge(t *testing.T) {
	for _, tc := range []struct {
		name      string
		d         *appsv1.Deployment
		wantSurge int32
		wantUnav  int32
	}{
		{"rolling", deploy(4, "25%", "25%"), 1, 1},
		{"unavailable capped by replicas", deploy(1, "0", "3"), 0, 1},
		{"zero replicas", deploy(0, "1", "1"), 1, 0},
		{"recreate", recreate(3), 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := maxSurge(tc.d); got != tc.wantSurge {
				t.Errorf("maxSurge = %d, want %d", got, tc.wantSurge)
			}
			if got := maxUnavailable(tc.d); got != tc.wantUnav {
				t.Errorf("maxUnavailable = %d, want %d", got, tc.wantUnav)
			}
		})
	}
}

func TestComputeHash(t *testing.T) {
	d := deploy(3, "1", "0")
	h := computeHash(&d.Spec.Template, nil)
	if h == "" || strings.ContainsAny(h, "aeiou") {
		t.Fatalf("hash %q is not a safe string", h)
	}
	if again := computeHash(d.Spec.Template.DeepCopy(), nil); again != h {
		t.Errorf("hash not stable: %q then %q", h, again)
	}
	if c := computeHash(&d.Spec.Template, ptr[int32](1)); c == h {
		t.Error("collisionCount does not change the hash")
	}
	other := d.Spec.Template.DeepCopy()
	other.Spec.Containers[0].Image = "busybox:3"
	if computeHash(other, nil) == h {
		t.Error("another image, same hash")
	}
}

func TestFindNewReplicaSet(t *testing.T) {
	d := deploy(3, "1", "0")
	same := rs(d, "web-new", 5, 3, 3)
	same.Spec.Template = *d.Spec.Template.DeepCopy()
	same.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = "abc"
	older := same.DeepCopy()
	older.Name, older.UID, older.CreationTimestamp.Time = "web-older", "older", same.CreationTimestamp.Add(-60e9)
	other := rs(d, "web-old", 10, 0, 0)
	other.Spec.Template = *d.Spec.Template.DeepCopy()
	other.Spec.Template.Spec.Containers[0].Image = "busybox:1"

	if got := findNewReplicaSet(d, []*appsv1.ReplicaSet{other, same}); got != same {
		t.Errorf("new replica set = %v, want web-new (template equal but for the hash label)", got)
	}
	if got := findNewReplicaSet(d, []*appsv1.ReplicaSet{same, older, other}); got != older {
		t.Errorf("with two matching, got %v, want the oldest", got)
	}
	if got := findNewReplicaSet(d, []*appsv1.ReplicaSet{other}); got != nil {
		t.Errorf("got %v, want none", got.Name)
	}
}

func TestSetNewReplicaSetAnnotations(t *testing.T) {
	for _, tc := range []struct {
		name        string
		deployAnn   map[string]string
		rsAnn       map[string]string
		newRevision int64
		exists      bool
		want        map[string]string
		wantChanged bool
	}{
		{
			name:        "new replica set",
			deployAnn:   map[string]string{ChangeCauseAnnotation: "kubectl set image", RevisionAnnotation: "1", lastAppliedAnnotation: "{}"},
			newRevision: 2,
			want: map[string]string{
				ChangeCauseAnnotation: "kubectl set image", RevisionAnnotation: "2",
				DesiredReplicasAnnotation: "4", MaxReplicasAnnotation: "5",
			},
			wantChanged: true,
		},
		{
			name:        "up to date",
			deployAnn:   map[string]string{"team": "a"},
			rsAnn:       map[string]string{"team": "a", RevisionAnnotation: "3"},
			newRevision: 3, exists: true,
			want: map[string]string{"team": "a", RevisionAnnotation: "3"},
		},
		{
			name:        "rollback keeps the history",
			rsAnn:       map[string]string{RevisionAnnotation: "2", RevisionHistoryAnnotation: "1"},
			newRevision: 5, exists: true,
			want:        map[string]string{RevisionAnnotation: "5", RevisionHistoryAnnotation: "1,2"},
			wantChanged: true,
		},
		{
			name:        "never lowers a revision",
			rsAnn:       map[string]string{RevisionAnnotation: "7"},
			newRevision: 5, exists: true,
			want: map[string]string{RevisionAnnotation: "7"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := deploy(4, "1", "1")
			d.Annotations = tc.deployAnn
			r := rs(d, "web-x", 0, 0, 0)
			r.Annotations = tc.rsAnn
			changed := setNewReplicaSetAnnotations(d, r, tc.newRevision, tc.exists)
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if len(r.Annotations) != len(tc.want) {
				t.Errorf("annotations = %v, want %v", r.Annotations, tc.want)
			}
			for k, v := range tc.want {
				if r.Annotations[k] != v {
					t.Errorf("annotation %s = %q, want %q", k, r.Annotations[k], v)
				}
			}
		})
	}
}

func TestAppendRevisionHistory(t *testing.T) {
	for _, tc := range []struct {
		history, rev string
		limit        int
		want         string
	}{
		{"", "3", 10, "3"},
		{"1,2", "3", 10, "1,2,3"},
		{"1,2,3,4", "5", 7, "2,3,4,5"},
		{"1,2,3,4", "5", 6, "3,4,5"},
		{"1", "123456", 3, "1"}, // does not fit at all
	} {
		if got := appendRevisionHistory(tc.history, tc.rev, tc.limit); got != tc.want {
			t.Errorf("appendRevisionHistory(%q, %q, %d) = %q, want %q", tc.history, tc.rev, tc.limit, got, tc.want)
		}
	}
}

func TestNewReplicaSetFor(t *testing.T) {
	d := deploy(4, "25%", "25%")
	d.Annotations = map[string]string{ChangeCauseAnnotation: "first"}
	old := rs(d, "web-old", 10, 4, 4)
	got := newReplicaSetFor(d, []*appsv1.ReplicaSet{old}, 2)
	hash := computeHash(&d.Spec.Template, nil)
	if got.Name != "web-"+hash {
		t.Errorf("name = %s, want web-%s", got.Name, hash)
	}
	for what, l := range map[string]map[string]string{
		"labels": got.Labels, "template labels": got.Spec.Template.Labels, "selector": got.Spec.Selector.MatchLabels,
	} {
		if l[appsv1.DefaultDeploymentUniqueLabelKey] != hash || l["app"] != "web" {
			t.Errorf("%s = %v, want app=web and pod-template-hash=%s", what, l, hash)
		}
	}
	if _, ok := d.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; ok {
		t.Error("the Deployment's template was modified")
	}
	if ref := got.OwnerReferences; len(ref) != 1 || ref[0].UID != d.UID || ref[0].Controller == nil || !*ref[0].Controller {
		t.Errorf("owner references = %+v", ref)
	}
	// 4 old pods, max 5: room for one new pod.
	if rsReplicas(got) != 1 {
		t.Errorf("replicas = %d, want 1", rsReplicas(got))
	}
	want := map[string]string{RevisionAnnotation: "2", ChangeCauseAnnotation: "first", DesiredReplicasAnnotation: "4", MaxReplicasAnnotation: "5"}
	for k, v := range want {
		if got.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, got.Annotations[k], v)
		}
	}
}
