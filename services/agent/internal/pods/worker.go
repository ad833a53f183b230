package pods

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"github.com/gantry-dev/gantry/services/agent/internal/volumes"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// waiting is why a container is not running, as its status shows it.
type waiting struct {
	reason, message string
	// until is when the next attempt may start (back-off).
	until time.Time
}

// worker runs one pod.
type worker struct {
	m   *Manager
	log *slog.Logger

	mu     sync.Mutex
	pod    *corev1.Pod // latest from the API; never modified
	gone   bool        // deleted from the API
	wakeCh chan struct{}
	done   chan struct{}

	// Owned by the run goroutine.
	sandbox    *runtime.Sandbox
	ips        []string
	volumes    map[string]string
	podFiles   []runtime.Mount
	waiting    map[string]waiting // by container name
	pullFails  map[string]int     // consecutive image pull failures
	written    *corev1.PodStatus  // last status written
	startTime  *metav1.Time
	nextWake   time.Time
	deadlined  bool
	probes     *probes
	terminated map[string]string // container id → termination message read
	// reportedStart: the pod's start latency was recorded.
	reportedStart bool
	// refreshed is when volumes were last refreshed.
	refreshed time.Time
	// started is when the worker started; oomReported the containers
	// whose OOM kill has been reported.
	started     time.Time
	oomReported map[string]bool
}

func newWorker(m *Manager, pod *corev1.Pod) *worker {
	w := &worker{
		m:           m,
		log:         m.log.With("pod", pod.Namespace+"/"+pod.Name),
		pod:         pod,
		wakeCh:      make(chan struct{}, 1),
		done:        make(chan struct{}),
		waiting:     map[string]waiting{},
		pullFails:   map[string]int{},
		terminated:  map[string]string{},
		started:     m.cfg.Clock.Now(),
		oomReported: map[string]bool{},
	}
	w.probes = newProbes(w)
	if pod.Status.StartTime != nil {
		t := *pod.Status.StartTime
		w.startTime = &t
	}
	return w
}

func (w *worker) setPod(pod *corev1.Pod) {
	w.mu.Lock()
	old := w.pod
	w.pod = pod
	w.mu.Unlock()
	if old == pod || !onlyStatusChanged(old, pod) {
		w.wake()
	}
}

// onlyStatusChanged reports whether b differs from a in its status and
// bookkeeping alone: the echo of the worker's own status write, which
// needs no sync.
func onlyStatusChanged(a, b *corev1.Pod) bool {
	if a.UID != b.UID || a.Generation != b.Generation || a.DeletionTimestamp != nil || b.DeletionTimestamp != nil {
		return false
	}
	am, bm := a.ObjectMeta, b.ObjectMeta
	am.ResourceVersion, bm.ResourceVersion = "", ""
	am.ManagedFields, bm.ManagedFields = nil, nil
	return equality.Semantic.DeepEqual(am, bm) && equality.Semantic.DeepEqual(a.Spec, b.Spec)
}

func (w *worker) setGone() {
	w.mu.Lock()
	w.gone = true
	w.mu.Unlock()
	w.wake()
}

func (w *worker) wake() {
	select {
	case w.wakeCh <- struct{}{}:
	default:
	}
}

func (w *worker) snapshot() (*corev1.Pod, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod, w.gone
}

// after asks for a sync no later than t.
func (w *worker) after(t time.Time) {
	if w.nextWake.IsZero() || t.Before(w.nextWake) {
		w.nextWake = t
	}
}

func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	defer w.probes.stopAll()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wakeCh:
		case <-timer.C:
		}
		w.nextWake = time.Time{}
		if w.sync(ctx) {
			pod, _ := w.snapshot()
			w.m.forget(pod.UID)
			return
		}
		next := w.m.cfg.ResyncPeriod
		if !w.nextWake.IsZero() {
			if d := time.Until(w.nextWake); d < next {
				next = max(d, 10*time.Millisecond)
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
	}
}

