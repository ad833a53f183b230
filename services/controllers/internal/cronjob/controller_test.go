package cronjob

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeAPI stands for the API server and the informer caches at once:
// what the controller writes is in the caches at once.
type fakeAPI struct {
	t        *testing.T
	mu       sync.Mutex
	jobs     cache.Indexer
	cronJobs cache.Indexer
	rv       int
	created  []string
	deleted  []string
	events   []string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	idx := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	return &fakeAPI{t: t, jobs: idx(), cronJobs: idx()}
}

func (f *fakeAPI) nextRV() string { f.rv++; return strconv.Itoa(f.rv) }

func (f *fakeAPI) GetJob(_ context.Context, ns, name string) (*batchv1.Job, error) {
	obj, ok, _ := f.jobs.GetByKey(ns + "/" + name)
	if !ok {
		return nil, apierrors.NewNotFound(batchv1.Resource("jobs"), name)
	}
	return obj.(*batchv1.Job).DeepCopy(), nil
}

func (f *fakeAPI) CreateJob(_ context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok, _ := f.jobs.GetByKey(job.Namespace + "/" + job.Name); ok {
		return nil, apierrors.NewAlreadyExists(batchv1.Resource("jobs"), job.Name)
	}
	out := job.DeepCopy()
	out.UID = types.UID("uid-" + job.Name)
	out.ResourceVersion = f.nextRV()
	if err := f.jobs.Add(out); err != nil {
		return nil, err
	}
	f.created = append(f.created, job.Name)
	return out.DeepCopy(), nil
}

func (f *fakeAPI) DeleteJob(_ context.Context, ns, name string, uid types.UID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	obj, ok, _ := f.jobs.GetByKey(ns + "/" + name)
	if !ok || obj.(*batchv1.Job).UID != uid {
		return apierrors.NewNotFound(batchv1.Resource("jobs"), name)
	}
	f.deleted = append(f.deleted, name)
	return f.jobs.Delete(obj)
}

func (f *fakeAPI) GetCronJob(_ context.Context, ns, name string) (*batchv1.CronJob, error) {
	obj, ok, _ := f.cronJobs.GetByKey(ns + "/" + name)
	if !ok {
		return nil, apierrors.NewNotFound(batchv1.Resource("cronjobs"), name)
	}
	return obj.(*batchv1.CronJob).DeepCopy(), nil
}

func (f *fakeAPI) UpdateStatus(_ context.Context, cj *batchv1.CronJob) (*batchv1.CronJob, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := cj.DeepCopy()
	out.ResourceVersion = f.nextRV()
	return out, f.cronJobs.Update(out)
}

func (f *fakeAPI) Event(_ corev1.ObjectReference, _, reason, _ string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, reason)
}

// takeEvents returns the events recorded since the last call.
func (f *fakeAPI) takeEvents() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]string{}, f.events...)
	f.events = nil
	return out
}

func (f *fakeAPI) cronJob() *batchv1.CronJob {
	obj, _, _ := f.cronJobs.GetByKey("ns/backup")
	return obj.(*batchv1.CronJob)
}

// finishJob marks a Job finished, at now.
func (f *fakeAPI) finishJob(name string, cond batchv1.JobConditionType, now time.Time) {
	obj, ok, _ := f.jobs.GetByKey("ns/" + name)
	if !ok {
		f.t.Fatalf("no job %s", name)
	}
	j := obj.(*batchv1.Job).DeepCopy()
	j.Status.StartTime = &metav1.Time{Time: now.Add(-time.Second)}
	j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now)}}
	if cond == batchv1.JobComplete {
		j.Status.CompletionTime = &metav1.Time{Time: now}
	}
	if err := f.jobs.Update(j); err != nil {
		f.t.Fatal(err)
	}
}

// harness is a CronJob controller over a fakeAPI with a fake clock.
type harness struct {
	t       *testing.T
	api     *fakeAPI
	clock   *clocktesting.FakeClock
	c       *Controller
	requeue *time.Duration
}

