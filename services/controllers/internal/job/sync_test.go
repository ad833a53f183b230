package job

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// fakeAPI is the API server for sync tests. Status writes and pod
// patches and deletions reach the cache at once (with their events);
// created pods reach it only when the test observes them, so that the
// test controls what the cache lags behind.
type fakeAPI struct {
	t      *testing.T
	clock  *clocktesting.FakeClock
	jc     *Controller
	jobs   cache.Indexer
	pods   cache.Indexer
	mu     sync.Mutex
	podMu  sync.Mutex // serializes pod updates
	rv     int
	fresh  []*corev1.Pod // created, not yet in the cache
	n      int
	writes int // status writes
	events []string
}

func (f *fakeAPI) nextRV() string { f.rv++; return strconv.Itoa(f.rv) }

func (f *fakeAPI) CreatePod(_ context.Context, pod *corev1.Pod, _ *batchv1.Job) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := pod.DeepCopy()
	f.n++
	p.Name = fmt.Sprintf("%s%d", p.GenerateName, f.n)
	p.UID = types.UID("uid-" + p.Name)
	p.ResourceVersion = f.nextRV()
	p.CreationTimestamp = metav1.NewTime(f.clock.Now())
	p.Status.Phase = corev1.PodPending
	f.fresh = append(f.fresh, p)
	f.events = append(f.events, "SuccessfulCreate")
	return nil
}

func (f *fakeAPI) DeletePod(_ context.Context, pod *corev1.Pod, _ *batchv1.Job) error {
	f.update(pod.Name, func(p *corev1.Pod) { p.DeletionTimestamp = ptrTo(metav1.NewTime(f.clock.Now())) })
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, "SuccessfulDelete")
	return nil
}

func (f *fakeAPI) PatchPod(_ context.Context, _, name string, _ types.PatchType, patch []byte) error {
	var m map[string]map[string][]string
	if err := json.Unmarshal(patch, &m); err != nil {
		f.t.Fatalf("patch %s: %v", patch, err)
	}
	if _, ok := m["metadata"]["$deleteFromPrimitiveList/finalizers"]; !ok {
		f.t.Fatalf("unexpected patch %s", patch)
	}
	if !f.update(name, func(p *corev1.Pod) { p.Finalizers = nil }) {
		return apierrors.NewNotFound(corev1.Resource("pods"), name)
	}
	return nil
}

func (f *fakeAPI) GetJob(_ context.Context, ns, name string) (*batchv1.Job, error) {
	obj, ok, _ := f.jobs.GetByKey(ns + "/" + name)
	if !ok {
		return nil, apierrors.NewNotFound(batchv1.Resource("jobs"), name)
	}
	return obj.(*batchv1.Job).DeepCopy(), nil
}

func (f *fakeAPI) UpdateJobStatus(_ context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	obj, _, _ := f.jobs.GetByKey(job.Namespace + "/" + job.Name)
	if cur := obj.(*batchv1.Job); cur.ResourceVersion != job.ResourceVersion {
		return nil, apierrors.NewConflict(batchv1.Resource("jobs"), job.Name, fmt.Errorf("stale"))
	}
	out := job.DeepCopy()
	out.ResourceVersion = f.nextRV()
	f.writes++
	return out.DeepCopy(), f.jobs.Update(out)
}

func (f *fakeAPI) Event(_ *batchv1.Job, _, reason, _ string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, reason)
}

// update changes a cached pod and tells the controller; it reports
// whether the pod exists.
func (f *fakeAPI) update(name string, change func(*corev1.Pod)) bool {
	f.podMu.Lock()
	defer f.podMu.Unlock()
	obj, ok, _ := f.pods.GetByKey("ns/" + name)
	if !ok {
		return false
	}
	old := obj.(*corev1.Pod)
	cur := old.DeepCopy()
	change(cur)
	f.mu.Lock()
	cur.ResourceVersion = f.nextRV()
	f.mu.Unlock()
	if err := f.pods.Update(cur); err != nil {
		f.t.Fatal(err)
	}
	f.jc.updatePod(old, cur)
	return true
}

// observe lets the cache see the pods created so far.
func (f *fakeAPI) observe() []string {
	f.mu.Lock()
	fresh := f.fresh
	f.fresh = nil
	f.mu.Unlock()
	var names []string
	for _, p := range fresh {
		if err := f.pods.Add(p); err != nil {
			f.t.Fatal(err)
		}
		f.jc.addPod(p)
		names = append(names, p.Name)
	}
	return names
}

func (f *fakeAPI) takeEvents() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]string{}, f.events...)
	f.events = nil
	return out
}

