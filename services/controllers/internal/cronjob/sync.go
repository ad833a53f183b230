package cronjob

import (
	"context"
	"errors"
	"fmt"

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

// sync gathers the CronJob key names, its Jobs and the active Jobs gone
// from the API server, asks decide for a plan, carries it out (deletes,
// create), writes the status if it changed and queues the CronJob for its
// next start time.
func (cc *Controller) sync(ctx context.Context, key string) error {
	ns, name := controller.SplitKey(key)
	cached, err := listers.NewNamespaced(cc.cronJobs, ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get cronjob %s: %w", key, err)
	}
	cj := cached.DeepCopy()
	jobs, err := cc.ownedJobs(cj)
	if err != nil {
		return err
	}
	if cc.unlisted(cj, jobs) {
		// A running Job missing from status.active: the cache may lag
		// behind the status we wrote; ask the API server.
		fresh, err := cc.cjCtl.GetCronJob(ctx, ns, name)
		if err != nil {
			return fmt.Errorf("get cronjob %s: %w", key, err)
		}
		if fresh.UID == cj.UID {
			cj = fresh
		}
	}
	gone, err := cc.goneJobs(ctx, cj, jobs)
	if err != nil {
		return err
	}
	p := decide(&input{cj: cj, jobs: jobs, gone: gone, now: cc.clock.Now(), local: cc.local})
	for _, e := range p.events {
		cc.event(cj, e.eventType, e.reason, e.message)
	}
	runErr := cc.carryOut(ctx, cj, &p)
	if !apiequality.Semantic.DeepEqual(cj.Status, p.status) {
		next := cj.DeepCopy()
		next.Status = p.status
		if _, err := cc.cjCtl.UpdateStatus(ctx, next); err != nil {
			return errors.Join(runErr, fmt.Errorf("update status of cronjob %s: %w", key, err))
		}
	}
	if runErr != nil {
		return runErr
	}
	if p.requeueAfter != nil {
		cc.log.Debug("next sync", "cronjob", key, "after", *p.requeueAfter)
		cc.enqueueAfter(key, *p.requeueAfter)
	}
	return nil
}

// carryOut deletes the Jobs beyond history, then the Jobs to replace,
// then creates the new Job, updating p.status with what happened.
func (cc *Controller) carryOut(ctx context.Context, cj *batchv1.CronJob, p *plan) error {
	for _, j := range p.prune {
		if err := cc.deleteJob(ctx, cj, j.Namespace, j.Name, j.UID); err != nil {
			cc.log.Warn("could not delete job beyond history limit", "cronjob", cj.Namespace+"/"+cj.Name, "job", j.Name, "err", err)
		}
	}
	for i, ref := range p.replace {
		if err := cc.deleteJob(ctx, cj, ref.Namespace, ref.Name, ref.UID); err != nil {
			// Still running: it stays active, and nothing starts.
			p.status.Active = append(p.status.Active, p.replace[i:]...)
			return fmt.Errorf("could not replace job %s/%s: %w", ref.Namespace, ref.Name, err)
		}
	}
	if p.create == nil {
		return nil
	}
	job, err := cc.jobCtl.CreateJob(ctx, p.create)
	switch {
	case apierrors.IsAlreadyExists(err):
		// Created by an earlier sync whose status write was lost, or by
		// someone else (then it is theirs to account for).
		existing, err := cc.jobCtl.GetJob(ctx, p.create.Namespace, p.create.Name)
		if err != nil {
			return fmt.Errorf("get job %s: %w", p.create.Name, err)
		}
		if !metav1.IsControlledBy(existing, cj) || inActive(p.status.Active, existing.UID) {
			return nil
		}
		job = existing
	case err != nil:
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			cc.event(cj, corev1.EventTypeWarning, "FailedCreate", fmt.Sprintf("Error creating job: %v", err))
		}
		return fmt.Errorf("create job %s: %w", p.create.Name, err)
	default:
		cc.event(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job "+job.Name)
	}
	p.status.Active = append(p.status.Active, jobRef(job))
	p.status.LastScheduleTime = &metav1.Time{Time: p.scheduled}
	return nil
}

// deleteJob deletes a Job (gone already is fine) and records it.
func (cc *Controller) deleteJob(ctx context.Context, cj *batchv1.CronJob, namespace, name string, uid types.UID) error {
	err := cc.jobCtl.DeleteJob(ctx, namespace, name, uid)
	if err != nil && !apierrors.IsNotFound(err) {
		cc.event(cj, corev1.EventTypeWarning, "FailedDelete", fmt.Sprintf("Deleted job: %v", err))
		return err
	}
	cc.event(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job "+name)
	return nil
}

// ownedJobs are the cached Jobs the CronJob controls.
func (cc *Controller) ownedJobs(cj *batchv1.CronJob) ([]*batchv1.Job, error) {
	all, err := listers.NewNamespaced(cc.jobs, cj.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list jobs of cronjob %s/%s: %w", cj.Namespace, cj.Name, err)
	}
	var out []*batchv1.Job
	for _, j := range all {
		if metav1.IsControlledBy(j, cj) {
			out = append(out, j)
		}
	}
	return out, nil
}

// unlisted: a running Job of the CronJob is not in its status.active.
func (cc *Controller) unlisted(cj *batchv1.CronJob, jobs []*batchv1.Job) bool {
	for _, j := range jobs {
		if done, _ := finished(j); !done && !inActive(cj.Status.Active, j.UID) {
			return true
		}
	}
	return false
}

// goneJobs asks the API server about the active Jobs the cache does not
// hold, and returns the UIDs of those it does not have either.
func (cc *Controller) goneJobs(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) (sets.Set[types.UID], error) {
	cached := sets.New[types.UID]()
	for _, j := range jobs {
		cached.Insert(j.UID)
	}
	gone := sets.New[types.UID]()
	for _, ref := range cj.Status.Active {
		if cached.Has(ref.UID) {
			continue
		}
		j, err := cc.jobCtl.GetJob(ctx, ref.Namespace, ref.Name)
		switch {
		case apierrors.IsNotFound(err):
			gone.Insert(ref.UID)
		case err != nil:
			return nil, fmt.Errorf("get job %s/%s: %w", ref.Namespace, ref.Name, err)
		case j.UID != ref.UID:
			gone.Insert(ref.UID) // a namesake
		}
	}
	return gone, nil
}

func (cc *Controller) event(cj *batchv1.CronJob, eventType, reason, message string) {
	cc.recorder.Event(controller.Ref(cj, cronJobGVK), eventType, reason, message)
}
