package cronjob

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// component is the controller's name in events.
const component = "cronjob-controller"

// jobControl is what the controller does to Jobs through the API server.
type jobControl interface {
	GetJob(ctx context.Context, namespace, name string) (*batchv1.Job, error)
	CreateJob(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error)
	// DeleteJob deletes the Job (only if its UID is uid), its pods in the
	// background.
	DeleteJob(ctx context.Context, namespace, name string, uid types.UID) error
}

// cronJobControl reads and writes CronJobs through the API server.
type cronJobControl interface {
	GetCronJob(ctx context.Context, namespace, name string) (*batchv1.CronJob, error)
	UpdateStatus(ctx context.Context, cj *batchv1.CronJob) (*batchv1.CronJob, error)
}

// recorder records Events.
type recorder interface {
	Event(ref corev1.ObjectReference, eventType, reason, message string)
}

// Controller is the CronJob controller.
type Controller struct {
	cronJobs listers.ResourceIndexer[*batchv1.CronJob]
	jobs     listers.ResourceIndexer[*batchv1.Job]
	jobCtl   jobControl
	cjCtl    cronJobControl
	recorder recorder
	clock    clock.PassiveClock
	// local is the time zone of CronJobs without spec.timeZone.
	local *time.Location
	log   *slog.Logger
	loop  *controller.Loop
	// enqueueAfter queues a CronJob key for later (the loop's, in tests a
	// recorder of requeues).
	enqueueAfter func(key string, d time.Duration)
}

// New builds the CronJob controller.
func New(c *controller.Context) (controller.Runnable, error) {
	cjInf := client.InformerFor(c.Informers, client.CronJobs)
	jobInf := client.InformerFor(c.Informers, client.Jobs)
	api := apiControl{jobs: client.Jobs(c.Client), cronJobs: client.CronJobs(c.Client)}
	cc := &Controller{
		cronJobs: client.Lister(client.CronJobs(c.Client), cjInf),
		jobs:     client.Lister(client.Jobs(c.Client), jobInf),
		jobCtl:   api, cjCtl: api,
		recorder: c.Recorder(component),
		clock:    c.Clock, local: time.Local,
		log: c.Log.With("controller", "cronjob"),
	}
	cc.loop = controller.NewLoop(c, "cronjob", cc.sync, cjInf.HasSynced, jobInf.HasSynced)
	cc.enqueueAfter = cc.loop.EnqueueAfter
	if _, err := cjInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { cc.loop.Enqueue(obj) },
		UpdateFunc: cc.updateCronJob,
		DeleteFunc: func(obj any) { cc.loop.Enqueue(obj) },
	}); err != nil {
		return nil, fmt.Errorf("cronjob handler: %w", err)
	}
	if _, err := jobInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: cc.jobChanged,
		UpdateFunc: func(old, cur any) {
			if o, ok := old.(*batchv1.Job); ok {
				if c, ok := cur.(*batchv1.Job); ok && o.ResourceVersion == c.ResourceVersion {
					return
				}
				cc.jobChanged(old)
			}
			cc.jobChanged(cur)
		},
		DeleteFunc: cc.jobChanged,
	}); err != nil {
		return nil, fmt.Errorf("job handler: %w", err)
	}
	return cc, nil
}

// Run runs the loop until ctx ends.
func (cc *Controller) Run(ctx context.Context) error { return cc.loop.Run(ctx) }

// updateCronJob syncs a changed CronJob now, or, when its schedule or
// time zone changed, at its next start time under the new schedule.
func (cc *Controller) updateCronJob(old, cur any) {
	o, ok1 := old.(*batchv1.CronJob)
	c, ok2 := cur.(*batchv1.CronJob)
	if !ok1 || !ok2 {
		return
	}
	if o.Spec.Schedule == c.Spec.Schedule && ptrEqual(o.Spec.TimeZone, c.Spec.TimeZone) {
		cc.loop.Enqueue(c)
		return
	}
	sched, err := parseSchedule(c, cc.local)
	if err != nil {
		// The sync reports it.
		cc.loop.Enqueue(c)
		return
	}
	if d := nextDelay(c, cc.clock.Now(), sched); d != nil {
		cc.enqueueAfter(c.Namespace+"/"+c.Name, *d)
	}
}

// jobChanged syncs the CronJob controlling a Job (obj, or its tombstone).
func (cc *Controller) jobChanged(obj any) {
	job, ok := controller.Deleted[*batchv1.Job](obj)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(job)
	if ref == nil || ref.Kind != cronJobGVK.Kind || ref.APIVersion != cronJobGVK.GroupVersion().String() {
		return
	}
	cj, err := listers.NewNamespaced(cc.cronJobs, job.Namespace).Get(ref.Name)
	if err != nil || cj.UID != ref.UID {
		return
	}
	cc.loop.Enqueue(cj)
}

func ptrEqual[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// apiControl is jobControl and cronJobControl over the API client.
type apiControl struct {
	jobs     *client.Resource[*batchv1.Job, *batchv1.JobList]
	cronJobs *client.Resource[*batchv1.CronJob, *batchv1.CronJobList]
}

func (a apiControl) GetJob(ctx context.Context, namespace, name string) (*batchv1.Job, error) {
	return a.jobs.Get(ctx, namespace, name, metav1.GetOptions{})
}

func (a apiControl) CreateJob(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	return a.jobs.Create(ctx, job, metav1.CreateOptions{})
}

func (a apiControl) DeleteJob(ctx context.Context, namespace, name string, uid types.UID) error {
	background := metav1.DeletePropagationBackground
	return a.jobs.Delete(ctx, namespace, name, metav1.DeleteOptions{
		PropagationPolicy: &background, Preconditions: &metav1.Preconditions{UID: &uid},
	})
}

func (a apiControl) GetCronJob(ctx context.Context, namespace, name string) (*batchv1.CronJob, error) {
	return a.cronJobs.Get(ctx, namespace, name, metav1.GetOptions{})
}

func (a apiControl) UpdateStatus(ctx context.Context, cj *batchv1.CronJob) (*batchv1.CronJob, error) {
	return a.cronJobs.UpdateStatus(ctx, cj, metav1.UpdateOptions{})
}
