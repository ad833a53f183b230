package statefulset

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func testSet(n int32, whenDeleted, whenScaled appsv1.PersistentVolumeClaimRetentionPolicyType) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "set-uid"},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(n),
			ServiceName: "nginx",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "c", Image: "nginx"}},
					Volumes: []corev1.Volume{
						{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
				},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: map[string]string{"tier": "db"}},
				Spec:       corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}},
			}},
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: whenDeleted, WhenScaled: whenScaled,
			},
		},
	}
}

const (
	retain = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	del    = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
)

func TestClaimsFor(t *testing.T) {
	set := testSet(3, retain, retain)
	claims := claimsFor(set, 2)
	if len(claims) != 1 {
		t.Fatalf("%d claims, want 1", len(claims))
	}
	c := claims[0]
	if c.Name != "data-web-2" || c.Namespace != "default" {
		t.Errorf("claim %s/%s, want default/data-web-2", c.Namespace, c.Name)
	}
	if want := map[string]string{"tier": "db", "app": "web"}; !reflect.DeepEqual(c.Labels, want) {
		t.Errorf("labels %v, want %v", c.Labels, want)
	}
	if len(c.OwnerReferences) != 0 {
		t.Errorf("owner references %v, want none", c.OwnerReferences)
	}
	// The template is not touched.
	if len(set.Spec.VolumeClaimTemplates[0].Labels) != 1 {
		t.Errorf("template labels changed: %v", set.Spec.VolumeClaimTemplates[0].Labels)
	}
}

func TestClaimOwners(t *testing.T) {
	setRef := *metav1.NewControllerRef(&metav1.ObjectMeta{Name: "web", UID: "set-uid"}, setKind)
	podRef := func(ord int) metav1.OwnerReference {
		p := tpod(ord, "a", ready)
		return *metav1.NewControllerRef(p, podKind)
	}
	other := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "cm-uid"}
	otherController := metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Thing", Name: "t", UID: "thing-uid", Controller: ptr.To(true)}
	staleSet := setRef
	staleSet.UID = "old-set-uid"

	tests := []struct {
		name                    string
		whenDeleted, whenScaled appsv1.PersistentVolumeClaimRetentionPolicyType
		ord                     int // the pod's; replicas are 2
		have, want              []metav1.OwnerReference
		changed                 bool
	}{
		{name: "retain: none", whenDeleted: retain, whenScaled: retain, ord: 0},
		{name: "retain: ours removed", whenDeleted: retain, whenScaled: retain, ord: 0,
			have: []metav1.OwnerReference{setRef, other}, want: []metav1.OwnerReference{other}, changed: true},
		{name: "whenDeleted delete: the set", whenDeleted: del, whenScaled: retain, ord: 0,
			want: []metav1.OwnerReference{setRef}, changed: true},
		{name: "whenDeleted delete: kept when scaled down", whenDeleted: del, whenScaled: retain, ord: 3,
			have: []metav1.OwnerReference{setRef}, want: []metav1.OwnerReference{setRef}},
		{name: "whenScaled delete: nothing in range", whenDeleted: retain, whenScaled: del, ord: 1},
		{name: "whenScaled delete: the pod once scaled down", whenDeleted: retain, whenScaled: del, ord: 2,
			want: []metav1.OwnerReference{podRef(2)}, changed: true},
		{name: "both: the set in range", whenDeleted: del, whenScaled: del, ord: 1,
			want: []metav1.OwnerReference{setRef}, changed: true},
		{name: "both: the pod instead of the set when scaled down", whenDeleted: del, whenScaled: del, ord: 2,
			have: []metav1.OwnerReference{other, setRef}, want: []metav1.OwnerReference{other, podRef(2)}, changed: true},
		{name: "up to date in another order", whenDeleted: del, whenScaled: retain, ord: 0,
			have: []metav1.OwnerReference{setRef, other}, want: []metav1.OwnerReference{setRef, other}},
		{name: "someone else's controller: ours go, none added", whenDeleted: del, whenScaled: del, ord: 0,
			have: []metav1.OwnerReference{otherController, setRef}, want: []metav1.OwnerReference{otherController}, changed: true},
		{name: "an earlier set's claim is left alone", whenDeleted: retain, whenScaled: retain, ord: 0,
			have: []metav1.OwnerReference{staleSet}, want: []metav1.OwnerReference{staleSet}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := testSet(2, tt.whenDeleted, tt.whenScaled)
			claim := claimsFor(set, tt.ord)[0]
			claim.OwnerReferences = tt.have
			got, changed := claimOwners(claim, set, tpod(tt.ord, "a", ready))
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
			if !sameRefs(got, tt.want) {
				t.Errorf("owners = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStaleClaim(t *testing.T) {
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data-web-2",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "web-2", UID: types.UID("old")}}}}
	if !staleClaim(claim, testSet(3, retain, del), "web-2") {
		t.Error("a claim owned by the previous web-2 is not stale")
	}
	if staleClaim(claim, testSet(3, retain, retain), "web-2") {
		t.Error("claims are never stale when kept on scale down")
	}
	if staleClaim(claimsFor(testSet(3, retain, del), 2)[0], testSet(3, retain, del), "web-2") {
		t.Error("a claim without owners is stale")
	}
}
