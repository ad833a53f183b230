package job

import (
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

const (
	// backoffBase is the delay before replacing a Job's first failed pod;
	// it doubles with each consecutive failure up to backoffMax.
	backoffBase = 10 * time.Second
	backoffMax  = 6 * time.Minute
)

// backoffRecord is a Job's run of failures since its last success.
type backoffRecord struct {
	failures        int32
	lastFailureTime time.Time
}

// nextBackoff adds the pods that finished since the record was last
// saved: a success resets the run to the failures after it.
func nextBackoff(r backoffRecord, succeeded, failed []*corev1.Pod) backoffRecord {
	if len(succeeded) == 0 && len(failed) == 0 {
		return r
	}
	failedAt := finishTimes(failed)
	if len(succeeded) == 0 {
		return backoffRecord{failures: r.failures + int32(len(failed)), lastFailureTime: failedAt[len(failedAt)-1]}
	}
	succeededAt := finishTimes(succeeded)
	lastSuccess := succeededAt[len(succeededAt)-1]
	out := backoffRecord{}
	for i := len(failedAt) - 1; i >= 0 && failedAt[i].After(lastSuccess); i-- {
		if out.failures == 0 {
			out.lastFailureTime = failedAt[i]
		}
		out.failures++
	}
	return out
}

func finishTimes(pods []*corev1.Pod) []time.Time {
	out := make([]time.Time, len(pods))
	for i, p := range pods {
		out[i] = finishedAt(p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// delay is how long after the last failure a replacement waits: 10s for
// the first failure, doubling with each one after, at most backoffMax.
func (r backoffRecord) delay() time.Duration {
	if r.failures == 0 {
		return 0
	}
	d := backoffBase
	for i := int32(1); i < r.failures && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// remaining is how long from now a replacement still has to wait.
func (r backoffRecord) remaining(now time.Time) time.Duration {
	if r.failures == 0 {
		return 0
	}
	return max(r.delay()-now.Sub(r.lastFailureTime), 0)
}

// backoffStore keeps each Job's record between syncs (by Job key).
type backoffStore struct {
	mu sync.Mutex
	m  map[string]backoffRecord
}

func newBackoffStore() *backoffStore { return &backoffStore{m: map[string]backoffRecord{}} }

func (s *backoffStore) get(key string) backoffRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}

func (s *backoffStore) set(key string, r backoffRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = r
}

func (s *backoffStore) remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}
