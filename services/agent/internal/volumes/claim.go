package volumes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"

	"github.com/gantry-dev/gantry/libs/client"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClaimSource reads PersistentVolumeClaims and the PersistentVolumes they
// are bound to. A missing object is reported with an error for which
// apierrors.IsNotFound is true. Returned objects are not modified.
type ClaimSource interface {
	PersistentVolumeClaim(ctx context.Context, namespace, name string) (*corev1.PersistentVolumeClaim, error)
	PersistentVolume(ctx context.Context, name string) (*corev1.PersistentVolume, error)
}

// ClientClaimSource is a ClaimSource that reads from the API server.
func ClientClaimSource(c *client.Client) ClaimSource {
	return clientSource{c: c}
}

func (s clientSource) PersistentVolumeClaim(ctx context.Context, namespace, name string) (*corev1.PersistentVolumeClaim, error) {
	return client.PersistentVolumeClaims(s.c).Get(ctx, namespace, name, metav1.GetOptions{})
}

func (s clientSource) PersistentVolume(ctx context.Context, name string) (*corev1.PersistentVolume, error) {
	return client.PersistentVolumes(s.c).Get(ctx, "", name, metav1.GetOptions{})
}

var errNoClaimSource = errors.New("no source of persistent volume claims is configured")

// setupClaim resolves a persistentVolumeClaim volume to its bound volume
// and prepares that: a hostPath volume as a hostPath volume of the pod
// (so DirectoryOrCreate creates it), a local volume's path, which must
// exist. Until the claim is bound the volume cannot be set up, and the
// pod waits, as with kubelet.
func (m *Manager) setupClaim(ctx context.Context, pod *corev1.Pod, src *corev1.PersistentVolumeClaimVolumeSource) (string, error) {
	if m.claims == nil {
		return "", errNoClaimSource
	}
	claim, err := m.claims.PersistentVolumeClaim(ctx, pod.Namespace, src.ClaimName)
	if apierrors.IsNotFound(err) {
		return "", apierrors.NewNotFound(corev1.Resource("persistentvolumeclaim"), src.ClaimName)
	}
	if err != nil {
		return "", err
	}
	ref := pod.Namespace + "/" + src.ClaimName
	switch {
	case claim.DeletionTimestamp != nil:
		return "", fmt.Errorf("error processing PVC %s: PVC is being deleted", ref)
	case claim.Spec.VolumeName == "" || claim.Status.Phase != corev1.ClaimBound:
		return "", fmt.Errorf("error processing PVC %s: PVC is not bound", ref)
	}
	pv, err := m.claims.PersistentVolume(ctx, claim.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		return "", fmt.Errorf("error processing PVC %s: %w", ref, apierrors.NewNotFound(corev1.Resource("persistentvolume"), claim.Spec.VolumeName))
	}
	if err != nil {
		return "", err
	}
	if cr := pv.Spec.ClaimRef; cr == nil || cr.UID != claim.UID {
		return "", fmt.Errorf("error processing PVC %s: volume %s is not bound to it", ref, pv.Name)
	}
	switch {
	case pv.Spec.HostPath != nil:
		return setupHostPath(pv.Spec.HostPath)
	case pv.Spec.Local != nil:
		path, err := setupHostPath(&corev1.HostPathVolumeSource{Path: pv.Spec.Local.Path})
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("local volume %s: %w", pv.Name, err)
		}
		return path, nil
	}
	return "", fmt.Errorf("volume %s of PVC %s: volume type %s is not supported", pv.Name, ref, pvSourceType(pv))
}

// pvSourceType names the source of a volume that is set ("nfs").
func pvSourceType(pv *corev1.PersistentVolume) string {
	return setPointerField(reflect.ValueOf(pv.Spec.PersistentVolumeSource))
}

// readOnlyClaim reports a persistentVolumeClaim volume the pod uses
// read-only.
func readOnlyClaim(vol *corev1.Volume) bool {
	return vol.PersistentVolumeClaim != nil && vol.PersistentVolumeClaim.ReadOnly
}