// sync brings the node in line with the pod once. It returns true when the
// pod is finished on this node and the worker can go.
func (w *worker) sync(ctx context.Context) bool {
	pod, gone := w.snapshot()
	if gone || pod.DeletionTimestamp != nil {
		return w.terminate(ctx, pod, gone)
	}
	if isTerminal(pod.Status.Phase) {
		// Finished pods keep their (stopped) containers until deleted.
		w.stopAll(ctx, pod, 0)
		return false
	}
	if w.startTime == nil {
		now := metav1.NewTime(w.m.cfg.Clock.Now())
		w.startTime = &now
	}
	if w.pastDeadline(pod) {
		w.deadlined = true
		w.stopAll(ctx, pod, w.grace(pod))
		w.writeStatus(ctx, pod, w.list(ctx, pod))
		return false
	}
	if err := w.ensureSandbox(ctx, pod); err != nil {
		w.log.Warn("preparing the pod sandbox", "err", err)
		w.after(w.m.cfg.Clock.Now().Add(5 * time.Second))
		w.writeStatus(ctx, pod, w.list(ctx, pod))
		return false
	}
	w.refreshVolumes(ctx, pod)
	cs := w.list(ctx, pod)
	if w.syncInit(ctx, pod, cs) {
		w.syncApps(ctx, pod, cs)
	}
	cs = w.list(ctx, pod)
	w.reportOOM(pod, cs)
	w.collectOld(ctx, cs)
	w.writeStatus(ctx, pod, cs)
	return false
}

// reportOOM records an event for each container the OOM killer ended
// since the worker started (once per container).
func (w *worker) reportOOM(pod *corev1.Pod, cs podContainers) {
	for name, l := range cs {
		for _, s := range l {
			if s.State != runtime.StateExited || s.Reason != reasonOOMKilled || w.oomReported[s.ID] || s.FinishedAt.Before(w.started) {
				continue
			}
			w.oomReported[s.ID] = true
			msg := fmt.Sprintf("Container %s was killed by the OOM killer (exit code %d)", name, s.ExitCode)
			if c := specOf(pod, name); c != nil {
				if lim, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
					msg = fmt.Sprintf("Container %s exceeded its memory limit (%s) and was killed by the OOM killer", name, lim.String())
				}
			}
			w.event(pod, corev1.EventTypeWarning, reasonOOMKilled, msg)
		}
	}
}

// reasonOOMKilled is the runtime's exit reason for OOM kills.
const reasonOOMKilled = "OOMKilled"

func isTerminal(p corev1.PodPhase) bool { return p == corev1.PodSucceeded || p == corev1.PodFailed }

func (w *worker) pastDeadline(pod *corev1.Pod) bool {
	if w.deadlined {
		return true
	}
	d := pod.Spec.ActiveDeadlineSeconds
	if d == nil || w.startTime == nil {
		return false
	}
	end := w.startTime.Add(time.Duration(*d) * time.Second)
	if w.m.cfg.Clock.Now().Before(end) {
		w.after(end)
		return false
	}
	return true
}

