// Package scheduler is the scheduling loop: it pops the next pending pod,
// filters and scores the nodes of a fresh snapshot through the pod's
// profile (package runtime), assumes the pod on the chosen node in the
// cache so the next pod sees the node's room taken, and binds
// asynchronously, so the next pod's filtering is not held up by the API
// round trip. A pod no node fits gets a FailedScheduling event and a
// PodScheduled=False condition saying why, may preempt lower-priority
// pods, and waits in the queue's unschedulable pool until a cluster event
// could help it.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/cache"
	"github.com/gantry-dev/gantry/services/scheduler/internal/metrics"
	"github.com/gantry-dev/gantry/services/scheduler/internal/queue"
	"github.com/gantry-dev/gantry/services/scheduler/internal/runtime"
)

// API is what the scheduler writes to the API server.
type API interface {
	framework.Client
	// UpdatePodScheduledCondition records PodScheduled=False with a reason
	// and message (and the nominated node, if any).
	SetUnschedulable(ctx context.Context, pod *corev1.Pod, reason, message string) error
	// Event records an event about a pod.
	Event(pod *corev1.Pod, eventType, reason, message string)
}

// Scheduler schedules the pending pods of its profiles.
type Scheduler struct {
	profiles map[string]*runtime.Framework
	queue    *queue.Queue
	cache    *cache.Cache
	snapshot *cache.Snapshot
	api      API
	metrics  *metrics.Metrics
	log      *slog.Logger

	bindings sync.WaitGroup
	// bindSem bounds the bindings in flight.
	bindSem chan struct{}
}

// Config builds a Scheduler.
type Config struct {
	Profiles map[string]*runtime.Framework
	Queue    *queue.Queue
	Cache    *cache.Cache
	API      API
	Metrics  *metrics.Metrics
	Log      *slog.Logger
	// MaxBindingsInFlight bounds concurrent bindings (default 256).
	MaxBindingsInFlight int
}

// New returns a Scheduler.
func New(cfg Config) *Scheduler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBindingsInFlight <= 0 {
		cfg.MaxBindingsInFlight = 256
	}
	return &Scheduler{
		profiles: cfg.Profiles, queue: cfg.Queue, cache: cfg.Cache, snapshot: cache.NewEmptySnapshot(),
		api: cfg.API, metrics: cfg.Metrics, log: cfg.Log,
		bindSem: make(chan struct{}, cfg.MaxBindingsInFlight),
	}
}

// Responsible reports whether one of the profiles schedules pod.
func (s *Scheduler) Responsible(pod *corev1.Pod) bool {
	_, ok := s.profiles[schedulerName(pod)]
	return ok
}

func schedulerName(pod *corev1.Pod) string {
	if pod.Spec.SchedulerName == "" {
		return corev1.DefaultSchedulerName
	}
	return pod.Spec.SchedulerName
}

// Run schedules pods until ctx is done, then waits for bindings in
// flight.
func (s *Scheduler) Run(ctx context.Context) {
	defer s.bindings.Wait()
	for {
		qp := s.queue.Pop(ctx)
		if qp == nil {
			return
		}
		s.scheduleOne(ctx, qp)
	}
}