func newHarness(t *testing.T, cj *batchv1.CronJob, now time.Time) *harness {
	h := &harness{t: t, api: newFakeAPI(t), clock: clocktesting.NewFakeClock(now)}
	if err := h.api.cronJobs.Add(cj); err != nil {
		t.Fatal(err)
	}
	h.c = &Controller{
		cronJobs: listers.New[*batchv1.CronJob](h.api.cronJobs, batchv1.Resource("cronjobs")),
		jobs:     listers.New[*batchv1.Job](h.api.jobs, batchv1.Resource("jobs")),
		jobCtl:   h.api, cjCtl: h.api, recorder: h.api,
		clock: h.clock, local: time.UTC,
		log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		enqueueAfter: func(key string, d time.Duration) {
			if key != "ns/backup" {
				t.Errorf("requeued %q", key)
			}
			h.requeue = &d
		},
	}
	return h
}

// sync runs one sync and returns the events it recorded.
func (h *harness) sync() []string {
	h.t.Helper()
	h.requeue = nil
	if err := h.c.sync(context.Background(), "ns/backup"); err != nil {
		h.t.Fatalf("sync at %v: %v", h.clock.Now(), err)
	}
	return h.api.takeEvents()
}

// wake advances the clock to when the controller asked to be synced.
func (h *harness) wake() {
	h.t.Helper()
	if h.requeue == nil {
		h.t.Fatal("the controller asked for no later sync")
	}
	h.clock.Step(*h.requeue)
}

func (h *harness) active() []string {
	var out []string
	for _, r := range h.api.cronJob().Status.Active {
		out = append(out, r.Name)
	}
	return out
}

func minuteJob(at time.Time) string { return "backup-" + strconv.FormatInt(at.Unix()/60, 10) }

// TestCronJobFiring: CronJob firing with a fake clock. An every-minute
// CronJob with concurrencyPolicy Forbid and a history of one success
// starts a Job at each minute, skips a minute while its Job runs, starts
// the late one when the Job finishes, and prunes its history.
func TestCronJobFiring(t *testing.T) {
	created := t0.Add(30 * time.Second)
	cj := testCronJob("* * * * *", created)
	cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
	cj.Spec.SuccessfulJobsHistoryLimit = ptrTo(int32(1))
	h := newHarness(t, cj, created)
	m1, m2, m3 := t0.Add(time.Minute), t0.Add(2*time.Minute), t0.Add(3*time.Minute)

	// Created half a minute before the first start time: nothing yet.
	if ev := h.sync(); len(ev) != 0 || len(h.api.created) != 0 {
		t.Fatalf("before the first start time: events %v, created %v", ev, h.api.created)
	}
	if *h.requeue != 30*time.Second+nextScheduleDelta {
		t.Fatalf("requeue after %v, want 30.1s", *h.requeue)
	}

	// The first minute: a Job.
	h.wake()
	if ev := h.sync(); !slices.Equal(ev, []string{"SuccessfulCreate"}) {
		t.Fatalf("at the first minute: events %v", ev)
	}
	if !slices.Equal(h.api.created, []string{minuteJob(m1)}) || !slices.Equal(h.active(), []string{minuteJob(m1)}) {
		t.Fatalf("created %v, active %v", h.api.created, h.active())
	}
	job, _ := h.api.GetJob(context.Background(), "ns", minuteJob(m1))
	if got := job.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != m1.Format(time.RFC3339) {
		t.Errorf("scheduled timestamp %q", got)
	}
	if st := h.api.cronJob().Status; st.LastScheduleTime == nil || !st.LastScheduleTime.Time.Equal(m1) {
		t.Errorf("lastScheduleTime %v, want %v", st.LastScheduleTime, m1)
	}
	if *h.requeue != time.Minute {
		t.Fatalf("requeue after %v, want 1m", *h.requeue)
	}

	// The second minute: the Job still runs, Forbid skips.
	h.wake()
	if ev := h.sync(); !slices.Equal(ev, []string{"JobAlreadyActive"}) || len(h.api.created) != 1 {
		t.Fatalf("with a job running: events %v, created %v", ev, h.api.created)
	}

	// The Job completes a little later: the late start goes ahead.
	h.clock.Step(10 * time.Second)
	h.api.finishJob(minuteJob(m1), batchv1.JobComplete, h.clock.Now())
	if ev := h.sync(); !slices.Equal(ev, []string{"SawCompletedJob", "SuccessfulCreate"}) {
		t.Fatalf("after the job completed: events %v", ev)
	}
	st := h.api.cronJob().Status
	if !slices.Equal(h.active(), []string{minuteJob(m2)}) || st.LastSuccessfulTime == nil || !st.LastSuccessfulTime.Time.Equal(h.clock.Now()) {
		t.Fatalf("active %v, lastSuccessfulTime %v", h.active(), st.LastSuccessfulTime)
	}

	// The third minute's Job completes too: the first goes (history 1).
	h.api.finishJob(minuteJob(m2), batchv1.JobComplete, h.clock.Now())
	h.sync()
	h.wake()
	if ev := h.sync(); !slices.Contains(ev, "SuccessfulCreate") || !slices.Contains(h.api.created, minuteJob(m3)) {
		t.Fatalf("third minute: events %v, created %v", ev, h.api.created)
	}
	h.api.finishJob(minuteJob(m3), batchv1.JobComplete, h.clock.Now())
	if ev := h.sync(); !slices.Contains(ev, "SuccessfulDelete") {
		t.Fatalf("history limit: events %v", ev)
	}
	if !slices.Equal(h.api.deleted, []string{minuteJob(m1), minuteJob(m2)}) {
		t.Fatalf("deleted %v, want the two oldest", h.api.deleted)
	}
}