// ensureSandbox makes the pod's namespaces, network, volumes and files.
func (w *worker) ensureSandbox(ctx context.Context, pod *corev1.Pod) error {
	rt := w.m.cfg.Runtime
	if w.sandbox == nil {
		hostname := pod.Name
		if pod.Spec.Hostname != "" {
			hostname = pod.Spec.Hostname
		}
		sb, err := rt.CreateSandbox(ctx, runtime.SandboxConfig{
			PodUID: string(pod.UID), Namespace: pod.Namespace, Name: pod.Name, Hostname: hostname,
			HostNetwork: pod.Spec.HostNetwork, HostIPC: pod.Spec.HostIPC, HostPID: pod.Spec.HostPID,
		})
		if err != nil {
			w.event(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", fmt.Sprintf("Failed to create pod sandbox: %v", err))
			return err
		}
		w.sandbox = sb
	}
	if w.ips == nil {
		if pod.Spec.HostNetwork || w.m.cfg.Network == nil {
			w.ips = append([]string{}, w.m.cfg.NodeIPs...)
		} else {
			ips, err := w.m.cfg.Network.Setup(ctx, pod, w.sandbox.NetNS)
			if err != nil {
				w.event(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", fmt.Sprintf("Failed to set up the pod network: %v", err))
				return err
			}
			w.ips = ips
		}
	}
	if w.volumes == nil && w.m.cfg.Volumes != nil {
		paths, err := w.m.cfg.Volumes.Setup(ctx, pod, w.sandbox.Dir)
		if err != nil {
			w.event(pod, corev1.EventTypeWarning, "FailedMount", err.Error())
			return err
		}
		files, err := w.m.cfg.Volumes.PodFiles(pod, w.sandbox.Dir, w.ips)
		if err != nil {
			return err
		}
		w.volumes, w.podFiles = paths, files
	}
	return nil
}

// refreshVolumes brings configMap and secret volumes up to date, at most
// once per resync period (Kubernetes' kubelet does it on its sync period).
func (w *worker) refreshVolumes(ctx context.Context, pod *corev1.Pod) {
	if w.m.cfg.Volumes == nil || w.sandbox == nil || w.volumes == nil {
		return
	}
	now := w.m.cfg.Clock.Now()
	if now.Sub(w.refreshed) < w.m.cfg.ResyncPeriod {
		w.after(w.refreshed.Add(w.m.cfg.ResyncPeriod))
		return
	}
	w.refreshed = now
	if err := w.m.cfg.Volumes.Refresh(ctx, pod, w.sandbox.Dir); err != nil {
		w.log.Warn("refreshing volumes", "err", err)
	}
	w.after(now.Add(w.m.cfg.ResyncPeriod))
}

// containers of the pod, by spec name, newest attempt first.
type podContainers map[string][]runtime.ContainerStatus

func (pc podContainers) latest(name string) *runtime.ContainerStatus {
	if l := pc[name]; len(l) > 0 {
		return &l[0]
	}
	return nil
}

func (pc podContainers) previous(name string) *runtime.ContainerStatus {
	if l := pc[name]; len(l) > 1 {
		return &l[1]
	}
	return nil
}

func (w *worker) list(ctx context.Context, pod *corev1.Pod) podContainers {
	all, err := w.m.cfg.Runtime.ListPodContainers(ctx, string(pod.UID))
	if err != nil {
		w.log.Warn("listing containers", "err", err)
	}
	pc := podContainers{}
	for _, c := range all {
		pc[c.Name] = append(pc[c.Name], c)
	}
	for _, l := range pc {
		sort.Slice(l, func(i, j int) bool { return l[i].Attempt > l[j].Attempt })
	}
	return pc
}

// syncInit runs init containers one after the other; it returns true once
// all have succeeded.
func (w *worker) syncInit(ctx context.Context, pod *corev1.Pod, cs podContainers) bool {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		s := cs.latest(c.Name)
		switch {
		case s == nil:
			w.start(ctx, pod, c, 0, true)
			return false
		case s.State == runtime.StateRunning || s.State == runtime.StateCreated:
			return false
		case s.ExitCode == 0:
			continue
		case pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
			return false // the pod has failed; status says so
		default:
			w.restartAfterBackoff(ctx, pod, c, s, true)
			return false
		}
	}
	return true
}

func (w *worker) syncApps(ctx context.Context, pod *corev1.Pod, cs podContainers) {
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		s := cs.latest(c.Name)
		switch {
		case s == nil:
			w.start(ctx, pod, c, 0, false)
		case s.State == runtime.StateRunning:
			w.probes.ensure(ctx, pod, c, s.ID)
			if w.probes.livenessFailed(c.Name, s.ID) {
				w.event(pod, corev1.EventTypeNormal, "Killing", fmt.Sprintf("Container %s failed liveness probe, will be restarted", c.Name))
				w.stopContainer(ctx, pod, c, s.ID, w.grace(pod))
				w.m.wake(pod.UID)
			}
		case s.State == runtime.StateCreated:
			if err := w.m.cfg.Runtime.StartContainer(ctx, s.ID); err != nil {
				w.waiting[c.Name] = waiting{reason: "RunContainerError", message: err.Error()}
			}
		case shouldRestart(pod.Spec.RestartPolicy, s.ExitCode):
			w.restartAfterBackoff(ctx, pod, c, s, false)
		}
	}
}

