package volume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/libs/storageutil"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// BinderName is the binder's name (--controllers).
const BinderName = "persistentvolume-binder"

// binderComponent reports the binder's events, as Kubernetes names it.
const binderComponent = "persistentvolume-controller"

var (
	claimGVK  = corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim")
	volumeGVK = corev1.SchemeGroupVersion.WithKind("PersistentVolume")
)

// Binder binds claims to volumes and applies reclaim policies.
type Binder struct {
	claimsAPI  *client.Resource[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList]
	volumesAPI *client.Resource[*corev1.PersistentVolume, *corev1.PersistentVolumeList]
	claims     listers.ResourceIndexer[*corev1.PersistentVolumeClaim]
	volumes    listers.ResourceIndexer[*corev1.PersistentVolume]
	classes    listers.ResourceIndexer[*storagev1.StorageClass]
	nodes      listers.ResourceIndexer[*corev1.Node]
	pods       listers.ResourceIndexer[*corev1.Pod]

	claimLoop  *controller.Loop
	volumeLoop *controller.Loop
	recorder   *client.EventRecorder
	log        *slog.Logger
}

// NewBinder builds the persistent volume binder on c's shared informers.
func NewBinder(c *controller.Context) (controller.Runnable, error) {
	claimInf := client.InformerFor(c.Informers, client.PersistentVolumeClaims)
	volumeInf := client.InformerFor(c.Informers, client.PersistentVolumes)
	classInf := client.InformerFor(c.Informers, client.StorageClasses)
	nodeInf := client.InformerFor(c.Informers, client.Nodes)
	podInf := client.InformerFor(c.Informers, client.Pods)
	b := &Binder{
		claimsAPI:  client.PersistentVolumeClaims(c.Client),
		volumesAPI: client.PersistentVolumes(c.Client),
		claims:     client.Lister(client.PersistentVolumeClaims(c.Client), claimInf),
		volumes:    client.Lister(client.PersistentVolumes(c.Client), volumeInf),
		classes:    client.Lister(client.StorageClasses(c.Client), classInf),
		nodes:      client.Lister(client.Nodes(c.Client), nodeInf),
		pods:       client.Lister(client.Pods(c.Client), podInf),
		recorder:   c.Recorder(binderComponent),
	}
	synced := []cache.InformerSynced{claimInf.HasSynced, volumeInf.HasSynced, classInf.HasSynced, nodeInf.HasSynced, podInf.HasSynced}
	b.claimLoop = controller.NewLoop(c, BinderName+"-claims", b.syncClaim, synced...)
	b.volumeLoop = controller.NewLoop(c, BinderName+"-volumes", b.syncVolume, synced...)
	b.log = c.Log.With("controller", BinderName)

	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{claimInf, cache.ResourceEventHandlerFuncs{
			AddFunc:    b.claimLoop.Enqueue,
			UpdateFunc: func(_, cur any) { b.claimLoop.Enqueue(cur) },
			DeleteFunc: b.claimDeleted,
		}},
		{volumeInf, cache.ResourceEventHandlerFuncs{
			AddFunc:    b.volumeChanged,
			UpdateFunc: func(_, cur any) { b.volumeChanged(cur) },
			DeleteFunc: b.volumeChanged,
		}},
		// A new or changed class may let waiting claims be provisioned.
		{classInf, cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { b.enqueueUnboundClaims() },
			UpdateFunc: func(_, _ any) { b.enqueueUnboundClaims() },
		}},
		// A pending pod changes what a waiting claim's event says.
		{podInf, cache.ResourceEventHandlerFuncs{AddFunc: b.podAdded}},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Run runs both queues until ctx ends.
func (b *Binder) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = b.claimLoop.Run(ctx) })
	wg.Go(func() { errs[1] = b.volumeLoop.Run(ctx) })
	wg.Wait()
	return errors.Join(errs...)
}

func (b *Binder) claimDeleted(obj any) {
	b.claimLoop.Enqueue(obj)
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	claim, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok {
		return
	}
	// Its volume turns Released.
	all, err := b.volumes.List(labels.Everything())
	if err != nil {
		b.log.Error("list volumes from the cache", "err", err)
		return
	}
	for _, pv := range all {
		if pv.Name == claim.Spec.VolumeName || boundToClaim(pv, claim) {
			b.volumeLoop.Enqueue(pv)
		}
	}
}

func (b *Binder) volumeChanged(obj any) {
	b.volumeLoop.Enqueue(obj)
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if pv, ok := obj.(*corev1.PersistentVolume); ok && pv.Spec.ClaimRef != nil {
		b.claimLoop.EnqueueKey(pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name)
	}
}

