package nodelifecycle

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// zoneState is how healthy a zone's nodes are.
type zoneState string

// Zone states, by Kubernetes' names.
const (
	stateInitial           zoneState = "Initial"
	stateNormal            zoneState = "Normal"
	stateFullDisruption    zoneState = "FullDisruption"
	statePartialDisruption zoneState = "PartialDisruption"
)

// excludeDisruptionLabel keeps a node out of the zone health counts.
const excludeDisruptionLabel = "node.kubernetes.io/exclude-disruption"

// zoneKey is the zone a node is in: its region and zone labels (the
// deprecated failure-domain ones as a fallback), "" for neither.
func zoneKey(node *corev1.Node) string {
	get := func(key, deprecated string) string {
		if v := node.Labels[key]; v != "" {
			return v
		}
		return node.Labels[deprecated]
	}
	region := get(corev1.LabelTopologyRegion, corev1.LabelFailureDomainBetaRegion)
	zone := get(corev1.LabelTopologyZone, corev1.LabelFailureDomainBetaZone)
	if region == "" && zone == "" {
		return ""
	}
	return region + ":\x00:" + zone
}

// computeZoneState is Kubernetes' ComputeZoneState: a zone with no ready
// node is fully disrupted; one with more than two not-ready nodes making
// at least threshold of it is partially disrupted.
func computeZoneState(ready []corev1.ConditionStatus, threshold float64) (notReady int, state zoneState) {
	readyNodes := 0
	for _, s := range ready {
		if s == corev1.ConditionTrue {
			readyNodes++
		} else {
			notReady++
		}
	}
	switch {
	case readyNodes == 0 && notReady > 0:
		return notReady, stateFullDisruption
	case notReady > 2 && float64(notReady)/float64(notReady+readyNodes) >= threshold:
		return notReady, statePartialDisruption
	}
	return notReady, stateNormal
}

// rates are the tainting rates of a controller.
type rates struct {
	primary, secondary float64
	largeCluster       int
}

// forZone is the tainting rate (nodes per second) of a zone of size
// nodes in state: the secondary rate for a partially disrupted large zone
// (none in a small one), the primary one otherwise — a fully disrupted
// zone, when others are not, is most likely really down.
func (r rates) forZone(state zoneState, size int) float64 {
	if state == statePartialDisruption {
		if size > r.largeCluster {
			return r.secondary
		}
		return 0
	}
	return r.primary
}

// bucket is a token bucket of one token (Kubernetes' eviction limiter's
// burst), on the controller's clock.
type bucket struct {
	qps    float64
	tokens float64
	last   time.Time
}

func newBucket(qps float64, now time.Time) *bucket {
	return &bucket{qps: qps, tokens: 1, last: now}
}

func (b *bucket) refill(now time.Time) {
	if b.qps > 0 && now.After(b.last) {
		b.tokens = min(1, b.tokens+now.Sub(b.last).Seconds()*b.qps)
	}
	b.last = now
}

// allow takes a token if there is one.
func (b *bucket) allow(now time.Time) bool {
	if b.qps <= 0 {
		return false
	}
	b.refill(now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// setRate changes the rate; a drained bucket stays drained, so a rate
// change does not let a burst through.
func (b *bucket) setRate(qps float64, now time.Time) {
	if qps == b.qps {
		return
	}
	b.refill(now)
	full := b.qps > 0 && b.tokens >= 1
	b.qps = qps
	b.tokens = 0
	if full {
		b.tokens = 1
	}
}

// taintQueue holds the nodes of a zone waiting for their NoExecute
// taint, in the order they went bad. A node stays a member after it was
// tainted, until remove (it recovered), so that it is not queued again.
type taintQueue struct {
	limiter *bucket
	members map[string]bool
	pending []string
}

func newTaintQueue(qps float64, now time.Time) *taintQueue {
	return &taintQueue{limiter: newBucket(qps, now), members: map[string]bool{}}
}

// add queues node unless it is a member already.
func (q *taintQueue) add(node string) bool {
	if q.members[node] {
		return false
	}
	q.members[node] = true
	q.pending = append(q.pending, node)
	return true
}

// remove forgets node.
func (q *taintQueue) remove(node string) {
	delete(q.members, node)
	q.pending = slices.DeleteFunc(q.pending, func(n string) bool { return n == node })
}

// try hands pending nodes to fn as long as the limiter allows; a node fn
// fails on goes to the back of the queue.
func (q *taintQueue) try(now time.Time, fn func(node string) bool) {
	for n := len(q.pending); n > 0 && len(q.pending) > 0; n-- {
		if !q.limiter.allow(now) {
			return
		}
		node := q.pending[0]
		q.pending = q.pending[1:]
		if !fn(node) {
			q.pending = append(q.pending, node)
		}
	}
}

// requeue makes sure node waits for its taint: added if it is not a
// member, put back in line if it is one that was already handled (its
// taint went missing since); left in place if pending.
func (q *taintQueue) requeue(node string) {
	if !q.members[node] {
		q.add(node)
		return
	}
	if !slices.Contains(q.pending, node) {
		q.pending = append(q.pending, node)
	}
}
