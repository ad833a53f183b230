package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gantry-dev/gantry/libs/storageutil"
)

// Kubernetes' storage admission: DefaultStorageClass gives a new claim
// without a class the default StorageClass, and PersistentVolumeClaimResize
// lets a bound claim grow only when its class allows expansion.

var claimsGR = schema.GroupResource{Resource: "persistentvolumeclaims"}

// storageClasses lists the stored classes from the watch cache, as
// Kubernetes' admission reads them from an informer: it only waits for
// the cache to have loaded at all.
func (reg *Registry) storageClasses(ctx context.Context) ([]*storagev1.StorageClass, error) {
	r := reg.mustResource("storage.k8s.io", "storageclasses")
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err := r.cache.WaitFor(wctx, 1)
	cancel()
	if err != nil {
		return nil, err
	}
	items, _, _ := r.cache.List(r.res.KeyPrefix(""), "", 0, nil)
	out := make([]*storagev1.StorageClass, len(items))
	for i, obj := range items {
		out[i] = obj.(*storagev1.StorageClass)
	}
	return out, nil
}

func (reg *Registry) admitClaim(ctx context.Context, obj runtime.Object, _ string) error {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	if pvc.Spec.StorageClassName != nil || pvc.Annotations[storageutil.AnnBetaStorageClass] != "" {
		return nil
	}
	classes, err := reg.storageClasses(ctx)
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("listing storage classes: %w", err))
	}
	setDefaultClass(pvc, classes)
	return nil
}

// setDefaultClass gives a claim that names no class (neither in its spec
// nor in the beta annotation) the default class, if there is one. An
// empty class name is a choice: no class.
func setDefaultClass(pvc *corev1.PersistentVolumeClaim, classes []*storagev1.StorageClass) {
	if pvc.Spec.StorageClassName != nil || pvc.Annotations[storageutil.AnnBetaStorageClass] != "" {
		return
	}
	if dc := defaultStorageClass(classes); dc != nil {
		name := dc.Name
		pvc.Spec.StorageClassName = &name
	}
}

// defaultStorageClass is the class marked default; of several, the newest
// (then the first by name), as Kubernetes picks it.
func defaultStorageClass(classes []*storagev1.StorageClass) *storagev1.StorageClass {
	var dc *storagev1.StorageClass
	for _, sc := range classes {
		if !storageutil.IsDefaultClass(sc.ObjectMeta) {
			continue
		}
		if dc == nil || newerMeta(sc.ObjectMeta, dc.ObjectMeta) {
			dc = sc
		}
	}
	return dc
}

// admitClaimResize refuses to grow a claim that is not bound, or whose
// class does not allow expansion.
func (reg *Registry) admitClaimResize(ctx context.Context, obj, old runtime.Object) error {
	if old == nil {
		return nil
	}
	pvc, prev := obj.(*corev1.PersistentVolumeClaim), old.(*corev1.PersistentVolumeClaim)
	if !grows(pvc, prev) {
		return nil
	}
	classes, err := reg.storageClasses(ctx)
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("listing storage classes: %w", err))
	}
	return checkClaimResize(pvc, prev, classes)
}

func grows(pvc, prev *corev1.PersistentVolumeClaim) bool {
	newSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	oldSize := prev.Spec.Resources.Requests[corev1.ResourceStorage]
	return newSize.Cmp(oldSize) > 0
}

// checkClaimResize: a claim may ask for more storage only once bound, and
// only when its class (unchanged) allows volume expansion.
func checkClaimResize(pvc, prev *corev1.PersistentVolumeClaim, classes []*storagev1.StorageClass) error {
	if !grows(pvc, prev) {
		return nil
	}
	if prev.Status.Phase != corev1.ClaimBound {
		return apierrors.NewForbidden(claimsGR, pvc.Name, errors.New("Only bound persistent volume claims can be expanded"))
	}
	class := storageutil.ClaimClass(pvc)
	if class != "" && class == storageutil.ClaimClass(prev) {
		for _, sc := range classes {
			if sc.Name == class && sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion {
				return nil
			}
		}
	}
	return apierrors.NewForbidden(claimsGR, pvc.Name, errors.New(
		"only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"))
}

// preparePersistentVolume: a new volume is Pending (its status is the
// controller's to write).
func preparePersistentVolume(obj runtime.Object) {
	pv := obj.(*corev1.PersistentVolume)
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	pv.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending, LastPhaseTransitionTime: &now}
}

// prepareClaim: a new claim is Pending.
func prepareClaim(obj runtime.Object) {
	obj.(*corev1.PersistentVolumeClaim).Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
}

// stampVolumePhase records when a volume's phase changed.
func stampVolumePhase(obj, old runtime.Object) {
	pv, prev := obj.(*corev1.PersistentVolume), old.(*corev1.PersistentVolume)
	if pv.Status.Phase != prev.Status.Phase {
		now := metav1.NewTime(time.Now().Truncate(time.Second))
		pv.Status.LastPhaseTransitionTime = &now
	}
}