func shouldRestart(policy corev1.RestartPolicy, exitCode int) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

// restartAfterBackoff starts the next attempt of an exited container once
// its back-off has passed: 10 s doubling to 5 min, as Kubernetes does,
// reset after a run of 10 minutes.
func (w *worker) restartAfterBackoff(ctx context.Context, pod *corev1.Pod, c *corev1.Container, s *runtime.ContainerStatus, init bool) {
	delay := w.m.backoff(s)
	ready := s.FinishedAt.Add(delay)
	if now := w.m.cfg.Clock.Now(); now.Before(ready) {
		w.waiting[c.Name] = waiting{
			reason:  "CrashLoopBackOff",
			message: fmt.Sprintf("back-off %v restarting failed container=%s pod=%s_%s(%s)", delay.Round(time.Second), c.Name, pod.Name, pod.Namespace, pod.UID),
			until:   ready,
		}
		if w.m.cfg.Metrics != nil && s.Attempt > 0 {
			w.m.cfg.Metrics.backoffs.Inc()
		}
		w.event(pod, corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container "+c.Name+" in pod "+pod.Name+"_"+pod.Namespace+"("+string(pod.UID)+")")
		w.after(ready)
		return
	}
	w.start(ctx, pod, c, s.Attempt+1, init)
}

// backoff is the wait before restarting after s exited.
func (m *Manager) backoff(s *runtime.ContainerStatus) time.Duration {
	base := m.cfg.BackoffBase
	if base == 0 {
		base = 10 * time.Second
	}
	limit := m.cfg.BackoffMax
	if limit == 0 {
		limit = 5 * time.Minute
	}
	if !s.StartedAt.IsZero() && s.FinishedAt.Sub(s.StartedAt) > 10*time.Minute {
		return 0
	}
	d := base
	for i := 0; i < s.Attempt && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// stopAll stops every running container of the pod.
func (w *worker) stopAll(ctx context.Context, pod *corev1.Pod, grace time.Duration) {
	cs := w.list(ctx, pod)
	var wg sync.WaitGroup
	for _, l := range cs {
		for _, s := range l {
			if s.State != runtime.StateRunning && s.State != runtime.StateCreated {
				continue
			}
			c := specOf(pod, s.Name)
			wg.Add(1)
			go func(id string) {
				defer wg.Done()
				w.stopContainer(ctx, pod, c, id, grace)
			}(s.ID)
		}
	}
	wg.Wait()
}

// stopContainer runs the preStop hook, then stops the container within
// the grace period.
func (w *worker) stopContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, grace time.Duration) {
	start := w.m.cfg.Clock.Now()
	if c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil && grace > 0 {
		hctx, cancel := context.WithTimeout(ctx, grace)
		if err := w.runHook(hctx, pod, c, id, c.Lifecycle.PreStop); err != nil {
			w.event(pod, corev1.EventTypeWarning, "FailedPreStopHook", fmt.Sprintf("PreStopHook failed: %v", err))
		}
		cancel()
	}
	left := grace - w.m.cfg.Clock.Now().Sub(start)
	if left < 0 {
		left = 0
	}
	w.probes.stop(id)
	if err := w.m.cfg.Runtime.StopContainer(ctx, id, left); err != nil {
		w.log.Warn("stopping container", "container", id, "err", err)
	}
}

func specOf(pod *corev1.Pod, name string) *corev1.Container { return volumes.FindContainer(pod, name) }

func (w *worker) grace(pod *corev1.Pod) time.Duration {
	if g := pod.DeletionGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	return 30 * time.Second
}

// collectOld removes exited attempts older than the previous one of each
// container (kubectl logs --previous reads that one).
func (w *worker) collectOld(ctx context.Context, cs podContainers) {
	for _, l := range cs {
		for _, s := range l[min(len(l), 2):] {
			if s.State == runtime.StateExited {
				_ = w.m.cfg.Runtime.RemoveContainer(ctx, s.ID)
			}
		}
	}
}

// terminate stops the pod's containers gracefully and releases everything;
// a pod that still exists in the API is then deleted for good.
func (w *worker) terminate(ctx context.Context, pod *corev1.Pod, gone bool) bool {
	grace := w.grace(pod)
	if len(w.list(ctx, pod)) > 0 {
		w.event(pod, corev1.EventTypeNormal, "Killing", "Stopping the pod's containers")
	}
	w.probes.stopAll()
	w.stopAll(ctx, pod, grace)
	if ctx.Err() != nil {
		return false
	}
	if err := w.release(ctx, pod); err != nil {
		w.log.Warn("releasing the pod", "err", err)
		w.after(w.m.cfg.Clock.Now().Add(2 * time.Second))
		return false
	}
	if !gone {
		if err := w.m.cfg.API.DeletePod(ctx, pod.Namespace, pod.Name, pod.UID); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			w.log.Warn("confirming the pod's deletion", "err", err)
			w.after(w.m.cfg.Clock.Now().Add(2 * time.Second))
			return false
		}
	}
	return true
}

