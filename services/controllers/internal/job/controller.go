package job

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

const (
	// component is the controller's name in events.
	component = "job-controller"
	// batchDelay gathers the pod events of a Job into one sync.
	batchDelay = time.Second
	// managedByUs is the spec.managedBy value (or its absence) meaning
	// this controller.
	managedByUs = "kubernetes.io/job-controller"
)

// Controller is the Job controller.
type Controller struct {
	api   api
	jobs  listers.ResourceIndexer[*batchv1.Job]
	pods  listers.ResourceIndexer[*corev1.Pod]
	clock clock.PassiveClock
	log   *slog.Logger

	expectations *controller.Expectations
	finalizers   *finalizerExpectations
	backoff      *backoffStore

	loop *controller.Loop
	// enqueueAfter queues a Job key for later (the loop's; in tests a
	// recorder).
	enqueueAfter func(key string, d time.Duration)
	// orphans removes the tracking finalizer of pods no running Job of
	// ours controls any more (keys are pod keys).
	orphans *controller.Loop
}

// New builds the Job controller.
func New(c *controller.Context) (controller.Runnable, error) {
	jobInf := client.InformerFor(c.Informers, client.Jobs)
	podInf := client.InformerFor(c.Informers, client.Pods)
	jc := &Controller{
		api:   newAPIClient(c),
		jobs:  client.Lister(client.Jobs(c.Client), jobInf),
		pods:  client.Lister(client.Pods(c.Client), podInf),
		clock: c.Clock, log: c.Log.With("controller", "job"),
		expectations: controller.NewExpectations(c.Clock),
		finalizers:   newFinalizerExpectations(),
		backoff:      newBackoffStore(),
	}
	jc.loop = controller.NewLoop(c, "job", jc.sync, jobInf.HasSynced, podInf.HasSynced)
	jc.enqueueAfter = jc.loop.EnqueueAfter
	jc.orphans = controller.NewLoop(c, "job_orphan_pod", jc.syncOrphan, jobInf.HasSynced, podInf.HasSynced)
	jc.orphans.SetWorkers(1)
	if _, err := jobInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { jc.loop.Enqueue(obj) },
		UpdateFunc: jc.updateJob,
		DeleteFunc: jc.deleteJob,
	}); err != nil {
		return nil, fmt.Errorf("job handler: %w", err)
	}
	if _, err := podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    jc.addPod,
		UpdateFunc: jc.updatePod,
		DeleteFunc: func(obj any) { jc.deletePod(obj, true) },
	}); err != nil {
		return nil, fmt.Errorf("pod handler: %w", err)
	}
	return jc, nil
}

// Run runs the Job loop and the orphan-pod loop until ctx ends.
func (jc *Controller) Run(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- jc.orphans.Run(ctx) }()
	err := jc.loop.Run(ctx)
	if oerr := <-done; err == nil {
		err = oerr
	}
	return err
}

func (jc *Controller) enqueueBatched(job *batchv1.Job) {
	key, err := cache.MetaNamespaceKeyFunc(job)
	if err != nil {
		return
	}
	jc.enqueueAfter(key, batchDelay)
}

func (jc *Controller) updateJob(old, cur any) {
	oldJob, ok1 := old.(*batchv1.Job)
	curJob, ok2 := cur.(*batchv1.Job)
	if !ok1 || !ok2 {
		return
	}
	if curJob.Generation != oldJob.Generation {
		jc.loop.Enqueue(curJob) // spec changed: at once
	} else {
		jc.enqueueBatched(curJob)
	}
	if isFinished(curJob) {
		jc.releasePods(curJob)
	}
	// A new deadline: check again when it runs out.
	if ads := curJob.Spec.ActiveDeadlineSeconds; ads != nil && curJob.Status.StartTime != nil {
		if old := oldJob.Spec.ActiveDeadlineSeconds; old == nil || *old != *ads {
			if key, err := cache.MetaNamespaceKeyFunc(curJob); err == nil {
				jc.enqueueAfter(key, deadline(curJob, curJob.Status.StartTime).Sub(jc.clock.Now()))
			}
		}
	}
}

func (jc *Controller) deleteJob(obj any) {
	jc.loop.Enqueue(obj)
	job, ok := controller.Deleted[*batchv1.Job](obj)
	if !ok {
		return
	}
	jc.releasePods(job)
}

