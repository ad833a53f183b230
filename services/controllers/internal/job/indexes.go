package job

import (
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

func isIndexed(job *batchv1.Job) bool {
	return job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
}

// interval is the completion indexes first..last.
type interval struct{ first, last int }

// intervals is a set of completion indexes: sorted, disjoint and not
// adjacent, as status.completedIndexes writes it ("1,3-5,7").
type intervals []interval

// parseIntervals reads a completedIndexes string, dropping indexes not
// below completions and parts that do not parse.
func parseIntervals(s string, completions int) intervals {
	if s == "" {
		return nil
	}
	var out intervals
	for _, part := range strings.Split(s, ",") {
		bounds := strings.SplitN(part, "-", 2)
		first, err := strconv.Atoi(bounds[0])
		if err != nil || first < 0 {
			continue
		}
		if first >= completions {
			break
		}
		last := first
		if len(bounds) == 2 {
			if last, err = strconv.Atoi(bounds[1]); err != nil || last < first {
				continue
			}
			last = min(last, completions-1)
		}
		out = out.merge(intervals{{first, last}})
	}
	return out
}

// String writes the set as status.completedIndexes does: ranges of three
// or more as "a-b", pairs as "a,b".
func (s intervals) String() string {
	var b strings.Builder
	for _, iv := range s {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(iv.first))
		switch {
		case iv.last == iv.first+1:
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(iv.last))
		case iv.last > iv.first:
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(iv.last))
		}
	}
	return b.String()
}

// total is how many indexes the set holds.
func (s intervals) total() int {
	n := 0
	for _, iv := range s {
		n += iv.last - iv.first + 1
	}
	return n
}

// has reports whether ix is in the set.
func (s intervals) has(ix int) bool {
	i, _ := slices.BinarySearchFunc(s, ix, func(iv interval, ix int) int {
		switch {
		case iv.last < ix:
			return -1
		case iv.first > ix:
			return 1
		}
		return 0
	})
	return i < len(s) && s[i].first <= ix && ix <= s[i].last
}

// with returns the set plus the given indexes.
func (s intervals) with(indexes ...int) intervals {
	add := make(intervals, 0, len(indexes))
	for _, ix := range indexes {
		add = append(add, interval{ix, ix})
	}
	slices.SortFunc(add, func(a, b interval) int { return a.first - b.first })
	return s.merge(add)
}

// merge returns the union of two sets.
func (s intervals) merge(o intervals) intervals {
	all := make(intervals, 0, len(s)+len(o))
	all = append(all, s...)
	all = append(all, o...)
	slices.SortFunc(all, func(a, b interval) int { return a.first - b.first })
	var out intervals
	for _, iv := range all {
		if n := len(out); n > 0 && iv.first <= out[n-1].last+1 {
			out[n-1].last = max(out[n-1].last, iv.last)
			continue
		}
		out = append(out, iv)
	}
	return out
}

// succeededIndexes returns the indexes status.completedIndexes holds and
// those plus the indexes of succeeded pods not counted yet (they still
// carry the tracking finalizer).
func succeededIndexes(job *batchv1.Job, pods []*corev1.Pod) (prev, cur intervals) {
	completions := int(deref(job.Spec.Completions, 0))
	prev = parseIntervals(job.Status.CompletedIndexes, completions)
	var fresh []int
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded && validIndex(p, job) && hasTrackingFinalizer(p) {
			fresh = append(fresh, completionIndex(p))
		}
	}
	return prev, prev.with(fresh...)
}

// pendingIndexes returns the first count indexes below completions that
// neither succeeded nor have a pod working on them (active pods, and
// terminating ones when only failed pods are replaced).
func pendingIndexes(job *batchv1.Job, succeeded intervals, active []*corev1.Pod, pods []*corev1.Pod, count int) []int {
	if count <= 0 {
		return nil
	}
	busy := succeeded
	for _, p := range active {
		if ix := completionIndex(p); ix != noIndex {
			busy = busy.with(ix)
		}
	}
	if onlyReplaceFailed(job) {
		for _, p := range pods {
			if ix := completionIndex(p); ix != noIndex && isTerminating(p) {
				busy = busy.with(ix)
			}
		}
	}
	completions := int(deref(job.Spec.Completions, 0))
	var out []int
	for ix := 0; ix < completions && len(out) < count; ix++ {
		if !busy.has(ix) {
			out = append(out, ix)
		}
	}
	return out
}

// duplicateIndexPods splits active pods of an Indexed Job into the pods
// to remove — without a valid index, or a second pod of an index — and
// the rest. Of the pods sharing an index, the dearest (sortForRemoval)
// stays.
func duplicateIndexPods(job *batchv1.Job, active []*corev1.Pod) (rm, keep []*corev1.Pod) {
	byIndex := map[int][]*corev1.Pod{}
	for _, p := range active {
		if !validIndex(p, job) {
			rm = append(rm, p)
			continue
		}
		ix := completionIndex(p)
		byIndex[ix] = append(byIndex[ix], p)
	}
	indexes := make([]int, 0, len(byIndex))
	for ix := range byIndex {
		indexes = append(indexes, ix)
	}
	slices.Sort(indexes)
	for _, ix := range indexes {
		ps := byIndex[ix]
		sortForRemoval(ps)
		rm = append(rm, ps[:len(ps)-1]...)
		keep = append(keep, ps[len(ps)-1])
	}
	return rm, keep
}
