package statefulset

import (
	"reflect"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	setKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")
	podKind = corev1.SchemeGroupVersion.WithKind("Pod")
)

// claimsFor returns the claims set's pod of ordinal uses, one per
// volumeClaimTemplate in order: named "<template>-<set>-<ordinal>", with
// the template's labels and annotations plus the selector's labels.
func claimsFor(set *appsv1.StatefulSet, ordinal int) []*corev1.PersistentVolumeClaim {
	claims := make([]*corev1.PersistentVolumeClaim, 0, len(set.Spec.VolumeClaimTemplates))
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		c := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{
				Name:        claimName(t.Name, set.Name, ordinal),
				Namespace:   set.Namespace,
				Labels:      map[string]string{},
				Annotations: copyStrings(t.Annotations),
				Finalizers:  append([]string(nil), t.Finalizers...),
			},
			Spec: *t.Spec.DeepCopy(),
		}
		for k, v := range t.Labels {
			c.Labels[k] = v
		}
		if set.Spec.Selector != nil {
			for k, v := range set.Spec.Selector.MatchLabels {
				c.Labels[k] = v
			}
		}
		claims = append(claims, c)
	}
	return claims
}

func copyStrings(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// retentionPolicy is set's claim retention policy (Retain, Retain when
// unset).
func retentionPolicy(set *appsv1.StatefulSet) appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy {
	p := appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	if r := set.Spec.PersistentVolumeClaimRetentionPolicy; r != nil {
		if r.WhenDeleted != "" {
			p.WhenDeleted = r.WhenDeleted
		}
		if r.WhenScaled != "" {
			p.WhenScaled = r.WhenScaled
		}
	}
	return p
}

// refersTo reports whether ref names obj (by kind and name, any UID).
func refersTo(ref *metav1.OwnerReference, obj metav1.Object, gvk schema.GroupVersionKind) bool {
	return ref.APIVersion == gvk.GroupVersion().String() && ref.Kind == gvk.Kind && ref.Name == obj.GetName()
}

// claimOwners returns the owner references claim should have as the claim
// of pod under set's retention policy, and whether they differ from its
// present ones. As in Kubernetes:
//
//	whenDeleted Delete:                the set controls the claim (it goes with the set)
//	whenScaled Delete, pod scaled down: the pod controls it (it goes with the pod)
//
// both at most once, and none of them otherwise. A claim referring to an
// earlier set or pod of the same name (another UID) is left alone: it
// belongs to that one and the garbage collector is on it. A claim
// controlled by someone else loses the set's and pod's references and
// gets none.
func claimOwners(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, pod *corev1.Pod) ([]metav1.OwnerReference, bool) {
	refs := claim.OwnerReferences
	for i := range refs {
		if refersTo(&refs[i], set, setKind) && refs[i].UID != set.UID ||
			refersTo(&refs[i], pod, podKind) && refs[i].UID != pod.UID {
			return refs, false
		}
	}
	policy := retentionPolicy(set)
	const del = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	retainAll := policy.WhenDeleted != del && policy.WhenScaled != del

	var want []metav1.OwnerReference
	foreignController := false
	for _, ref := range refs {
		if refersTo(&ref, set, setKind) || refersTo(&ref, pod, podKind) {
			continue
		}
		if ref.Controller != nil && *ref.Controller && !retainAll {
			foreignController = true
		}
		want = append(want, ref)
	}
	if !foreignController {
		scaledDown := !inRange(set, ordinalOf(pod))
		switch {
		case policy.WhenScaled == del && scaledDown:
			want = append(want, *metav1.NewControllerRef(pod, podKind))
		case policy.WhenDeleted == del:
			want = append(want, *metav1.NewControllerRef(set, setKind))
		}
	}
	return want, !sameRefs(refs, want)
}

// sameRefs compares owner references regardless of order.
func sameRefs(a, b []metav1.OwnerReference) bool {
	if len(a) != len(b) {
		return false
	}
	sorted := func(refs []metav1.OwnerReference) []metav1.OwnerReference {
		out := append([]metav1.OwnerReference(nil), refs...)
		sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
		return out
	}
	return reflect.DeepEqual(sorted(a), sorted(b))
}

// staleClaim reports whether claim still belongs to an earlier pod of the
// same name (the garbage collector is deleting it with that pod): the new
// pod waits for it to go.
func staleClaim(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, podName string) bool {
	if retentionPolicy(set).WhenScaled != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
		return false // claims are kept for reuse
	}
	for _, ref := range claim.OwnerReferences {
		if ref.APIVersion == "v1" && ref.Kind == "Pod" && ref.Name == podName {
			return true
		}
	}
	return false
}