// releasePods queues the pods of a finished or deleted Job that still
// hold the tracking finalizer, for the orphan loop to remove it.
func (jc *Controller) releasePods(job *batchv1.Job) {
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return
	}
	pods, err := listers.NewNamespaced(jc.pods, job.Namespace).List(sel)
	if err != nil {
		return
	}
	for _, p := range pods {
		if metav1.IsControlledBy(p, job) && hasTrackingFinalizer(p) {
			jc.orphans.Enqueue(p)
		}
	}
}

// jobOf returns the cached Job a controller reference names, or nil.
func (jc *Controller) jobOf(namespace string, ref *metav1.OwnerReference) *batchv1.Job {
	job, _ := controller.ResolveControllerRef(jc.jobs, jobGVK, namespace, ref)
	return job
}

// selectingJobs are the Jobs whose selector matches an orphan pod's
// labels (candidates to adopt it).
func (jc *Controller) selectingJobs(pod *corev1.Pod) []*batchv1.Job {
	return controller.Selecting(jc.jobs, pod.Namespace, pod.Labels, func(j *batchv1.Job) *metav1.LabelSelector { return j.Spec.Selector })
}

func jobKey(job *batchv1.Job) string { return job.Namespace + "/" + job.Name }

func (jc *Controller) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.DeletionTimestamp != nil {
		// Seen for the first time already being deleted (a restart): not
		// a creation to observe.
		jc.deletePod(pod, false)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		job := jc.jobOf(pod.Namespace, ref)
		if job == nil {
			if hasTrackingFinalizer(pod) && ref.Kind == jobGVK.Kind {
				jc.orphans.Enqueue(pod)
			}
			return
		}
		jc.expectations.CreationObserved(jobKey(job))
		jc.enqueueBatched(job)
		return
	}
	if hasTrackingFinalizer(pod) {
		jc.orphans.Enqueue(pod)
	}
	for _, job := range jc.selectingJobs(pod) {
		jc.enqueueBatched(job)
	}
}

func (jc *Controller) updatePod(old, cur any) {
	oldPod, ok1 := old.(*corev1.Pod)
	curPod, ok2 := cur.(*corev1.Pod)
	if !ok1 || !ok2 || curPod.ResourceVersion == oldPod.ResourceVersion {
		return
	}
	if curPod.DeletionTimestamp != nil {
		// Being deleted: the Job need not wait for the pod to go to
		// replace it.
		jc.deletePod(curPod, false)
		return
	}
	released := !hasTrackingFinalizer(curPod)
	curRef, oldRef := metav1.GetControllerOfNoCopy(curPod), metav1.GetControllerOfNoCopy(oldPod)
	refChanged := !reflect.DeepEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		if job := jc.jobOf(oldPod.Namespace, oldRef); job != nil {
			if released {
				jc.finalizers.observed(jobKey(job), string(curPod.UID))
			}
			jc.enqueueBatched(job)
		}
	}
	if curRef != nil {
		job := jc.jobOf(curPod.Namespace, curRef)
		if job == nil {
			if !released && curRef.Kind == jobGVK.Kind {
				jc.orphans.Enqueue(curPod)
			}
			return
		}
		if released {
			jc.finalizers.observed(jobKey(job), string(curPod.UID))
		}
		jc.enqueueBatched(job)
		return
	}
	if !released {
		jc.orphans.Enqueue(curPod)
	}
	if refChanged || !reflect.DeepEqual(curPod.Labels, oldPod.Labels) {
		for _, job := range jc.selectingJobs(curPod) {
			jc.enqueueBatched(job)
		}
	}
}

// deletePod handles a pod deleted (final) or marked for deletion.
func (jc *Controller) deletePod(obj any, final bool) {
	pod, ok := controller.Deleted[*corev1.Pod](obj)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil {
		if hasTrackingFinalizer(pod) && !final {
			jc.orphans.Enqueue(pod)
		}
		return
	}
	job := jc.jobOf(pod.Namespace, ref)
	if job == nil || isFinished(job) {
		if hasTrackingFinalizer(pod) && !final && ref.Kind == jobGVK.Kind {
			jc.orphans.Enqueue(pod)
		}
		return
	}
	key := jobKey(job)
	jc.expectations.DeletionObserved(key, pod.Namespace+"/"+pod.Name)
	if final || !hasTrackingFinalizer(pod) {
		jc.finalizers.observed(key, string(pod.UID))
	}
	jc.enqueueBatched(job)
}