func (s *Scheduler) scheduleOne(ctx context.Context, qp *queue.QueuedPod) {
	pod := qp.Pod
	fwk, ok := s.profiles[schedulerName(pod)]
	if !ok || pod.DeletionTimestamp != nil || pod.Spec.NodeName != "" {
		s.queue.Done(pod.UID)
		return
	}
	start := time.Now()
	s.cache.UpdateSnapshot(s.snapshot)
	fwk.SetSnapshot(s.snapshot)
	state := framework.NewCycleState()

	node, err := s.schedulePod(ctx, fwk, state, pod)
	if err != nil {
		s.handleFailure(ctx, fwk, qp, state, err, start)
		return
	}

	// Assume: the next cycle sees the node's room taken.
	assumed := pod.DeepCopy()
	assumed.Spec.NodeName = node
	if err := s.cache.AssumePod(assumed); err != nil {
		s.handleFailure(ctx, fwk, qp, state, err, start)
		return
	}
	if st := fwk.RunReservePlugins(ctx, state, assumed, node); !st.IsSuccess() {
		fwk.RunUnreservePlugins(ctx, state, assumed, node)
		s.cache.ForgetPod(assumed)
		s.handleFailure(ctx, fwk, qp, state, st.AsError(), start)
		return
	}
	permit, wait := fwk.RunPermitPlugins(ctx, state, assumed, node)
	if !permit.IsSuccess() && permit.Code() != framework.Wait {
		fwk.RunUnreservePlugins(ctx, state, assumed, node)
		s.cache.ForgetPod(assumed)
		s.handleFailure(ctx, fwk, qp, state, fmt.Errorf("permit: %w", permit.AsError()), start)
		return
	}
	s.bindSem <- struct{}{}
	s.bindings.Add(1)
	go func() {
		defer s.bindings.Done()
		defer func() { <-s.bindSem }()
		s.bind(ctx, fwk, qp, state, assumed, node, wait, start)
	}()
}

// schedulePod returns the best node for pod.
func (s *Scheduler) schedulePod(ctx context.Context, fwk *runtime.Framework, state *framework.CycleState, pod *corev1.Pod) (string, error) {
	numNodes := s.snapshot.NumNodes()
	if numNodes == 0 {
		return "", &fitError{numNodes: 0, rejected: framework.NodeToStatus{}}
	}
	pre, st := fwk.RunPreFilterPlugins(ctx, state, pod)
	if !st.IsSuccess() {
		if !st.IsRejected() {
			return "", st.AsError()
		}
		return "", &fitError{numNodes: numNodes, rejected: framework.NodeToStatus{}, preFilter: st}
	}
	feasible, rejected, err := fwk.FindNodesThatFit(ctx, state, pod, pre)
	if err != nil {
		return "", err
	}
	if len(feasible) == 0 {
		return "", &fitError{numNodes: numNodes, rejected: rejected}
	}
	if len(feasible) == 1 {
		return feasible[0].Name(), nil
	}
	scores, err := fwk.PrioritizeNodes(ctx, state, pod, feasible)
	if err != nil {
		return "", err
	}
	return selectHost(scores), nil
}

