package volume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/libs/storageutil"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// ProvisionerName is the local-path provisioner's name (--controllers).
const ProvisionerName = "local-path-provisioner"

// LocalPathProvisioner provisions local-path volumes and deletes the
// released ones.
type LocalPathProvisioner struct {
	claimsAPI  *client.Resource[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList]
	volumesAPI *client.Resource[*corev1.PersistentVolume, *corev1.PersistentVolumeList]
	claims     listers.ResourceIndexer[*corev1.PersistentVolumeClaim]
	volumes    listers.ResourceIndexer[*corev1.PersistentVolume]
	classes    listers.ResourceIndexer[*storagev1.StorageClass]
	nodes      listers.ResourceIndexer[*corev1.Node]
	dir        string

	claimLoop  *controller.Loop
	volumeLoop *controller.Loop
	recorder   *client.EventRecorder
	log        *slog.Logger
}

// NewLocalPathProvisioner builds the local-path provisioner on c's shared
// informers; volumes go below c.Options.LocalPathDir on the nodes.
func NewLocalPathProvisioner(c *controller.Context) (controller.Runnable, error) {
	claimInf := client.InformerFor(c.Informers, client.PersistentVolumeClaims)
	volumeInf := client.InformerFor(c.Informers, client.PersistentVolumes)
	classInf := client.InformerFor(c.Informers, client.StorageClasses)
	nodeInf := client.InformerFor(c.Informers, client.Nodes)
	p := &LocalPathProvisioner{
		claimsAPI:  client.PersistentVolumeClaims(c.Client),
		volumesAPI: client.PersistentVolumes(c.Client),
		claims:     client.Lister(client.PersistentVolumeClaims(c.Client), claimInf),
		volumes:    client.Lister(client.PersistentVolumes(c.Client), volumeInf),
		classes:    client.Lister(client.StorageClasses(c.Client), classInf),
		nodes:      client.Lister(client.Nodes(c.Client), nodeInf),
		dir:        c.Options.LocalPathDir,
		recorder:   c.Recorder(storageutil.LocalPathProvisioner),
	}
	synced := []cache.InformerSynced{claimInf.HasSynced, volumeInf.HasSynced, classInf.HasSynced, nodeInf.HasSynced}
	p.claimLoop = controller.NewLoop(c, ProvisionerName+"-claims", p.syncClaim, synced...)
	p.volumeLoop = controller.NewLoop(c, ProvisionerName+"-volumes", p.syncVolume, synced...)
	p.log = c.Log.With("controller", ProvisionerName)

	enqueue := func(l *controller.Loop) cache.ResourceEventHandlerFuncs {
		return cache.ResourceEventHandlerFuncs{
			AddFunc:    l.Enqueue,
			UpdateFunc: func(_, cur any) { l.Enqueue(cur) },
			DeleteFunc: l.Enqueue,
		}
	}
	if _, err := claimInf.AddEventHandler(enqueue(p.claimLoop)); err != nil {
		return nil, err
	}
	if _, err := volumeInf.AddEventHandler(enqueue(p.volumeLoop)); err != nil {
		return nil, err
	}
	// A node that comes or goes changes what waits on it.
	if _, err := nodeInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { p.enqueueAll() },
		DeleteFunc: func(any) { p.enqueueAll() },
	}); err != nil {
		return nil, err
	}
	return p, nil
}

// Run runs both queues until ctx ends.
func (p *LocalPathProvisioner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = p.claimLoop.Run(ctx) })
	wg.Go(func() { errs[1] = p.volumeLoop.Run(ctx) })
	wg.Wait()
	return errors.Join(errs...)
}

// enqueueAll queues the unbound claims and the volumes being deleted.
func (p *LocalPathProvisioner) enqueueAll() {
	if claims, err := p.claims.List(labels.Everything()); err == nil {
		for _, claim := range claims {
			if claim.Spec.VolumeName == "" {
				p.claimLoop.Enqueue(claim)
			}
		}
	}
	if volumes, err := p.volumes.List(labels.Everything()); err == nil {
		for _, pv := range volumes {
			if pv.DeletionTimestamp != nil {
				p.volumeLoop.Enqueue(pv)
			}
		}
	}
}

