package app

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/libs/storageutil"
	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/queue"
)

// volumeLister is the scheduler's framework.VolumeLister: informer caches
// of claims, volumes and classes, and the API to annotate claims.
type volumeLister struct {
	api     *client.Resource[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList]
	claims  listers.ResourceIndexer[*corev1.PersistentVolumeClaim]
	volumes listers.ResourceIndexer[*corev1.PersistentVolume]
	classes listers.ResourceIndexer[*storagev1.StorageClass]
}

var _ framework.VolumeLister = (*volumeLister)(nil)

// newVolumeLister adds the storage informers to factory; their changes
// move pods that waited for them back to the active queue.
func newVolumeLister(c *client.Client, factory *client.InformerFactory, q *queue.Queue) (*volumeLister, error) {
	claimInf := client.InformerFor(factory, client.PersistentVolumeClaims)
	volumeInf := client.InformerFor(factory, client.PersistentVolumes)
	classInf := client.InformerFor(factory, client.StorageClasses)
	vl := &volumeLister{
		api:     client.PersistentVolumeClaims(c),
		claims:  client.Lister(client.PersistentVolumeClaims(c), claimInf),
		volumes: client.Lister(client.PersistentVolumes(c), volumeInf),
		classes: client.Lister(client.StorageClasses(c), classInf),
	}
	for _, x := range []struct {
		inf      cache.SharedIndexInformer
		resource framework.ClusterEventResource
		label    string
	}{
		{claimInf, framework.ResourcePersistentVolumeClaim, "Pvc"},
		{volumeInf, framework.ResourcePersistentVolume, "Pv"},
		{classInf, framework.ResourceStorageClass, "StorageClass"},
	} {
		add := framework.ClusterEvent{Resource: x.resource, Action: framework.ActionAdd, Label: x.label + "Add"}
		update := framework.ClusterEvent{Resource: x.resource, Action: framework.ActionUpdate, Label: x.label + "Update"}
		if _, err := x.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { q.MoveOnEvent(add) },
			UpdateFunc: func(_, _ any) { q.MoveOnEvent(update) },
		}); err != nil {
			return nil, err
		}
	}
	return vl, nil
}

func (v *volumeLister) Claim(namespace, name string) (*corev1.PersistentVolumeClaim, error) {
	return listers.NewNamespaced(v.claims, namespace).Get(name)
}

func (v *volumeLister) Volume(name string) (*corev1.PersistentVolume, error) {
	return v.volumes.Get(name)
}

func (v *volumeLister) Volumes() ([]*corev1.PersistentVolume, error) {
	return v.volumes.List(labels.Everything())
}

func (v *volumeLister) StorageClass(name string) (*storagev1.StorageClass, error) {
	return v.classes.Get(name)
}

// SelectNode patches the annotation (a merge patch on the claim's uid, so
// a claim made anew under the same name is not touched).
func (v *volumeLister) SelectNode(ctx context.Context, claim *corev1.PersistentVolumeClaim, nodeName string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"uid":         claim.UID,
		"annotations": map[string]string{storageutil.AnnSelectedNode: nodeName},
	}})
	if err != nil {
		return err
	}
	if _, err := v.api.Patch(ctx, claim.Namespace, claim.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("annotate claim %s/%s: %w", claim.Namespace, claim.Name, err)
	}
	return nil
}