// finish ends a pod's container with code now.
func (f *fakeAPI) finish(name string, code int32) {
	f.update(name, func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodSucceeded
		if code != 0 {
			p.Status.Phase = corev1.PodFailed
		}
		exitCode(code, f.clock.Now())(p)
	})
}

type jobHarness struct {
	t       *testing.T
	mu      sync.Mutex // guards requeue
	api     *fakeAPI
	clock   *clocktesting.FakeClock
	jc      *Controller
	requeue []time.Duration
}

func newJobHarness(t *testing.T, job *batchv1.Job) *jobHarness {
	clk := clocktesting.NewFakeClock(t0)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cctx := controller.NewContext(nil, nil, prometheus.NewRegistry(), log, clk, "test", controller.Options{})
	idx := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	h := &jobHarness{t: t, clock: clk}
	f := &fakeAPI{t: t, clock: clk, jobs: idx(), pods: idx()}
	h.api = f
	h.jc = &Controller{
		api:   f,
		jobs:  listers.New[*batchv1.Job](f.jobs, batchv1.Resource("jobs")),
		pods:  listers.New[*corev1.Pod](f.pods, corev1.Resource("pods")),
		clock: clk, log: log,
		expectations: controller.NewExpectations(clk),
		finalizers:   newFinalizerExpectations(),
		backoff:      newBackoffStore(),
	}
	h.jc.loop = controller.NewLoop(cctx, "job", h.jc.sync)
	h.jc.orphans = controller.NewLoop(cctx, "job_orphan_pod", h.jc.syncOrphan)
	h.jc.enqueueAfter = func(_ string, d time.Duration) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.requeue = append(h.requeue, d)
	}
	f.jc = h.jc
	job.ResourceVersion = "1"
	job.Status = batchv1.JobStatus{}
	if err := f.jobs.Add(job); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *jobHarness) sync() []string {
	h.t.Helper()
	h.mu.Lock()
	h.requeue = nil
	h.mu.Unlock()
	if err := h.jc.sync(context.Background(), "ns/pi"); err != nil {
		h.t.Fatalf("sync: %v", err)
	}
	return h.api.takeEvents()
}

