package job

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// TTLController deletes finished Jobs once their
// spec.ttlSecondsAfterFinished has passed (kube-controller-manager's
// ttl-after-finished controller).
type TTLController struct {
	jobsAPI *client.Resource[*batchv1.Job, *batchv1.JobList]
	jobs    listers.ResourceIndexer[*batchv1.Job]
	clock   clock.PassiveClock
	log     *slog.Logger
	loop    *controller.Loop
}

// NewTTLAfterFinished builds the TTL-after-finished controller.
func NewTTLAfterFinished(c *controller.Context) (controller.Runnable, error) {
	inf := client.InformerFor(c.Informers, client.Jobs)
	tc := &TTLController{
		jobsAPI: client.Jobs(c.Client),
		jobs:    client.Lister(client.Jobs(c.Client), inf),
		clock:   c.Clock,
		log:     c.Log.With("controller", "ttl-after-finished"),
	}
	tc.loop = controller.NewLoop(c, "ttl_jobs_to_delete", tc.sync, inf.HasSynced)
	enqueue := func(obj any) {
		if job, ok := obj.(*batchv1.Job); ok && job.DeletionTimestamp == nil && needsCleanup(job) {
			tc.loop.Enqueue(job)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, cur any) { enqueue(cur) },
	}); err != nil {
		return nil, fmt.Errorf("job handler: %w", err)
	}
	return tc, nil
}

// Run runs the loop until ctx ends.
func (tc *TTLController) Run(ctx context.Context) error { return tc.loop.Run(ctx) }

// needsCleanup: the Job has a TTL and has finished.
func needsCleanup(job *batchv1.Job) bool {
	return job.Spec.TTLSecondsAfterFinished != nil && isFinished(job)
}

// timeLeft is how long until a finished Job with a TTL expires (<= 0:
// expired).
func timeLeft(job *batchv1.Job, now time.Time) (time.Duration, error) {
	at := finishedAtTime(job)
	if at.IsZero() {
		return 0, fmt.Errorf("unable to find the time when the Job %s/%s finished", job.Namespace, job.Name)
	}
	return at.Add(time.Duration(*job.Spec.TTLSecondsAfterFinished) * time.Second).Sub(now), nil
}

// expired reports whether job should go now; if it should later, it
// queues its key for then.
func (tc *TTLController) expired(key string, job *batchv1.Job) (bool, error) {
	if job.DeletionTimestamp != nil || !needsCleanup(job) {
		return false, nil
	}
	now := tc.clock.Now()
	if at := finishedAtTime(job); at.After(now) {
		tc.log.Info("job finished in the future (clock skew?); its cleanup waits", "job", key, "finished", at)
	}
	left, err := timeLeft(job, now)
	if err != nil {
		return false, err
	}
	if left > 0 {
		tc.loop.EnqueueAfter(key, left)
		return false, nil
	}
	return true, nil
}

// sync deletes the Job key names if its TTL has run out, checking a
// fresh copy first (the TTL may have been changed meanwhile).
func (tc *TTLController) sync(ctx context.Context, key string) error {
	ns, name := controller.SplitKey(key)
	job, err := listers.NewNamespaced(tc.jobs, ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ok, err := tc.expired(key, job); !ok || err != nil {
		return err
	}
	fresh, err := tc.jobsAPI.Get(ctx, ns, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get job %s: %w", key, err)
	}
	if ok, err := tc.expired(key, fresh); !ok || err != nil {
		return err
	}
	policy := metav1.DeletePropagationBackground
	err = tc.jobsAPI.Delete(ctx, ns, name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &fresh.UID, ResourceVersion: &fresh.ResourceVersion},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete expired job %s: %w", key, err)
	}
	tc.log.Info("deleted finished job whose TTL expired", "job", key)
	return nil
}