// selectHost picks the highest score, breaking ties at random (reservoir
// sampling), so equal nodes share the load.
func selectHost(scores []framework.NodeScore) string {
	best, ties := 0, 1
	for i := 1; i < len(scores); i++ {
		switch {
		case scores[i].Score > scores[best].Score:
			best, ties = i, 1
		case scores[i].Score == scores[best].Score:
			ties++
			if rand.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return scores[best].Name
}

func (s *Scheduler) bind(ctx context.Context, fwk *runtime.Framework, qp *queue.QueuedPod, state *framework.CycleState,
	assumed *corev1.Pod, node string, wait time.Duration, start time.Time) {
	fail := func(err error) {
		fwk.RunUnreservePlugins(ctx, state, assumed, node)
		s.cache.ForgetPod(assumed)
		if s.metrics != nil {
			s.metrics.Bindings.WithLabelValues("error").Inc()
		}
		s.handleFailure(ctx, fwk, qp, state, err, start)
	}
	if wait > 0 {
		// No built-in Permit plugin waits; a waiting plugin that never
		// allows the pod gets it rejected after its timeout.
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		fail(fmt.Errorf("pod was not permitted to bind within %v", wait))
		return
	}
	if st := fwk.RunPreBindPlugins(ctx, state, assumed, node); !st.IsSuccess() {
		fail(fmt.Errorf("prebind: %w", st.AsError()))
		return
	}
	if st := fwk.RunBind(ctx, state, assumed, node); !st.IsSuccess() {
		fail(fmt.Errorf("binding rejected: %w", st.AsError()))
		return
	}
	fwk.RunPostBindPlugins(ctx, state, assumed, node)
	s.queue.Done(assumed.UID)
	if s.metrics != nil {
		profile := fwk.SchedulerName()
		s.metrics.Bindings.WithLabelValues("ok").Inc()
		s.metrics.Attempts.WithLabelValues("scheduled", profile).Inc()
		s.metrics.AttemptDuration.WithLabelValues("scheduled", profile).Observe(time.Since(start).Seconds())
		s.metrics.E2EDuration.WithLabelValues("scheduled", profile).Observe(time.Since(qp.Initial).Seconds())
	}
	s.api.Event(assumed, corev1.EventTypeNormal, "Scheduled",
		fmt.Sprintf("Successfully assigned %s/%s to %s", assumed.Namespace, assumed.Name, node))
}

// handleFailure explains a failure and puts the pod back in the queue;
// when no node fits, it tries preemption first.
func (s *Scheduler) handleFailure(ctx context.Context, fwk *runtime.Framework, qp *queue.QueuedPod, state *framework.CycleState, err error, start time.Time) {
	pod := qp.Pod
	profile := fwk.SchedulerName()
	var fe *fitError
	unschedulable := errors.As(err, &fe)
	result := "error"
	if unschedulable {
		result = "unschedulable"
		if fe.numNodes > 0 && ctx.Err() == nil {
			if s.metrics != nil {
				s.metrics.PreemptionAttempt.Inc()
			}
			r, st := fwk.RunPostFilterPlugins(ctx, state, pod, fe.rejected)
			switch {
			case st.IsSuccess() && r != nil && r.NominatedNodeName != "":
				s.queue.Nominate(pod, r.NominatedNodeName)
				if err := s.api.SetNominatedNodeName(ctx, pod, r.NominatedNodeName); err != nil {
					s.log.Warn("recording the nominated node", "pod", pod.Namespace+"/"+pod.Name, "err", err)
				}
			case st.IsRejected() && st.Message() != "":
				fe.postFilter = preemptionSummary(st, fe.numNodes)
			}
		}
	}
	msg := err.Error()
	if s.metrics != nil {
		s.metrics.Attempts.WithLabelValues(result, profile).Inc()
		s.metrics.AttemptDuration.WithLabelValues(result, profile).Observe(time.Since(start).Seconds())
	}
	var rejecting map[string]bool
	if fe != nil {
		rejecting = fe.rejectingPlugins()
	}
	s.queue.Requeue(qp, unschedulable, rejecting)
	if ctx.Err() != nil {
		return
	}
	s.log.Debug("unable to schedule pod", "pod", pod.Namespace+"/"+pod.Name, "err", msg)
	s.api.Event(pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	reason := corev1.PodReasonUnschedulable
	if !unschedulable {
		reason = "SchedulerError"
	}
	if err := s.api.SetUnschedulable(ctx, pod, reason, msg); err != nil {
		s.log.Debug("recording the PodScheduled condition", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

// preemptionSummary words why preemption could not help, as Kubernetes
// does: "preemption: 0/3 nodes are available: 1 No preemption victims
// found for incoming pod, 2 Preemption is not helpful for scheduling."
// from one reason per node, or "preemption: not eligible due to
// preemptionPolicy=Never." for a reason about the pod itself.
func preemptionSummary(st *framework.Status, numNodes int) string {
	reasons := st.Reasons()
	if len(reasons) == 1 && strings.HasPrefix(reasons[0], "not eligible") {
		return "preemption: " + strings.TrimSuffix(reasons[0], ".") + "."
	}
	counts := map[string]int{}
	for _, r := range reasons {
		counts[r]++
	}
	return fmt.Sprintf("preemption: 0/%d nodes are available: %s.", numNodes, countReasons(counts))
}

// now is for the PodScheduled condition's time.
func now() metav1.Time { return metav1.NewTime(time.Now()) }
