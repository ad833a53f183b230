package volume

import (
	"errors"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gantry-dev/gantry/libs/storageutil"
)

// boundToClaim reports whether pv's claimRef names claim: same namespace
// and name, and the claim's uid or none yet (pre-bound by a user).
func boundToClaim(pv *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) bool {
	ref := pv.Spec.ClaimRef
	if ref == nil || ref.Namespace != claim.Namespace || ref.Name != claim.Name {
		return false
	}
	return ref.UID == "" || ref.UID == claim.UID
}

// accessModesContain reports whether have offers every mode of want.
func accessModesContain(have, want []corev1.PersistentVolumeAccessMode) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func volumeMode(m *corev1.PersistentVolumeMode) corev1.PersistentVolumeMode {
	if m == nil {
		return corev1.PersistentVolumeFilesystem
	}
	return *m
}

// satisfies says why pv cannot serve claim, or nil when it can: the
// checks Kubernetes makes of a volume a claim asks for by name.
func satisfies(pv *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) error {
	if pv.DeletionTimestamp != nil {
		return fmt.Errorf("the volume is marked for deletion %q", pv.Name)
	}
	want := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	have := pv.Spec.Capacity[corev1.ResourceStorage]
	if have.Cmp(want) < 0 {
		return errors.New("requested PV is too small")
	}
	if storageutil.VolumeClass(pv) != storageutil.ClaimClass(claim) {
		return errors.New("storageClassName does not match")
	}
	if volumeMode(pv.Spec.VolumeMode) != volumeMode(claim.Spec.VolumeMode) {
		return errors.New("incompatible volumeMode")
	}
	if !accessModesContain(pv.Spec.AccessModes, claim.Spec.AccessModes) {
		return errors.New("incompatible accessMode")
	}
	return nil
}

// findMatchingVolume returns the volume to bind claim to, or nil: a
// volume pre-bound to the claim if there is one, else the smallest
// available volume that satisfies the claim and its selector (then the
// one with fewest access modes, then by name). delay
// means the claim's class waits for its first consumer: without node,
// only a pre-bound volume is taken; with node (the selected one), only
// volumes whose node affinity admits it.
func findMatchingVolume(claim *corev1.PersistentVolumeClaim, volumes []*corev1.PersistentVolume,
	node *corev1.Node, delay bool) *corev1.PersistentVolume {
	var selector labels.Selector
	if claim.Spec.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(claim.Spec.Selector)
		if err != nil {
			return nil // the API server refuses such selectors
		}
		selector = s
	}
	sorted := append([]*corev1.PersistentVolume(nil), volumes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var best *corev1.PersistentVolume
	for _, pv := range sorted {
		if volumeMode(pv.Spec.VolumeMode) != volumeMode(claim.Spec.VolumeMode) || pv.DeletionTimestamp != nil {
			continue
		}
		nodeOK := true
		if delay && node != nil {
			ok, err := storageutil.VolumeNodeMatches(pv, node)
			nodeOK = ok && err == nil
		}
		if boundToClaim(pv, claim) {
			// A volume pre-bound to the claim is the claim's, as in
			// Kubernetes, unless it cannot be used on the node.
			if !nodeOK {
				return nil
			}
			return pv
		}
		if delay && node == nil {
			continue
		}
		if pv.Spec.ClaimRef != nil || !nodeOK {
			continue
		}
		if selector != nil && !selector.Matches(labels.Set(pv.Labels)) {
			continue
		}
		if satisfies(pv, claim) != nil {
			continue
		}
		if best == nil {
			best = pv
			continue
		}
		size, bestSize := pv.Spec.Capacity[corev1.ResourceStorage], best.Spec.Capacity[corev1.ResourceStorage]
		if size.Cmp(bestSize) < 0 || size.Cmp(bestSize) == 0 && len(pv.Spec.AccessModes) < len(best.Spec.AccessModes) {
			best = pv
		}
	}
	return best
}