// syncClaim provisions a volume for one claim when it needs one.
func (p *LocalPathProvisioner) syncClaim(ctx context.Context, key string) error {
	ns, name := controller.SplitKey(key)
	claim, err := listers.NewNamespaced(p.claims, ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("claim %s from the cache: %w", key, err)
	}
	s := provisionState{claim: claim, dir: p.dir}
	if class := storageutil.ClaimClass(claim); class != "" {
		if s.class, err = p.classes.Get(class); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("class %s from the cache: %w", class, err)
		}
	}
	if node := claim.Annotations[storageutil.AnnSelectedNode]; node != "" {
		s.node, _ = p.nodes.Get(node)
	}
	if s.existing, err = p.volumes.Get(storageutil.ProvisionedVolumeName(claim)); apierrors.IsNotFound(err) {
		s.existing = nil
	} else if err != nil {
		return fmt.Errorf("volume of claim %s from the cache: %w", key, err)
	}
	plan := decideProvision(s)
	ref := controller.Ref(claim, claimGVK)
	if plan.event != nil {
		p.recorder.Event(ref, plan.event.typ, plan.event.reason, plan.event.message)
	}
	if plan.retry {
		return fmt.Errorf("claim %s: %s", key, plan.event.message)
	}
	if plan.volume == nil {
		return nil
	}
	p.recorder.Event(ref, corev1.EventTypeNormal, reasonProvisioning,
		fmt.Sprintf("External provisioner is provisioning volume for claim %q", key))
	pv, err := p.volumesAPI.Create(ctx, plan.volume, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil // made by an earlier sync the cache had not seen
	}
	if err != nil {
		p.recorder.Event(ref, corev1.EventTypeWarning, reasonProvisioningFailed,
			fmt.Sprintf("failed to provision volume with StorageClass %q: %v", s.class.Name, err))
		return fmt.Errorf("create volume for claim %s: %w", key, err)
	}
	p.recorder.Event(ref, corev1.EventTypeNormal, reasonProvisioningSucceeded, fmt.Sprintf("Successfully provisioned volume %s", pv.Name))
	p.log.Info("provisioned", "claim", key, "volume", pv.Name, "node", claim.Annotations[storageutil.AnnSelectedNode],
		"path", pv.Spec.HostPath.Path)
	return nil
}

// syncVolume deletes a released volume, or lets go of one whose node is
// gone.
func (p *LocalPathProvisioner) syncVolume(ctx context.Context, key string) error {
	pv, err := p.volumes.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("volume %s from the cache: %w", key, err)
	}
	switch decideReclaim(pv, p.nodeGone(pv)) {
	case reclaimDelete:
		uid := pv.UID
		err := p.volumesAPI.Delete(ctx, "", pv.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete released volume %s: %w", pv.Name, err)
		}
		p.log.Info("deleting released volume; its node's agent removes the directory", "volume", pv.Name,
			"node", storageutil.AffinityHostname(pv))
	case reclaimForget:
		return p.dropFinalizer(ctx, pv)
	}
	return nil
}

// nodeGone reports whether no node has the volume's hostname.
func (p *LocalPathProvisioner) nodeGone(pv *corev1.PersistentVolume) bool {
	host := storageutil.AffinityHostname(pv)
	if host == "" {
		return false
	}
	nodes, err := p.nodes.List(labels.Everything())
	if err != nil {
		return false
	}
	for _, n := range nodes {
		if storageutil.NodeHostname(n) == host {
			return false
		}
	}
	return true
}

func (p *LocalPathProvisioner) dropFinalizer(ctx context.Context, pv *corev1.PersistentVolume) error {
	next := pv.DeepCopy()
	next.Finalizers = nil
	for _, f := range pv.Finalizers {
		if f != storageutil.LocalPathCleanupFinalizer {
			next.Finalizers = append(next.Finalizers, f)
		}
	}
	if _, err := p.volumesAPI.Update(ctx, next, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("drop the cleanup finalizer of volume %s: %w", pv.Name, err)
	}
	p.log.Info("volume's node is gone; nothing to clean", "volume", pv.Name)
	return nil
}
