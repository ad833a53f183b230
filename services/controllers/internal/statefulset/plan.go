package statefulset

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// view is what plan needs to know of a StatefulSet.
type view struct {
	Name     string
	Start    int // first ordinal
	Replicas int
	// Parallel is podManagementPolicy Parallel (else OrderedReady).
	Parallel bool
	// OnDelete is updateStrategy OnDelete (else RollingUpdate).
	OnDelete bool
	// Partition: pods of a lower index (ordinal - Start) are not updated.
	Partition int
	// CurrentBelow: missing pods of a lower index are re-created at the
	// current revision, the others at the update revision.
	CurrentBelow   int
	MaxUnavailable int
	MinReady       time.Duration
	// Deleting: the set is being deleted; nothing is done but status.
	Deleting bool
	// HasClaims: the set has volumeClaimTemplates.
	HasClaims                       bool
	CurrentRevision, UpdateRevision string
}

// stepKind is what a step does.
type stepKind int

const (
	// createPod creates the pod of Ordinal at Revision (its claims first).
	createPod stepKind = iota
	// deletePod deletes Pod, for Reason.
	deletePod
	// relabel restores Pod's identity labels.
	relabel
	// ensureClaims creates the missing claims of pending Pod.
	ensureClaims
	// syncClaimOwners sets the owner references of Pod's claims as the
	// retention policy wants them.
	syncClaimOwners
)

// Reasons of deletions.
const (
	reasonFinished  = "finished"
	reasonScaleDown = "scale down"
	reasonUpdate    = "update"
)

// step is one change to make.
type step struct {
	Kind     stepKind
	Ordinal  int
	Revision string
	Pod      *corev1.Pod
	Reason   string
}

func (s step) String() string {
	switch s.Kind {
	case createPod:
		return fmt.Sprintf("create %d@%s", s.Ordinal, s.Revision)
	case deletePod:
		return fmt.Sprintf("delete %s (%s)", s.Pod.Name, s.Reason)
	case relabel:
		return "relabel " + s.Pod.Name
	case ensureClaims:
		return "claims " + s.Pod.Name
	case syncClaimOwners:
		return "claim owners " + s.Pod.Name
	}
	return fmt.Sprintf("step %d", s.Kind)
}

// phase is a group of steps; a phase in which a step failed ends the
// plan. Under the Parallel policy a phase's steps may run at once.
type phase struct {
	Name  string
	Steps []step
}

// Plan is what a sync does to a StatefulSet's pods.
type Plan struct {
	Phases []phase
	// Waiting says what stops the plan here, if anything ("web-1 to be
	// Running and Ready").
	Waiting string
	// RecheckAfter, when positive, is when a ready pod becomes available.
	RecheckAfter time.Duration
}

// Steps returns the plan's steps in order.
func (p *Plan) Steps() []step {
	var out []step
	for _, ph := range p.Phases {
		out = append(out, ph.Steps...)
	}
	return out
}

func (p *Plan) String() string {
	var parts []string
	for _, s := range p.Steps() {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, "; ")
}

// planner builds a Plan.
type planner struct {
	v   view
	now time.Time
	// replicas holds the pod of each index (nil: missing); condemned the
	// pods beyond the range, highest ordinal first.
	replicas  []*corev1.Pod
	condemned []*corev1.Pod
	plan      Plan
	cur       *phase
}

// plan decides what to do next about a set: pods are its members (names
// "<set>-<ordinal>"). It follows kube-controller-manager's algorithm:
//
//  1. every ordinal in range, in order: replace finished pods, create
//     missing ones, restore identities; under OrderedReady stop at the
//     first pod created, deleted, or not yet Running, Ready and available;
//  2. scale down: delete pods beyond the range, under OrderedReady one at
//     a time from the highest ordinal, each once the one before has
//     terminated;
//  3. RollingUpdate: delete pods not at the update revision from the
//     highest ordinal down to the partition, while fewer than
//     maxUnavailable pods are unavailable.
func plan(v view, pods []*corev1.Pod, now time.Time) Plan {
	p := &planner{v: v, now: now, replicas: make([]*corev1.Pod, max(v.Replicas, 0))}
	for _, pod := range pods {
		ord := ordinalOf(pod)
		switch idx := ord - v.Start; {
		case ord < 0:
		case idx >= 0 && idx < len(p.replicas):
			p.replicas[idx] = pod
		default:
			p.condemned = append(p.condemned, pod)
		}
	}
	sort.Slice(p.condemned, func(i, j int) bool { return ordinalOf(p.condemned[i]) > ordinalOf(p.condemned[j]) })
	p.recheck()
	if v.Deleting {
		return p.plan
	}
	if p.replicasPhase() || p.scaleDownPhase() || v.OnDelete {
		return p.plan
	}
	p.updatePhase()
	return p.plan
}

func (p *planner) begin(name string) {
	p.plan.Phases = append(p.plan.Phases, phase{Name: name})
	p.cur = &p.plan.Phases[len(p.plan.Phases)-1]
}

func (p *planner) add(s step) { p.cur.Steps = append(p.cur.Steps, s) }

// wait records what blocks the plan and reports true (stop).
func (p *planner) wait(format string, args ...any) bool {
	p.plan.Waiting = fmt.Sprintf(format, args...)
	return true
}