func (h *jobHarness) job() *batchv1.Job {
	j, err := h.api.GetJob(context.Background(), "ns", "pi")
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

// TestSyncNeverOverCreates: pods asked for but not yet in the cache hold
// the controller back; finished pods are counted exactly once, in two
// status writes around the removal of their finalizer.
func TestSyncNeverOverCreates(t *testing.T) {
	h := newJobHarness(t, testJob(ptrTo(int32(3)), 2))
	if ev := h.sync(); !slices.Equal(ev, []string{"SuccessfulCreate", "SuccessfulCreate"}) {
		t.Fatalf("first sync: %v", ev)
	}
	if ev := h.sync(); len(ev) != 0 {
		t.Fatalf("with the pods not yet cached: %v", ev)
	}
	pods := h.api.observe()
	if ev := h.sync(); len(ev) != 0 || h.job().Status.Active != 2 || h.job().Status.StartTime == nil {
		t.Fatalf("with 2 active: events %v, status %+v", ev, h.job().Status)
	}

	h.api.finish(pods[0], 0)
	before := h.api.writes
	if ev := h.sync(); !slices.Equal(ev, []string{"SuccessfulCreate"}) {
		t.Fatalf("after a success: %v", ev)
	}
	st := h.job().Status
	if st.Succeeded != 1 || len(st.UncountedTerminatedPods.Succeeded) != 0 || h.api.writes-before != 2 {
		t.Fatalf("after a success: %+v in %d writes", st, h.api.writes-before)
	}
	// Counted once, however often synced.
	h.api.observe()
	h.sync()
	h.sync()
	if got := h.job().Status.Succeeded; got != 1 {
		t.Fatalf("succeeded %d after more syncs, want 1", got)
	}

	for _, name := range h.podNames() {
		h.api.finish(name, 0)
	}
	if ev := h.sync(); !slices.Equal(ev, []string{"Completed"}) {
		t.Fatalf("at the end: %v", ev)
	}
	st = h.job().Status
	if st.Succeeded != 3 || st.Active != 0 || st.CompletionTime == nil ||
		!hasTrueCondition(h.job(), batchv1.JobSuccessCriteriaMet) || !hasTrueCondition(h.job(), batchv1.JobComplete) {
		t.Fatalf("final status %+v", st)
	}
	for _, name := range h.podNames() {
		if obj, _, _ := h.api.pods.GetByKey("ns/" + name); hasTrackingFinalizer(obj.(*corev1.Pod)) {
			t.Errorf("pod %s still has the finalizer", name)
		}
	}
}

func (h *jobHarness) podNames() []string {
	var out []string
	for _, k := range h.api.pods.ListKeys() {
		out = append(out, k[len("ns/"):])
	}
	slices.Sort(out)
	return out
}

// TestSyncBackoff: failed pods are replaced after 10s, then 20s; past
// backoffLimit the Job fails.
func TestSyncBackoff(t *testing.T) {
	job := testJob(ptrTo(int32(1)), 1)
	job.Spec.BackoffLimit = ptrTo(int32(2))
	h := newJobHarness(t, job)
	h.sync()
	for i, wait := range []time.Duration{10 * time.Second, 20 * time.Second} {
		pod := h.api.observe()[0]
		h.api.finish(pod, 1)
		if ev := h.sync(); len(ev) != 0 || !slices.Contains(h.requeue, wait) {
			t.Fatalf("failure %d: events %v, requeues %v, want one after %v", i+1, ev, h.requeue, wait)
		}
		if got := h.job().Status.Failed; got != int32(i+1) {
			t.Fatalf("failed %d, want %d", got, i+1)
		}
		h.clock.Step(wait / 2)
		if ev := h.sync(); len(ev) != 0 {
			t.Fatalf("half-way through the back-off: %v", ev)
		}
		h.clock.Step(wait / 2)
		if ev := h.sync(); !slices.Equal(ev, []string{"SuccessfulCreate"}) {
			t.Fatalf("after the back-off: %v", ev)
		}
	}
	h.api.finish(h.api.observe()[0], 1)
	if ev := h.sync(); !slices.Equal(ev, []string{"BackoffLimitExceeded"}) {
		t.Fatalf("past the limit: %v", ev)
	}
	j := h.job()
	if j.Status.Failed != 3 || !hasTrueCondition(j, batchv1.JobFailureTarget) || !hasTrueCondition(j, batchv1.JobFailed) {
		t.Fatalf("final status %+v", j.Status)
	}
}

// TestSyncDeletedPodIsCounted: a pod deleted by someone else is counted
// as failed before its finalizer goes, and replaced after the back-off.
func TestSyncDeletedPodIsCounted(t *testing.T) {
	h := newJobHarness(t, testJob(ptrTo(int32(1)), 1))
	h.sync()
	pod := h.api.observe()[0]
	h.api.update(pod, func(p *corev1.Pod) { p.DeletionTimestamp = ptrTo(metav1.NewTime(t0)) })
	if ev := h.sync(); len(ev) != 0 || !slices.Contains(h.requeue, 10*time.Second) {
		t.Fatalf("after the deletion: events %v, requeues %v", ev, h.requeue)
	}
	if st := h.job().Status; st.Failed != 1 || st.Terminating == nil || *st.Terminating != 1 {
		t.Fatalf("status %+v", st)
	}
	obj, _, _ := h.api.pods.GetByKey("ns/" + pod)
	if hasTrackingFinalizer(obj.(*corev1.Pod)) {
		t.Fatal("the deleted pod keeps its finalizer")
	}
	h.clock.Step(10 * time.Second)
	if ev := h.sync(); !slices.Equal(ev, []string{"SuccessfulCreate"}) {
		t.Fatalf("after the back-off: %v", ev)
	}
}

// TestSyncDeadline: past activeDeadlineSeconds the active pods are
// deleted and counted failed; the Job fails once none is terminating.
func TestSyncDeadline(t *testing.T) {
	job := testJob(ptrTo(int32(2)), 2)
	job.Spec.ActiveDeadlineSeconds = ptrTo(int64(30))
	h := newJobHarness(t, job)
	h.sync()
	if !slices.Contains(h.requeue, 30*time.Second) {
		t.Fatalf("requeues %v, want one at the deadline", h.requeue)
	}
	pods := h.api.observe()
	h.clock.Step(30 * time.Second)
	if ev := h.sync(); !slices.Equal(ev, []string{"SuccessfulDelete", "SuccessfulDelete"}) {
		t.Fatalf("at the deadline: %v", ev)
	}
	j := h.job()
	if !hasTrueCondition(j, batchv1.JobFailureTarget) || hasTrueCondition(j, batchv1.JobFailed) || j.Status.Failed != 2 {
		t.Fatalf("with pods terminating: %+v", j.Status)
	}
	for _, p := range pods {
		if !h.api.update(p, func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }) {
			t.Fatalf("pod %s gone", p)
		}
	}
	if ev := h.sync(); !slices.Equal(ev, []string{"DeadlineExceeded"}) {
		t.Fatalf("once the pods stopped: %v", ev)
	}
	if j := h.job(); !hasTrueCondition(j, batchv1.JobFailed) || j.Status.Failed != 2 {
		t.Fatalf("final status %+v", j.Status)
	}
}