func (b *Binder) enqueueUnboundClaims() {
	all, err := b.claims.List(labels.Everything())
	if err != nil {
		b.log.Error("list claims from the cache", "err", err)
		return
	}
	for _, claim := range all {
		if claim.Spec.VolumeName == "" {
			b.claimLoop.Enqueue(claim)
		}
	}
}

func (b *Binder) podAdded(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName != "" {
		return
	}
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			b.claimLoop.EnqueueKey(pod.Namespace + "/" + v.PersistentVolumeClaim.ClaimName)
		}
	}
}

// syncClaim decides and carries out what one claim needs.
func (b *Binder) syncClaim(ctx context.Context, key string) error {
	ns, name := controller.SplitKey(key)
	claim, err := listers.NewNamespaced(b.claims, ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil // its volume's sync releases it
	}
	if err != nil {
		return fmt.Errorf("claim %s from the cache: %w", key, err)
	}
	state, err := b.claimState(claim)
	if err != nil {
		return err
	}
	plan := decideClaim(state)
	if plan.event != nil {
		b.recorder.Event(controller.Ref(claim, claimGVK), plan.event.typ, plan.event.reason, plan.event.message)
	}
	switch plan.action {
	case claimBind:
		return b.bind(ctx, plan.volume, claim)
	case claimProvision:
		return b.setProvisioner(ctx, claim, plan.provisioner)
	case claimLost:
		return b.setClaimPhase(ctx, claim, corev1.ClaimLost)
	}
	return nil
}

// claimState reads what decideClaim needs from the caches.
func (b *Binder) claimState(claim *corev1.PersistentVolumeClaim) (claimState, error) {
	s := claimState{claim: claim}
	var err error
	if s.volumes, err = b.volumes.List(labels.Everything()); err != nil {
		return s, fmt.Errorf("volumes from the cache: %w", err)
	}
	if className := storageutil.ClaimClass(claim); className != "" {
		sc, err := b.classes.Get(className)
		switch {
		case err == nil:
			s.class = sc
		case !apierrors.IsNotFound(err):
			return s, fmt.Errorf("class %s from the cache: %w", className, err)
		}
	}
	if nodeName := claim.Annotations[storageutil.AnnSelectedNode]; nodeName != "" {
		if node, err := b.nodes.Get(nodeName); err == nil {
			s.node = node
		}
	}
	if claim.Spec.VolumeName == "" {
		s.waitingPods = b.waitingPods(claim)
	}
	return s, nil
}

// waitingPods lists the unscheduled pods using claim, by name.
func (b *Binder) waitingPods(claim *corev1.PersistentVolumeClaim) []string {
	pods, err := listers.NewNamespaced(b.pods, claim.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var names []string
	for _, pod := range pods {
		if pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil {
			continue
		}
		for _, v := range pod.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim.Name {
				names = append(names, pod.Name)
				break
			}
		}
	}
	sort.Strings(names)
	return names
}

// syncVolume decides and carries out what one volume needs.
func (b *Binder) syncVolume(ctx context.Context, key string) error {
	pv, err := b.volumes.Get(key)
	if apierrors.IsNotFound(err) {
		return nil // its claim's sync finds it lost
	}
	if err != nil {
		return fmt.Errorf("volume %s from the cache: %w", key, err)
	}
	var claim *corev1.PersistentVolumeClaim
	if ref := pv.Spec.ClaimRef; ref != nil {
		claim, err = listers.NewNamespaced(b.claims, ref.Namespace).Get(ref.Name)
		if apierrors.IsNotFound(err) {
			// The cache may lag behind a claim just made: ask the API
			// before releasing the volume, as Kubernetes does.
			claim, err = b.claimsAPI.Get(ctx, ref.Namespace, ref.Name, getOptions)
		}
		if apierrors.IsNotFound(err) {
			claim, err = nil, nil
		}
		if err != nil {
			return fmt.Errorf("claim %s/%s of volume %s: %w", ref.Namespace, ref.Name, pv.Name, err)
		}
	}
	plan := decideVolume(pv, claim)
	if plan.event != nil {
		b.recorder.Event(controller.Ref(pv, volumeGVK), plan.event.typ, plan.event.reason, plan.event.message)
	}
	if plan.enqueueClaim && pv.Spec.ClaimRef != nil {
		b.claimLoop.EnqueueKey(pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name)
	}
	switch plan.action {
	case volumePhase:
		_, err := b.setVolumePhase(ctx, pv, plan.phase, plan.message)
		return err
	case volumeUnbind:
		return b.unbind(ctx, pv)
	}
	return nil
}
