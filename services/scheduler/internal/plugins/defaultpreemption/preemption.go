package defaultpreemption

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "DefaultPreemption"

// DefaultPreemption is the PostFilter plugin that preempts lower-priority
// pods. It keeps no state between calls and is safe for concurrent use.
type DefaultPreemption struct {
	h    framework.Handle
	args Args
	log  *slog.Logger
	// randIntN picks the offset in the potential nodes from which the dry
	// run starts (so that preemption does not always pick the same nodes).
	randIntN func(n int) int
}

var _ framework.PostFilterPlugin = (*DefaultPreemption)(nil)

// New builds the plugin from its arguments (see Args; nil for the
// defaults).
func New(args json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	a, err := ParseArgs(args)
	if err != nil {
		return nil, err
	}
	return newPlugin(a, h), nil
}

func newPlugin(a Args, h framework.Handle) *DefaultPreemption {
	return &DefaultPreemption{
		h:    h,
		args: a,
		// framework.Handle offers no logger; the process default is the
		// only one there is.
		log:      slog.Default().With("plugin", Name),
		randIntN: rand.IntN,
	}
}

// Name returns Name.
func (pl *DefaultPreemption) Name() string { return Name }

// PostFilter tries to make room for pod by preempting lower-priority pods
// on one node; filtered holds why each node was rejected. On success the
// result names the node to nominate; the victims' deletion has started.
// Otherwise the status is Unschedulable with the reasons (see the package
// comment), or Error.
func (pl *DefaultPreemption) PostFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, filtered framework.NodeToStatus) (*framework.PostFilterResult, *framework.Status) {
	if ok, reason := pl.eligible(pod, filtered); !ok {
		return nil, framework.NewStatus(framework.Unschedulable, reason)
	}
	if state == nil {
		state = framework.NewCycleState()
	}

	allNodes := pl.h.SnapshotSharedLister().List()
	if len(allNodes) == 0 {
		return nil, framework.AsStatus(errors.New("preemption: no nodes available"))
	}
	cands, statuses, err := pl.findCandidates(ctx, state, pod, allNodes, filtered)
	if len(cands) == 0 {
		if err != nil {
			return nil, framework.AsStatus(fmt.Errorf("preemption: %w", err))
		}
		pl.clearNomination(ctx, pod)
		return nil, framework.NewStatus(framework.Unschedulable, nodeReasons(allNodes, statuses)...)
	}

	c := pickCandidate(cands, pl.h.Now())
	if s := pl.prepare(ctx, pod, c); !s.IsSuccess() {
		return nil, s
	}
	return &framework.PostFilterResult{NominatedNodeName: c.node}, nil
}

// eligible tells whether pod may preempt, with the reason when not.
func (pl *DefaultPreemption) eligible(pod *corev1.Pod, filtered framework.NodeToStatus) (bool, string) {
	if p := pod.Spec.PreemptionPolicy; p != nil && *p == corev1.PreemptNever {
		return false, "not eligible due to preemptionPolicy=Never"
	}
	nominated := pod.Status.NominatedNodeName
	if nominated == "" {
		return true, ""
	}
	// The pod preempted before. If its node cannot take it any more
	// whatever is removed, it may preempt elsewhere.
	if filtered[nominated].Code() == framework.UnschedulableAndUnresolvable {
		return true, ""
	}
	nodeInfo, err := pl.h.SnapshotSharedLister().Get(nominated)
	if err != nil {
		return true, "" // the node is gone
	}
	// Otherwise, while its victims are still terminating, wait for them
	// rather than preempting more.
	prio := framework.PodPriority(pod)
	for _, pi := range nodeInfo.Pods {
		if pi.Pod.DeletionTimestamp != nil && framework.PodPriority(pi.Pod) < prio {
			return false, "not eligible due to a terminating pod on the nominated node"
		}
	}
	return true, ""
}