// release removes containers, network, volumes and the sandbox, then the
// pod's cgroup and log directory.
func (w *worker) release(ctx context.Context, pod *corev1.Pod) error {
	if err := w.releaseSandbox(ctx, pod); err != nil {
		return err
	}
	w.sandbox = nil
	return w.m.removeLeftovers(pod)
}

// releaseSandbox removes containers, network, volumes and the sandbox.
func (w *worker) releaseSandbox(ctx context.Context, pod *corev1.Pod) error {
	rt := w.m.cfg.Runtime
	for _, l := range w.list(ctx, pod) {
		for _, s := range l {
			if err := rt.RemoveContainer(ctx, s.ID); err != nil {
				return err
			}
		}
	}
	sb := w.sandbox
	if sb == nil {
		sbs, err := rt.ListSandboxes(ctx)
		if err != nil {
			return err
		}
		for _, s := range sbs {
			if s.PodUID == string(pod.UID) {
				sb = s
			}
		}
	}
	if sb == nil {
		return nil
	}
	if !pod.Spec.HostNetwork && sb.NetNS != "" && w.m.cfg.Network != nil {
		if err := w.m.cfg.Network.Teardown(ctx, pod, sb.NetNS); err != nil {
			return err
		}
	}
	if w.m.cfg.Volumes != nil {
		if err := w.m.cfg.Volumes.Teardown(ctx, pod, sb.Dir); err != nil {
			return err
		}
	}
	return rt.RemoveSandbox(ctx, string(pod.UID))
}

func (w *worker) event(pod *corev1.Pod, typ, reason, msg string) {
	if w.m.cfg.Recorder != nil {
		w.m.cfg.Recorder.Event(pod, typ, reason, msg)
	}
}

// writeStatus computes the pod's status and writes it if it changed.
func (w *worker) writeStatus(ctx context.Context, pod *corev1.Pod, cs podContainers) {
	status := w.status(pod, cs)
	if w.written != nil && equalStatus(w.written, status) {
		return
	}
	if w.written == nil && equalStatus(&pod.Status, status) {
		w.written = status
		return
	}
	next := pod.DeepCopy()
	next.Status = *status
	// The agent owns the status: an unconditional write, so an informer
	// that has not yet seen the previous write causes no conflict.
	next.ResourceVersion = ""
	if _, err := w.m.cfg.API.UpdatePodStatus(ctx, next); err != nil {
		if !apierrors.IsNotFound(err) {
			w.log.Warn("writing pod status", "err", err)
			w.after(w.m.cfg.Clock.Now().Add(time.Second))
		}
		return
	}
	w.written = status
}

// equalStatus compares statuses ignoring condition probe times.
func equalStatus(a, b *corev1.PodStatus) bool {
	return equality.Semantic.DeepEqual(a, b)
}
