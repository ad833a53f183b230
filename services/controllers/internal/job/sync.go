package job

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/listers"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// sync brings the Job key names to its desired state: it decides from
// the cached Job and pods (assess, manage, isComplete), creates and
// deletes pods, then counts finished pods into the status (track,
// finish).
func (jc *Controller) sync(ctx context.Context, key string) error {
	ns, name := controller.SplitKey(key)
	cached, err := listers.NewNamespaced(jc.jobs, ns).Get(name)
	if apierrors.IsNotFound(err) {
		jc.expectations.Delete(key)
		jc.finalizers.forget(key)
		jc.backoff.remove(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get job %s: %w", key, err)
	}
	if m := cached.Spec.ManagedBy; m != nil && *m != managedByUs {
		return nil // another controller's
	}
	if isFinished(cached) {
		jc.backoff.remove(key)
		return nil
	}
	job := cached.DeepCopy()
	if mode := job.Spec.CompletionMode; mode != nil && *mode != batchv1.NonIndexedCompletion && *mode != batchv1.IndexedCompletion {
		jc.event(job, corev1.EventTypeWarning, "UnknownCompletionMode", "Skipped Job sync because completion mode is unknown")
		return nil
	}
	if job.Status.UncountedTerminatedPods == nil {
		job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	// Expectations first: a pod arriving after the listing would
	// otherwise be missed by the counts yet satisfy them.
	satisfied := jc.expectations.Satisfied(key)
	pods, err := jc.claimPods(ctx, job)
	if err != nil {
		return err
	}
	in := &input{
		job: job, pods: pods, now: jc.clock.Now(), satisfied: satisfied,
		backoff: jc.backoff.get(key), finalizersGoing: jc.finalizers.pending(key),
	}
	a := assess(in)
	if a.recheckIn > 0 {
		jc.enqueueAfter(key, a.recheckIn)
	}
	active, ready, terminating := int32(len(a.active)), a.ready, a.terminating
	v := a.verdict
	var manageErr error
	if v != nil {
		// Heading for an end: stop the active pods, keeping their
		// finalizers so that they are counted.
		deleted, deletedReady, err := jc.deletePods(ctx, job, key, a.active, false)
		if int(deleted) != len(a.active) || !satisfied {
			v = nil // not every pod is accounted for yet
		}
		active -= deleted
		ready -= deletedReady
		terminating += deleted
		manageErr = err
	} else {
		managed := false
		if satisfied && job.DeletionTimestamp == nil {
			var removed, removedReady int32
			removed, removedReady, active, manageErr = jc.manage(ctx, key, job, manage(in, a), active)
			ready -= removedReady
			terminating += removed
			managed = true
		}
		if isComplete(job, a.succeeded, active) {
			v = &verdict{success: true, reason: batchv1.JobReasonCompletionsReached, message: msgCompletionsReached}
		} else if managed {
			if reason, message := suspension(&job.Status, isSuspended(job), in.now); reason != "" {
				jc.event(job, corev1.EventTypeNormal, reason, message)
				if reason == "Resumed" {
					a.startTime = job.Status.StartTime
				}
			}
		}
	}
	job.Status.StartTime = a.startTime
	job.Status.Active = active
	job.Status.Ready = &ready
	job.Status.Terminating = &terminating
	if err := jc.trackAndFinish(ctx, key, cached, job, in, a, v, terminating); err != nil {
		return fmt.Errorf("track status of job %s: %w", key, err)
	}
	return manageErr
}

// manage carries out act: it returns how many active pods it deleted
// (and of them ready), the active count after it, and the first error.
func (jc *Controller) manage(ctx context.Context, key string, job *batchv1.Job, act manageAction, active int32) (removed, removedReady, after int32, err error) {
	switch {
	case len(act.remove) > 0:
		podKeys := make([]string, len(act.remove))
		for i, p := range act.remove {
			podKeys[i] = p.Namespace + "/" + p.Name
		}
		jc.expectations.ExpectDeletions(key, podKeys)
		removed, removedReady, err = jc.deletePods(ctx, job, key, act.remove, true)
		return removed, removedReady, active - removed, err
	case act.wait > 0:
		jc.log.Debug("waiting for the back-off before replacing failed pods", "job", key, "wait", act.wait)
		jc.enqueueAfter(key, max(act.wait, batchDelay))
		return 0, 0, active, nil
	case act.create > 0:
		created, err := jc.createPods(ctx, key, job, act)
		return 0, 0, active + int32(created), err
	}
	return 0, 0, active, nil
}

// createPods creates act.create pods in slow-start batches, expecting
// each; it returns how many it created.
func (jc *Controller) createPods(ctx context.Context, key string, job *batchv1.Job, act manageAction) (int, error) {
	jc.expectations.ExpectCreations(key, act.create)
	jc.log.Debug("creating pods", "job", key, "count", act.create, "indexes", act.indexes)
	var tried atomic.Int32
	created, err := controller.SlowStartBatch(act.create, 1, func(i int) error {
		tried.Add(1)
		index := noIndex
		if i < len(act.indexes) {
			index = act.indexes[i]
		}
		err := jc.api.CreatePod(ctx, newPod(job, index), job)
		if err != nil {
			jc.expectations.CreationObserved(key) // never coming
		}
		return err
	})
	// Nor are the pods never tried.
	for range act.create - int(tried.Load()) {
		jc.expectations.CreationObserved(key)
	}
	if err != nil {
		err = fmt.Errorf("create pods of job %s: %w", key, err)
	}
	return created, err
}

// deletePods deletes pods in parallel, after taking their finalizer off
// when release is set (they are not to be counted). It returns how many
// are gone or going, and how many of those were ready.
func (jc *Controller) deletePods(ctx context.Context, job *batchv1.Job, key string, pods []*corev1.Pod, release bool) (int32, int32, error) {
	var (
		deleted, deletedReady atomic.Int32
		mu                    sync.Mutex
		errs                  []error
		wg                    sync.WaitGroup
	)
	for _, p := range pods {
		wg.Go(func() {
			err := func() error {
				if release && hasTrackingFinalizer(p) {
					if err := jc.patchPod(ctx, p, removeFinalizerPatch()); err != nil {
						return fmt.Errorf("remove tracking finalizer: %w", err)
					}
				}
				return jc.api.DeletePod(ctx, p, job)
			}()
			if err != nil && !apierrors.IsNotFound(err) {
				if release {
					jc.expectations.DeletionObserved(key, p.Namespace+"/"+p.Name)
				}
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			deleted.Add(1)
			if isReady(p) {
				deletedReady.Add(1)
			}
		})
	}
	wg.Wait()
	return deleted.Load(), deletedReady.Load(), errors.Join(errs...)
}

func (jc *Controller) patchPod(ctx context.Context, p *corev1.Pod, patch []byte) error {
	return jc.api.PatchPod(ctx, p.Namespace, p.Name, types.StrategicMergePatchType, patch)
}

// trackAndFinish counts the Job's finished pods into its status in the
// two steps that lose none (see the package comment), then adds the
// final condition when the verdict allows, and writes status only when
// it changed.
func (jc *Controller) trackAndFinish(ctx context.Context, key string, cached, job *batchv1.Job, in *input, a assessment, v *verdict, terminating int32) error {
	t := track(job, in.pods, v, in.finalizersGoing, a.prevIndexes, a.indexes, in.now)
	written := normalized(cached)
	flush := func() error {
		if apiequality.Semantic.DeepEqual(written.Status, job.Status) {
			return nil
		}
		out, err := jc.api.UpdateJobStatus(ctx, job)
		if err != nil {
			return err
		}
		written = normalized(out)
		job.ResourceVersion = out.ResourceVersion
		return nil
	}
	// 1. Record who is about to be counted.
	if err := flush(); err != nil {
		return fmt.Errorf("record uncounted pods: %w", err)
	}
	jc.backoff.set(key, a.backoff)
	// 2. Let them go.
	var rmErr error
	if len(t.release) > 0 {
		var released []string
		released, rmErr = jc.releaseFinalizers(ctx, key, t.release)
		for _, uid := range released {
			t.withFinalizer.Delete(uid)
		}
	}
	// 3. Count them.
	countReleased(&job.Status, t.withFinalizer)
	if rmErr != nil {
		if err := flush(); err != nil {
			return fmt.Errorf("count pods: %w", err)
		}
		return rmErr
	}
	done := !t.full && finish(&job.Status, v, terminating, in.now)
	if err := flush(); err != nil {
		return fmt.Errorf("count pods: %w", err)
	}
	if done {
		jc.finished(job, v)
	}
	return nil
}

// normalized is a copy of job whose status has uncountedTerminatedPods
// set, to compare statuses with.
func normalized(job *batchv1.Job) *batchv1.Job {
	out := job.DeepCopy()
	if out.Status.UncountedTerminatedPods == nil {
		out.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	return out
}

// releaseFinalizers removes the tracking finalizer of pods, expecting
// the removals, and returns the UIDs of those it removed (or found gone).
func (jc *Controller) releaseFinalizers(ctx context.Context, key string, pods []*corev1.Pod) ([]string, error) {
	uids := make([]string, len(pods))
	for i, p := range pods {
		uids[i] = string(p.UID)
	}
	jc.finalizers.expect(key, uids...)
	var (
		mu   sync.Mutex
		out  []string
		errs []error
		wg   sync.WaitGroup
	)
	for _, p := range pods {
		wg.Go(func() {
			err := jc.patchPod(ctx, p, removeFinalizerPatch())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				jc.finalizers.observed(key, string(p.UID)) // no update is coming
				if !apierrors.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("remove tracking finalizer of pod %s: %w", p.Name, err))
					return
				}
			}
			out = append(out, string(p.UID))
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// finished reports the Job's end in events.
func (jc *Controller) finished(job *batchv1.Job, v *verdict) {
	if !v.success {
		jc.event(job, corev1.EventTypeWarning, v.reason, v.message)
		return
	}
	if c := job.Spec.Completions; c != nil && job.Status.Succeeded > *c {
		jc.event(job, corev1.EventTypeWarning, "TooManySucceededPods", "Too many succeeded pods running after completion count reached")
	}
	jc.event(job, corev1.EventTypeNormal, "Completed", "Job completed")
}

func (jc *Controller) event(job *batchv1.Job, eventType, reason, message string) {
	jc.api.Event(job, eventType, reason, message)
}

// claimPods returns the Job's pods: those its controller reference names
// and its selector matches, adopting matching orphans (and giving them
// the tracking finalizer) and releasing pods it no longer selects.
func (jc *Controller) claimPods(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector of job %s/%s: %w", job.Namespace, job.Name, err)
	}
	all, err := listers.NewNamespaced(jc.pods, job.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	orphans := sets.New[types.UID]()
	for _, p := range all {
		if metav1.GetControllerOfNoCopy(p) == nil {
			orphans.Insert(p.UID)
		}
	}
	m := &controller.RefManager{
		Owner: job, OwnerGVK: jobGVK, Selector: sel,
		Patch: func(ctx context.Context, ns, name string, pt types.PatchType, data []byte) error {
			return jc.api.PatchPod(ctx, ns, name, pt, data)
		},
		CanAdopt: controller.RecheckOwner(job, func(ctx context.Context) (*batchv1.Job, error) {
			return jc.api.GetJob(ctx, job.Namespace, job.Name)
		}),
	}
	pods, claimErr := controller.Claim(ctx, m, all)
	for i, p := range pods {
		if orphans.Has(p.UID) && !hasTrackingFinalizer(p) {
			if err := jc.patchPod(ctx, p, addFinalizerPatch()); err != nil && !apierrors.IsNotFound(err) {
				claimErr = errors.Join(claimErr, fmt.Errorf("track adopted pod %s: %w", p.Name, err))
			}
			pods[i] = p.DeepCopy()
			pods[i].Finalizers = append(pods[i].Finalizers, batchv1.JobTrackingFinalizer)
		}
	}
	return pods, claimErr
}

// syncOrphan takes the tracking finalizer off a pod (key) that no
// running Job controls: an orphan, a pod of a deleted Job, or of a
// finished one.
func (jc *Controller) syncOrphan(ctx context.Context, key string) error {
	ns, name := controller.SplitKey(key)
	pod, err := listers.NewNamespaced(jc.pods, ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !hasTrackingFinalizer(pod) {
		return nil
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if ref.Kind != jobGVK.Kind || ref.APIVersion != jobGVK.GroupVersion().String() {
			return nil // not a Job's pod: not ours to touch
		}
		if job := jc.jobOf(ns, ref); job != nil {
			if m := job.Spec.ManagedBy; m != nil && *m != managedByUs {
				return nil
			}
			if !isFinished(job) {
				return nil // its Job counts it
			}
		}
	}
	if err := jc.patchPod(ctx, pod, removeFinalizerPatch()); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove tracking finalizer of orphan pod %s: %w", key, err)
	}
	return nil
}
