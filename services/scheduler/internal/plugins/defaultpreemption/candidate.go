package defaultpreemption

import (
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// candidate is a node where deleting victims makes the pod fit.
type candidate struct {
	node string
	// victims, most important first (never empty).
	victims []*corev1.Pod
}

// highestPriority is the priority of the most important victim.
func (c *candidate) highestPriority() int32 { return framework.PodPriority(c.victims[0]) }

// prioritySum adds up the victims' priorities, each shifted by
// MaxInt32+1 to be positive, so that more victims always weigh more even
// with negative priorities.
func (c *candidate) prioritySum() int64 {
	var sum int64
	for _, v := range c.victims {
		sum += int64(framework.PodPriority(v)) + math.MaxInt32 + 1
	}
	return sum
}

// earliestStartOfHighest is the earliest start time among the victims of
// the highest priority: how long the most important work on the node has
// been running.
func (c *candidate) earliestStartOfHighest(now time.Time) time.Time {
	top := c.highestPriority()
	earliest := startTime(c.victims[0], now)
	for _, v := range c.victims[1:] {
		if framework.PodPriority(v) != top {
			continue
		}
		if t := startTime(v, now); t.Before(earliest) {
			earliest = t
		}
	}
	return earliest
}

// pickCandidate chooses where to preempt, by Kubernetes' criteria in
// order, each deciding only among the candidates tied on the previous
// ones: the lowest highest-victim priority, the smallest sum of victim
// priorities, the fewest victims, the latest start of the highest-priority
// victims (disturb the youngest work), and finally the first candidate.
// (Kubernetes first prefers fewer PodDisruptionBudget violations; Gantry
// has no PDBs.)
func pickCandidate(cands []*candidate, now time.Time) *candidate {
	if len(cands) == 0 {
		return nil
	}
	// Each score is "higher is better".
	scores := []func(*candidate) int64{
		func(c *candidate) int64 { return -int64(c.highestPriority()) },
		func(c *candidate) int64 { return -c.prioritySum() },
		func(c *candidate) int64 { return -int64(len(c.victims)) },
		func(c *candidate) int64 { return c.earliestStartOfHighest(now).UnixNano() },
	}
	for _, score := range scores {
		if len(cands) == 1 {
			break
		}
		cands = best(cands, score)
	}
	return cands[0]
}

// best keeps the candidates of the highest score, in their order.
func best(cands []*candidate, score func(*candidate) int64) []*candidate {
	var kept []*candidate
	top := int64(math.MinInt64)
	for _, c := range cands {
		switch s := score(c); {
		case s > top:
			top, kept = s, []*candidate{c}
		case s == top:
			kept = append(kept, c)
		}
	}
	return kept
}