// findCandidates dry-runs preemption on the nodes where it might help (the
// filters said Unschedulable) and returns the candidates found and, for
// the nodes tried that are no candidates, why. The error gathers the
// Error statuses met.
func (pl *DefaultPreemption) findCandidates(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, allNodes []*framework.NodeInfo, filtered framework.NodeToStatus) ([]*candidate, map[string]*framework.Status, error) {
	var potential []*framework.NodeInfo
	for _, n := range allNodes {
		if filtered[n.Name()].Code() == framework.Unschedulable {
			potential = append(potential, n)
		}
	}
	if len(potential) == 0 {
		return nil, nil, nil
	}

	want := pl.args.numCandidates(len(potential))
	offset := pl.randIntN(len(potential))
	found := make([]*candidate, len(potential))
	statuses := make([]*framework.Status, len(potential))
	var numFound atomic.Int64
	dryRunCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	pl.h.Parallelizer().Until(dryRunCtx, len(potential), func(i int) {
		if dryRunCtx.Err() != nil {
			return
		}
		nodeInfo := potential[(offset+i)%len(potential)]
		victims, s := pl.selectVictims(dryRunCtx, state.Clone(), pod, nodeInfo.Clone())
		switch {
		case s.IsSuccess() && len(victims) > 0:
			found[i] = &candidate{node: nodeInfo.Name(), victims: victims}
			if numFound.Add(1) >= int64(want) {
				cancel() // enough
			}
		case s.IsSuccess():
			// The pod fits without preempting anyone: the node's pods or
			// nominations changed since the filters ran.
			statuses[i] = framework.AsStatus(fmt.Errorf("expected at least one victim pod on node %q", nodeInfo.Name()))
		default:
			statuses[i] = s
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}

	var cands []*candidate
	byNode := map[string]*framework.Status{}
	var errs []error
	for i := range potential {
		if found[i] != nil && len(cands) < want {
			cands = append(cands, found[i])
		}
		if s := statuses[i]; s != nil {
			byNode[potential[(offset+i)%len(potential)].Name()] = s
			if s.Code() == framework.Error {
				errs = append(errs, s.AsError())
			}
		}
	}
	return cands, byNode, errors.Join(errs...)
}

// nodeReasons lists why preemption cannot help, node by node: the dry
// run's reasons for the nodes tried, "not helpful" for the others.
func nodeReasons(allNodes []*framework.NodeInfo, statuses map[string]*framework.Status) []string {
	var reasons []string
	for _, n := range allNodes {
		s, ok := statuses[n.Name()]
		if !ok || len(s.Reasons()) == 0 {
			reasons = append(reasons, reasonNotHelpful)
			continue
		}
		reasons = append(reasons, s.Reasons()...)
	}
	return reasons
}

// prepare makes room on the chosen node: it deletes the victims (those not
// already terminating) and takes the node's nomination away from the
// lower-priority pods nominated there, which may no longer fit.
func (pl *DefaultPreemption) prepare(ctx context.Context, pod *corev1.Pod, c *candidate) *framework.Status {
	client := pl.h.Client()
	deleteCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var firstErr error
	pl.h.Parallelizer().Until(deleteCtx, len(c.victims), func(i int) {
		v := c.victims[i]
		if v.DeletionTimestamp != nil || deleteCtx.Err() != nil {
			return
		}
		if err := client.DeletePod(deleteCtx, v); err != nil && !apierrors.IsNotFound(err) {
			once.Do(func() {
				firstErr = fmt.Errorf("preemption: deleting victim %s/%s on node %s: %w", v.Namespace, v.Name, c.node, err)
				cancel()
			})
		}
	})
	if firstErr != nil {
		return framework.AsStatus(firstErr)
	}
	if err := ctx.Err(); err != nil {
		return framework.AsStatus(fmt.Errorf("preemption: %w", err))
	}
	pl.log.Debug("preempting", "pod", pod.Namespace+"/"+pod.Name, "node", c.node, "victims", len(c.victims))

	prio := framework.PodPriority(pod)
	for _, pi := range client.PodsNominatedTo(c.node) {
		if pi.Pod.UID == pod.UID || framework.PodPriority(pi.Pod) >= prio {
			continue
		}
		// Not critical: such a pod merely retries on this node first.
		if err := client.SetNominatedNodeName(ctx, pi.Pod, ""); err != nil {
			pl.log.Warn("could not clear the nomination of a lower-priority pod",
				"pod", pi.Pod.Namespace+"/"+pi.Pod.Name, "node", c.node, "err", err)
		}
	}
	return nil
}

// clearNomination takes away the pod's nomination when preemption cannot
// help it anywhere, so its former node is not held for it.
func (pl *DefaultPreemption) clearNomination(ctx context.Context, pod *corev1.Pod) {
	if pod.Status.NominatedNodeName == "" {
		return
	}
	if err := pl.h.Client().SetNominatedNodeName(ctx, pod, ""); err != nil {
		pl.log.Warn("could not clear the pod's nomination",
			"pod", pod.Namespace+"/"+pod.Name, "node", pod.Status.NominatedNodeName, "err", err)
	}
}
