// Package queue holds the pods waiting to be scheduled, the Kubernetes
// way: an active queue ordered by priority (then by arrival), a back-off
// queue for pods that just failed (1 s doubling to 10 s per attempt), and
// an unschedulable pool of pods no node fits, which are moved back when a
// cluster event that could help them happens (a node added, a pod
// deleted, ...), or after a minute at the latest.
package queue

import (
	"container/heap"
	"context"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// Defaults of Kubernetes' scheduling queue.
const (
	DefaultInitialBackoff      = time.Second
	DefaultMaxBackoff          = 10 * time.Second
	DefaultUnschedulableMaxAge = 60 * time.Second
)

// QueuedPod is a pod in the queue with its scheduling history.
type QueuedPod struct {
	Pod *corev1.Pod
	// Timestamp is when it was (re)added to the active queue; Initial when
	// it was first queued.
	Timestamp time.Time
	Initial   time.Time
	// Attempts counts scheduling attempts.
	Attempts int
	// UnschedulablePlugins are the plugins that rejected it last time;
	// the events they registered move it back.
	UnschedulablePlugins map[string]bool

	index int // in its heap
	// pendingUpdate is a newer version of the pod that arrived while it
	// was being scheduled.
	pendingUpdate *corev1.Pod
	// backoffUntil is when the back-off of its last failure ends.
	backoffUntil time.Time
}

// Config tunes the queue.
type Config struct {
	InitialBackoff, MaxBackoff time.Duration
	UnschedulableMaxAge        time.Duration
	// PluginEvents are, per plugin, the events that may make the pods it
	// rejected schedulable; a plugin absent from the map is interested in
	// every event.
	PluginEvents map[string][]framework.ClusterEvent
	Now          func() time.Time
}

// Queue is safe for concurrent use.
type Queue struct {
	cfg  Config
	mu   sync.Mutex
	cond *sync.Cond

	active        podHeap // by priority, then Timestamp
	backoff       podHeap // by backoffUntil
	unschedulable map[types.UID]*QueuedPod
	// known holds every pod in one of the three, plus those popped and
	// being scheduled (inFlight).
	known    map[types.UID]*QueuedPod
	inFlight map[types.UID]*QueuedPod
	// moveRequest is set when an event arrived while pods were in flight:
	// a pod failing now must not go to the unschedulable pool, as the
	// event might have helped it.
	moveCycle     int64
	schedCycle    int64
	popCycle      map[types.UID]int64
	closed        bool
	nominated     map[string]map[types.UID]*corev1.Pod // node → pods nominated there
	nominatedNode map[types.UID]string
	// nominatedCount is len(nominatedNode), readable without mu.
	nominatedCount atomic.Int64
}

// New returns an empty queue.
func New(cfg Config) *Queue {
	if cfg.InitialBackoff == 0 {
		cfg.InitialBackoff = DefaultInitialBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.UnschedulableMaxAge == 0 {
		cfg.UnschedulableMaxAge = DefaultUnschedulableMaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	q := &Queue{
		cfg:           cfg,
		active:        podHeap{less: activeLess},
		backoff:       podHeap{less: backoffLess},
		unschedulable: map[types.UID]*QueuedPod{},
		known:         map[types.UID]*QueuedPod{},
		inFlight:      map[types.UID]*QueuedPod{},
		popCycle:      map[types.UID]int64{},
		nominated:     map[string]map[types.UID]*corev1.Pod{},
		nominatedNode: map[types.UID]string{},
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func activeLess(a, b *QueuedPod) bool {
	pa, pb := framework.PodPriority(a.Pod), framework.PodPriority(b.Pod)
	if pa != pb {
		return pa > pb
	}
	return a.Timestamp.Before(b.Timestamp)
}

func backoffLess(a, b *QueuedPod) bool { return a.backoffUntil.Before(b.backoffUntil) }

// SetPluginEvents sets Config.PluginEvents (known once the plugins are
// built).
func (q *Queue) SetPluginEvents(events map[string][]framework.ClusterEvent) {
	q.mu.Lock()
	q.cfg.PluginEvents = events
	q.mu.Unlock()
}

// Add queues a new pending pod, or updates a queued one.
func (q *Queue) Add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.updateNominatedLocked(pod)
	if qp, ok := q.known[pod.UID]; ok {
		q.updateLocked(qp, pod)
		return
	}
	now := q.cfg.Now()
	qp := &QueuedPod{Pod: pod, Timestamp: now, Initial: now}
	q.known[pod.UID] = qp
	heap.Push(&q.active, qp)
	q.cond.Broadcast()
}

// updateLocked takes a changed pod: in the unschedulable pool a change of
// its spec or labels may make it schedulable, so it goes back to active.
func (q *Queue) updateLocked(qp *QueuedPod, pod *corev1.Pod) {
	if q.inFlight[pod.UID] == qp {
		// The scheduling goroutine reads qp.Pod: the update waits until
		// the pod is requeued.
		qp.pendingUpdate = pod
		return
	}
	old := qp.Pod
	qp.Pod = pod
	switch {
	case q.inHeap(&q.active, qp):
		heap.Fix(&q.active, qp.index)
	case q.inHeap(&q.backoff, qp):
		// stays until its back-off ends
	case q.unschedulable[pod.UID] == qp && specChanged(old, pod):
		delete(q.unschedulable, pod.UID)
		q.toActiveOrBackoffLocked(qp)
	}
}

func specChanged(a, b *corev1.Pod) bool {
	return a.Generation != b.Generation || !mapsEqual(a.Labels, b.Labels) || !mapsEqual(a.Annotations, b.Annotations)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (q *Queue) inHeap(h *podHeap, qp *QueuedPod) bool {
	return qp.index >= 0 && qp.index < len(h.items) && h.items[qp.index] == qp
}

// Delete drops a pod (deleted, or bound by someone else).
func (q *Queue) Delete(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deleteNominatedLocked(pod.UID)
	qp, ok := q.known[pod.UID]
	if !ok {
		return
	}
	delete(q.known, pod.UID)
	delete(q.unschedulable, pod.UID)
	if q.inHeap(&q.active, qp) {
		heap.Remove(&q.active, qp.index)
	} else if q.inHeap(&q.backoff, qp) {
		heap.Remove(&q.backoff, qp.index)
	}
}

// Pop waits for the next pod to schedule; nil once ctx is done or the
// queue closed.
func (q *Queue) Pop(ctx context.Context) *QueuedPod {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.cond.Broadcast()
		q.mu.Unlock()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 {
		if q.closed || ctx.Err() != nil {
			return nil
		}
		q.cond.Wait()
	}
	qp := heap.Pop(&q.active).(*QueuedPod)
	qp.Attempts++
	q.schedCycle++
	q.popCycle[qp.Pod.UID] = q.schedCycle
	q.inFlight[qp.Pod.UID] = qp
	return qp
}

// Done says the scheduling of a popped pod is over (bound, or requeued).
func (q *Queue) Done(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inFlight, uid)
	delete(q.popCycle, uid)
	if qp, ok := q.known[uid]; ok && !q.queuedLocked(qp) {
		delete(q.known, uid)
	}
}

func (q *Queue) queuedLocked(qp *QueuedPod) bool {
	return q.inHeap(&q.active, qp) || q.inHeap(&q.backoff, qp) || q.unschedulable[qp.Pod.UID] == qp
}

// Requeue puts back a popped pod that could not be scheduled. With
// unschedulable set (no node fits) it waits in the unschedulable pool
// for an event one of rejecting plugins cares about — unless such an
// event came while it was being scheduled; otherwise (an error) it backs
// off.
func (q *Queue) Requeue(qp *QueuedPod, unschedulable bool, rejecting map[string]bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	uid := qp.Pod.UID
	popped := q.popCycle[uid]
	delete(q.inFlight, uid)
	delete(q.popCycle, uid)
	if cur, ok := q.known[uid]; !ok || cur != qp {
		return // deleted meanwhile
	}
	qp.UnschedulablePlugins = rejecting
	qp.backoffUntil = q.cfg.Now().Add(q.backoffDuration(qp))
	changed := false
	if qp.pendingUpdate != nil {
		changed = specChanged(qp.Pod, qp.pendingUpdate)
		qp.Pod, qp.pendingUpdate = qp.pendingUpdate, nil
	}
	if unschedulable && !changed && q.moveCycle < popped {
		q.unschedulable[uid] = qp
		qp.Timestamp = q.cfg.Now()
		return
	}
	heap.Push(&q.backoff, qp)
}

func (q *Queue) backoffDuration(qp *QueuedPod) time.Duration {
	d := q.cfg.InitialBackoff
	for i := 1; i < qp.Attempts && d < q.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, q.cfg.MaxBackoff)
}

func (q *Queue) toActiveOrBackoffLocked(qp *QueuedPod) {
	if q.cfg.Now().Before(qp.backoffUntil) {
		heap.Push(&q.backoff, qp)
		return
	}
	qp.Timestamp = q.cfg.Now()
	heap.Push(&q.active, qp)
	q.cond.Broadcast()
}

// MoveOnEvent moves the unschedulable pods that event may help back to
// the active (or back-off) queue.
func (q *Queue) MoveOnEvent(event framework.ClusterEvent) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moveCycle = q.schedCycle
	for uid, qp := range q.unschedulable {
		if q.interested(qp, event) {
			delete(q.unschedulable, uid)
			q.toActiveOrBackoffLocked(qp)
		}
	}
}

func (q *Queue) interested(qp *QueuedPod, event framework.ClusterEvent) bool {
	if len(qp.UnschedulablePlugins) == 0 {
		return true
	}
	for plugin := range qp.UnschedulablePlugins {
		events, ok := q.cfg.PluginEvents[plugin]
		if !ok {
			return true
		}
		for _, e := range events {
			if e.Match(event) {
				return true
			}
		}
	}
	return false
}

// Flush moves pods whose back-off ended to the active queue, and pods
// unschedulable for longer than UnschedulableMaxAge back too. Run calls
// it every second.
func (q *Queue) Flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.cfg.Now()
	for q.backoff.Len() > 0 && !now.Before(q.backoff.items[0].backoffUntil) {
		qp := heap.Pop(&q.backoff).(*QueuedPod)
		qp.Timestamp = now
		heap.Push(&q.active, qp)
		q.cond.Broadcast()
	}
	for uid, qp := range q.unschedulable {
		if now.Sub(qp.Timestamp) > q.cfg.UnschedulableMaxAge {
			delete(q.unschedulable, uid)
			q.toActiveOrBackoffLocked(qp)
		}
	}
}

// Run flushes every second until ctx is done, then closes the queue.
func (q *Queue) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			q.mu.Lock()
			q.closed = true
			q.cond.Broadcast()
			q.mu.Unlock()
			return
		case <-t.C:
			q.Flush()
		}
	}
}

