package pods

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
)

// Config of the pod manager.
type Config struct {
	NodeName string
	// NodeIPs are the node's addresses, reported as hostIP(s).
	NodeIPs  []string
	Runtime  runtime.Runtime
	Network  Network
	Volumes  Volumes
	API      API
	Recorder Recorder
	Clock    Clock
	// LogDir holds containers' logs: <LogDir>/<ns>_<name>_<uid>/<container>/<attempt>.log.
	// A pod's directory is removed with the pod; empty: no logs.
	LogDir string
	// Cgroups are the pods' cgroups, removed with the pods; nil when the
	// runtime's cgroups are not the host's (simulated nodes): containers
	// then go under "/gantry/pod<uid>" and nothing is removed.
	Cgroups     Cgroups
	LogMaxBytes int64
	LogMaxFiles int
	// Allocatable is the node's, for resourceFieldRef without limits.
	Allocatable corev1.ResourceList
	// ResyncPeriod re-syncs every pod this often even without events.
	ResyncPeriod time.Duration
	// HousekeepingPeriod is how often, once CollectOrphans has run, the
	// cgroups and log directories of pods no longer on the node are
	// removed (default 5 minutes).
	HousekeepingPeriod time.Duration
	// BackoffBase and BackoffMax bound the restart back-off (10 s, 5 min).
	BackoffBase, BackoffMax time.Duration
	Log                     *slog.Logger
	Metrics                 *Metrics
	// Simulated nodes never dial pod addresses: httpGet and tcpSocket
	// probes and hooks succeed at once.
	Simulated bool
}

// Manager owns one worker per pod bound to the node.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	workers map[types.UID]*worker
	ctx     context.Context
	// synced: CollectOrphans was called, so every pod that exists has a
	// worker and leftovers of the others may go.
	synced bool
}

// New returns a manager; Run starts it.
func New(cfg Config) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.ResyncPeriod == 0 {
		cfg.ResyncPeriod = time.Minute
	}
	if cfg.HousekeepingPeriod == 0 {
		cfg.HousekeepingPeriod = 5 * time.Minute
	}
	if cfg.LogMaxBytes == 0 {
		cfg.LogMaxBytes = 10 << 20
	}
	if cfg.LogMaxFiles == 0 {
		cfg.LogMaxFiles = 5
	}
	if cfg.Allocatable == nil {
		cfg.Allocatable = corev1.ResourceList{}
	}
	if _, ok := cfg.Allocatable[corev1.ResourceCPU]; !ok {
		cfg.Allocatable[corev1.ResourceCPU] = resource.MustParse("1")
	}
	return &Manager{cfg: cfg, log: cfg.Log.With("component", "pods"), workers: map[types.UID]*worker{}}
}

// Run dispatches runtime events to workers until ctx ends, then waits for
// the workers. Pods keep running when the agent stops.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	m.ctx = ctx
	m.mu.Unlock()
	hkCtx, stopHousekeeping := context.WithCancel(ctx)
	housekeeping := make(chan struct{})
	go func() {
		defer close(housekeeping)
		m.housekeep(hkCtx)
	}()
	defer func() {
		stopHousekeeping()
		<-housekeeping
	}()
	events := m.cfg.Runtime.Events()
	for {
		select {
		case <-ctx.Done():
			m.mu.Lock()
			ws := make([]*worker, 0, len(m.workers))
			for _, w := range m.workers {
				ws = append(ws, w)
			}
			m.mu.Unlock()
			for _, w := range ws {
				<-w.done
			}
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			m.wake(types.UID(ev.PodUID))
		}
	}
}

// Update hands the manager the latest state of a pod bound to this node.
func (m *Manager) Update(pod *corev1.Pod) {
	if pod.Spec.NodeName != m.cfg.NodeName {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.workers[pod.UID]
	if !ok {
		if m.ctx == nil {
			return
		}
		w = newWorker(m, pod)
		m.workers[pod.UID] = w
		go w.run(m.ctx)
	}
	w.setPod(pod)
}

// Delete tells the manager a pod is gone from the API: its worker stops
// its containers and cleans up.
func (m *Manager) Delete(pod *corev1.Pod) {
	m.mu.Lock()
	w, ok := m.workers[pod.UID]
	m.mu.Unlock()
	if ok {
		w.setGone()
	}
}

func (m *Manager) wake(uid types.UID) {
	m.mu.Lock()
	w, ok := m.workers[uid]
	m.mu.Unlock()
	if ok {
		w.wake()
	}
}

// forget drops a finished worker.
func (m *Manager) forget(uid types.UID) {
	m.mu.Lock()
	delete(m.workers, uid)
	m.mu.Unlock()
}

// known reports whether a pod has a worker.
func (m *Manager) known(uid types.UID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.workers[uid]
	return ok
}

// CollectOrphans stops and removes containers and sandboxes of pods this
// node no longer runs, then their cgroups and log directories
// (SweepLeftovers), and lets the periodic sweep start. Call it once the
// pod informer has synced, so that every pod that still exists has been
// handed to Update.
func (m *Manager) CollectOrphans(ctx context.Context) {
	m.mu.Lock()
	m.synced = true
	m.mu.Unlock()
	cs, err := m.cfg.Runtime.ListContainers(ctx)
	if err != nil {
		m.log.Warn("listing containers for garbage collection", "err", err)
		return
	}
	for _, c := range cs {
		if c.PodUID == "" || m.known(types.UID(c.PodUID)) {
			continue
		}
		m.log.Info("removing orphaned container", "pod", c.Labels[runtime.LabelPodNamespace]+"/"+c.Labels[runtime.LabelPodName], "container", c.Name)
		if c.State == runtime.StateRunning {
			_ = m.cfg.Runtime.StopContainer(ctx, c.ID, 2*time.Second)
		}
		_ = m.cfg.Runtime.RemoveContainer(ctx, c.ID)
	}
	sbs, err := m.cfg.Runtime.ListSandboxes(ctx)
	if err != nil {
		m.log.Warn("listing sandboxes for garbage collection", "err", err)
		return
	}
	for _, sb := range sbs {
		if m.known(types.UID(sb.PodUID)) {
			continue
		}
		pod := &corev1.Pod{}
		pod.UID, pod.Namespace, pod.Name = types.UID(sb.PodUID), sb.Namespace, sb.Name
		if sb.NetNS != "" && m.cfg.Network != nil {
			_ = m.cfg.Network.Teardown(ctx, pod, sb.NetNS)
		}
		if m.cfg.Volumes != nil {
			_ = m.cfg.Volumes.Teardown(ctx, pod, sb.Dir)
		}
		_ = m.cfg.Runtime.RemoveSandbox(ctx, sb.PodUID)
	}
	if err := m.SweepLeftovers(ctx); err != nil {
		m.log.Warn("removing leftovers of pods gone from the node", "err", err)
	}
}

// RunningPods counts pods with a worker, for metrics and tests.
func (m *Manager) RunningPods() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.workers)
}
