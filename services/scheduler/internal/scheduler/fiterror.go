package scheduler

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// fitError explains why no node fits, the Kubernetes way:
// "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated
// taint {dedicated: gpu}." followed, after preemption was tried, by its
// own summary.
type fitError struct {
	numNodes   int
	rejected   framework.NodeToStatus
	preFilter  *framework.Status // a PreFilter rejection, for every node
	postFilter string            // preemption's explanation
}

func (e *fitError) Error() string {
	reasons := map[string]int{}
	if e.preFilter != nil {
		for _, r := range e.preFilter.Reasons() {
			reasons[r] += e.numNodes
		}
	} else {
		for _, s := range e.rejected {
			for _, r := range s.Reasons() {
				reasons[r]++
			}
		}
	}
	msg := fmt.Sprintf("0/%d nodes are available", e.numNodes)
	if len(reasons) > 0 {
		msg += ": " + countReasons(reasons)
	}
	msg += "."
	if e.postFilter != "" {
		msg += " " + e.postFilter
	}
	return msg
}

// countReasons formats "2 Insufficient cpu, 3 node(s) had ...", sorted as
// strings (count first), as Kubernetes does.
func countReasons(reasons map[string]int) string {
	parts := make([]string, 0, len(reasons))
	for r, n := range reasons {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// rejectingPlugins lists the plugins that rejected nodes.
func (e *fitError) rejectingPlugins() map[string]bool {
	out := map[string]bool{}
	if e.preFilter != nil && e.preFilter.Plugin() != "" {
		out[e.preFilter.Plugin()] = true
	}
	for _, s := range e.rejected {
		if p := s.Plugin(); p != "" {
			out[p] = true
		}
	}
	return out
}