// TestCronJobReplace: with Replace, the running Job is deleted and the
// next one created in its place.
func TestCronJobReplace(t *testing.T) {
	cj := testCronJob("*/5 * * * *", t0.Add(-time.Minute))
	cj.Spec.ConcurrencyPolicy = batchv1.ReplaceConcurrent
	h := newHarness(t, cj, t0.Add(time.Second))
	if ev := h.sync(); !slices.Equal(ev, []string{"SuccessfulCreate"}) {
		t.Fatalf("first start: %v", ev)
	}
	h.wake()
	if ev := h.sync(); !slices.Equal(ev, []string{"SuccessfulDelete", "SuccessfulCreate"}) {
		t.Fatalf("second start: %v", ev)
	}
	five := t0.Add(5 * time.Minute)
	if !slices.Equal(h.api.deleted, []string{minuteJob(t0)}) || !slices.Equal(h.active(), []string{minuteJob(five)}) {
		t.Fatalf("deleted %v, active %v", h.api.deleted, h.active())
	}
}

// TestCronJobSuspendedAndDeadline: a suspended CronJob starts nothing and
// asks for no wake-up; resumed long after its start time with a short
// startingDeadlineSeconds, it reports the miss and waits for the next.
func TestCronJobSuspendedAndDeadline(t *testing.T) {
	cj := testCronJob("@hourly", t0.Add(-time.Minute))
	cj.Spec.Suspend = ptrTo(true)
	cj.Spec.StartingDeadlineSeconds = ptrTo(int64(60))
	h := newHarness(t, cj, t0.Add(10*time.Minute))
	if ev := h.sync(); len(ev) != 0 || h.requeue != nil || len(h.api.created) != 0 {
		t.Fatalf("suspended: events %v, requeue %v, created %v", ev, h.requeue, h.api.created)
	}
	resumed := h.api.cronJob().DeepCopy()
	resumed.Spec.Suspend = ptrTo(false)
	if err := h.api.cronJobs.Update(resumed); err != nil {
		t.Fatal(err)
	}
	if ev := h.sync(); !slices.Equal(ev, []string{"MissSchedule"}) || len(h.api.created) != 0 {
		t.Fatalf("resumed late: events %v, created %v", ev, h.api.created)
	}
	if *h.requeue != 50*time.Minute+nextScheduleDelta {
		t.Fatalf("requeue after %v, want 50m", *h.requeue)
	}
	h.wake()
	if ev := h.sync(); !slices.Equal(ev, []string{"SuccessfulCreate"}) {
		t.Fatalf("next hour: %v", ev)
	}
}

// TestCronJobCreatedButStatusLost: a Job created by a sync whose status
// write was lost is found (AlreadyExists) and made active, not doubled.
func TestCronJobCreatedButStatusLost(t *testing.T) {
	cj := testCronJob("* * * * *", t0.Add(-30*time.Second))
	h := newHarness(t, cj, t0.Add(time.Second))
	job, err := jobFromTemplate(cj, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.api.CreateJob(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	ev := h.sync()
	if !slices.Equal(ev, []string{"UnexpectedJob"}) || len(h.api.created) != 1 || !slices.Equal(h.active(), []string{minuteJob(t0)}) {
		t.Fatalf("events %v, created %v, active %v", ev, h.api.created, h.active())
	}
}