// Lengths returns how many pods are active, backing off and
// unschedulable.
func (q *Queue) Lengths() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.Len(), q.backoff.Len(), len(q.unschedulable)
}

// --- nominated pods: pending pods that preempted victims on a node and
// wait for them to go; other pods must leave room for them there.

func (q *Queue) updateNominatedLocked(pod *corev1.Pod) {
	q.deleteNominatedLocked(pod.UID)
	node := pod.Status.NominatedNodeName
	if node == "" {
		return
	}
	if q.nominated[node] == nil {
		q.nominated[node] = map[types.UID]*corev1.Pod{}
	}
	q.nominated[node][pod.UID] = pod
	q.nominatedNode[pod.UID] = node
	q.nominatedCount.Store(int64(len(q.nominatedNode)))
}

func (q *Queue) deleteNominatedLocked(uid types.UID) {
	node, ok := q.nominatedNode[uid]
	if !ok {
		return
	}
	delete(q.nominated[node], uid)
	if len(q.nominated[node]) == 0 {
		delete(q.nominated, node)
	}
	delete(q.nominatedNode, uid)
	q.nominatedCount.Store(int64(len(q.nominatedNode)))
}

// Nominate records that pod is nominated to node ("" clears it).
func (q *Queue) Nominate(pod *corev1.Pod, node string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	p := pod.DeepCopy()
	p.Status.NominatedNodeName = node
	q.updateNominatedLocked(p)
}

// NominatedPods returns the pods nominated to node. With none nominated
// anywhere (the common case) it takes no lock: Filter asks for every
// node, from parallel workers.
func (q *Queue) NominatedPods(node string) []*corev1.Pod {
	if q.nominatedCount.Load() == 0 {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(q.nominated[node]))
	for _, p := range q.nominated[node] {
		out = append(out, p)
	}
	return out
}

// podHeap is a heap of queued pods with an index kept in each.
type podHeap struct {
	items []*QueuedPod
	less  func(a, b *QueuedPod) bool
}

func (h podHeap) Len() int           { return len(h.items) }
func (h podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index = i
	h.items[j].index = j
}
func (h *podHeap) Push(x any) {
	qp := x.(*QueuedPod)
	qp.index = len(h.items)
	h.items = append(h.items, qp)
}
func (h *podHeap) Pop() any {
	n := len(h.items)
	qp := h.items[n-1]
	h.items[n-1] = nil
	h.items = h.items[:n-1]
	qp.index = -1
	return qp
}