// recheck sets RecheckAfter to when the first ready pod becomes
// available.
func (p *planner) recheck() {
	for _, pod := range append(append([]*corev1.Pod(nil), p.replicas...), p.condemned...) {
		if pod == nil {
			continue
		}
		if wait, ok := availableIn(pod, p.v.MinReady, p.now); ok && wait > 0 &&
			(p.plan.RecheckAfter == 0 || wait < p.plan.RecheckAfter) {
			p.plan.RecheckAfter = wait
		}
	}
}

// revisionFor is the revision a missing pod of index idx is created at.
func (p *planner) revisionFor(idx int) string {
	if !p.v.OnDelete && idx < p.v.CurrentBelow {
		return p.v.CurrentRevision
	}
	return p.v.UpdateRevision
}

// replicasPhase handles the ordinals in range; it reports whether the
// plan stops there.
func (p *planner) replicasPhase() bool {
	p.begin("replicas")
	ordered := !p.v.Parallel
	for idx, pod := range p.replicas {
		ord := p.v.Start + idx
		if pod == nil {
			p.add(step{Kind: createPod, Ordinal: ord, Revision: p.revisionFor(idx)})
			if ordered {
				return p.wait("%s to be created", podName(p.v.Name, ord))
			}
			continue
		}
		if hasFinished(pod) {
			if !isTerminating(pod) {
				p.add(step{Kind: deletePod, Pod: pod, Reason: reasonFinished})
			}
			if ordered {
				return p.wait("%s to be replaced", pod.Name)
			}
			continue
		}
		if isPending(pod) && p.v.HasClaims {
			p.add(step{Kind: ensureClaims, Pod: pod})
		}
		if ordered {
			switch {
			case isTerminating(pod):
				return p.wait("%s to terminate", pod.Name)
			case !isRunningAndReady(pod):
				return p.wait("%s to be Running and Ready", pod.Name)
			case !isAvailable(pod, p.v.MinReady, p.now):
				return p.wait("%s to be available", pod.Name)
			}
		}
		if !identityMatches(pod) {
			p.add(step{Kind: relabel, Pod: pod})
		}
		if p.v.HasClaims && !isTerminating(pod) {
			p.add(step{Kind: syncClaimOwners, Pod: pod})
		}
	}
	return false
}

// firstUnhealthy is the lowest in-range ordinal that is missing or not
// healthy, else the lowest such condemned pod; its ordinal or -1.
func (p *planner) firstUnhealthy() int {
	for idx, pod := range p.replicas {
		if !isHealthy(pod) {
			return p.v.Start + idx
		}
	}
	for i := len(p.condemned) - 1; i >= 0; i-- {
		if !isHealthy(p.condemned[i]) {
			return ordinalOf(p.condemned[i])
		}
	}
	return -1
}

// scaleDownPhase deletes the pods beyond the range; it reports whether
// the plan stops there.
func (p *planner) scaleDownPhase() bool {
	if len(p.condemned) == 0 {
		return false
	}
	if p.v.HasClaims {
		// Their claims first get the owner references the retention
		// policy asks of scaled-down pods.
		p.begin("condemned claims")
		for _, pod := range p.condemned {
			p.add(step{Kind: syncClaimOwners, Pod: pod})
		}
	}
	p.begin("scale down")
	if p.v.Parallel {
		for _, pod := range p.condemned {
			if !isTerminating(pod) {
				p.add(step{Kind: deletePod, Pod: pod, Reason: reasonScaleDown})
			}
		}
		return false
	}
	first := p.firstUnhealthy()
	for _, pod := range p.condemned {
		switch {
		case isTerminating(pod):
			return p.wait("%s to terminate", pod.Name)
		case !isRunningAndReady(pod) && ordinalOf(pod) != first:
			return p.wait("%s to be Running and Ready before scaling down", podName(p.v.Name, first))
		case !isAvailable(pod, p.v.MinReady, p.now) && ordinalOf(pod) != first:
			return p.wait("%s to be available before scaling down", podName(p.v.Name, first))
		}
		p.add(step{Kind: deletePod, Pod: pod, Reason: reasonScaleDown})
		return p.wait("%s to terminate", pod.Name)
	}
	return false
}

// updatePhase replaces pods not at the update revision, highest ordinal
// first, down to the partition, keeping at most MaxUnavailable pods
// unavailable.
func (p *planner) updatePhase() {
	unavailable := 0
	for _, pod := range p.replicas {
		if !isHealthy(pod) {
			unavailable++
		}
	}
	budget := max(p.v.MaxUnavailable, 1) - unavailable
	if budget <= 0 {
		for idx := len(p.replicas) - 1; idx >= p.v.Partition && idx >= 0; idx-- {
			if pod := p.replicas[idx]; pod != nil && revisionOf(pod) != p.v.UpdateRevision {
				p.wait("%d unavailable pods before updating %s", unavailable, pod.Name)
				break
			}
		}
		return
	}
	p.begin("update")
	for idx := len(p.replicas) - 1; idx >= p.v.Partition && idx >= 0 && budget > 0; idx-- {
		pod := p.replicas[idx]
		if pod == nil || revisionOf(pod) == p.v.UpdateRevision || isTerminating(pod) {
			continue
		}
		p.add(step{Kind: deletePod, Pod: pod, Reason: reasonUpdate})
		budget--
	}
}
