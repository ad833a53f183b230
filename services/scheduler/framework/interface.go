package framework

import (
	"context"
	"encoding/json"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// MaxNodeScore is the highest score a Score plugin returns (after
// NormalizeScore, if it has one); MinNodeScore the lowest.
const (
	MaxNodeScore int64 = 100
	MinNodeScore int64 = 0
)

// Plugin is what every plugin is.
type Plugin interface {
	Name() string
}

// PreFilterResult narrows the nodes worth filtering: nil, or NodeNames
// nil, means all nodes.
type PreFilterResult struct {
	NodeNames map[string]bool
}

// PreFilterPlugin runs once per pod before filtering: it checks the pod
// itself and computes what its Filter needs into the CycleState. Skip
// means its Filter has nothing to check for this pod.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) (*PreFilterResult, *Status)
}

// PreFilterExtensions is implemented by a PreFilterPlugin whose state
// depends on the pods on nodes: preemption asks it to account for a pod
// added to or removed from nodeInfo in state (a clone), to see whether
// removing victims makes room.
type PreFilterExtensions interface {
	AddPod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToAdd *PodInfo, nodeInfo *NodeInfo) *Status
	RemovePod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToRemove *PodInfo, nodeInfo *NodeInfo) *Status
}

// FilterPlugin tells whether the pod fits a node; a rejection is
// Unschedulable or UnschedulableAndUnresolvable with the reason a user
// reads in the FailedScheduling event ("Insufficient cpu"). Filter runs
// concurrently for different nodes.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) *Status
}

// NodeToStatus maps node names to why they were rejected.
type NodeToStatus map[string]*Status

// PostFilterResult is what a PostFilter achieved: a nominated node for
// the pod, once victims are gone.
type PostFilterResult struct {
	NominatedNodeName string
}

// PostFilterPlugin runs when no node fits (preemption).
type PostFilterPlugin interface {
	Plugin
	PostFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, filtered NodeToStatus) (*PostFilterResult, *Status)
}

// PreScorePlugin runs once before scoring the feasible nodes; Skip means
// its Score has nothing to add for this pod.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) *Status
}

// NodeScore is one node's score.
type NodeScore struct {
	Name  string
	Score int64
}

// ScorePlugin ranks a feasible node. Scores are in [MinNodeScore,
// MaxNodeScore] unless the plugin normalises them (ScoreNormalizer).
// Score runs concurrently for different nodes.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) (int64, *Status)
}

// ScoreNormalizer is implemented by a ScorePlugin whose raw scores need
// rescaling into [MinNodeScore, MaxNodeScore] once all are known.
type ScoreNormalizer interface {
	NormalizeScore(ctx context.Context, state *CycleState, pod *corev1.Pod, scores []NodeScore) *Status
}

// ReservePlugin claims what the pod will use on the chosen node before
// binding; Unreserve undoes it when a later step fails (and must not fail).
type ReservePlugin interface {
	Plugin
	Reserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status
	Unreserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string)
}

// PermitPlugin approves, rejects or delays (Wait, with a timeout) the
// binding of a pod to its chosen node.
type PermitPlugin interface {
	Plugin
	Permit(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) (*Status, time.Duration)
}

// PreBindPlugin prepares the node before binding (e.g. volumes).
type PreBindPlugin interface {
	Plugin
	PreBind(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status
}

// BindPlugin binds the pod; Skip passes to the next binder.
type BindPlugin interface {
	Plugin
	Bind(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status
}

// PostBindPlugin is told of a successful binding.
type PostBindPlugin interface {
	Plugin
	PostBind(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string)
}

// NodeInfoLister gives access to the snapshot's nodes.
type NodeInfoLister interface {
	// List returns every node.
	List() []*NodeInfo
	// HavePodsWithAffinityList returns the nodes with pods that have
	// inter-pod affinity or anti-affinity terms.
	HavePodsWithAffinityList() []*NodeInfo
	// HavePodsWithRequiredAntiAffinityList returns the nodes with pods
	// that have required anti-affinity terms.
	HavePodsWithRequiredAntiAffinityList() []*NodeInfo
	// Get returns one node.
	Get(name string) (*NodeInfo, error)
}

// Handle is what the scheduler offers plugins when it builds them.
type Handle interface {
	// SnapshotSharedLister is the snapshot of the cycle under way; it
	// stays unchanged for the whole cycle.
	SnapshotSharedLister() NodeInfoLister
	// Client reaches the API server (preemption deletes victims, binders
	// bind).
	Client() Client
	// Parallelizer runs work over nodes in parallel.
	Parallelizer() Parallelizer
	// RunFilterPlugins runs every enabled Filter plugin (as a preemption
	// what-if on a modified nodeInfo and state).
	RunFilterPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) *Status
	// RunPreFilterExtensionAddPod / RemovePod update every
	// PreFilterExtensions' state for a pod added to / removed from
	// nodeInfo.
	RunPreFilterExtensionAddPod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToAdd *PodInfo, nodeInfo *NodeInfo) *Status
	RunPreFilterExtensionRemovePod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToRemove *PodInfo, nodeInfo *NodeInfo) *Status
	// PriorityClassValue resolves a PriorityClass's value (with a bool
	// false when unknown).
	PriorityClassValue(name string) (int32, bool)
	// Now is the scheduler's clock.
	Now() time.Time
}

// Client is the part of the API the plugins use.
type Client interface {
	// Bind binds pod to nodeName through the pods/binding subresource.
	Bind(ctx context.Context, pod *corev1.Pod, nodeName string) error
	// DeletePod deletes a pod gracefully (preemption's victims).
	DeletePod(ctx context.Context, pod *corev1.Pod) error
	// SetNominatedNodeName records status.nominatedNodeName ("" clears it).
	SetNominatedNodeName(ctx context.Context, pod *corev1.Pod, nodeName string) error
	// PodsNominatedTo lists pods nominated to nodeName and still pending.
	PodsNominatedTo(nodeName string) []*PodInfo
}

// Parallelizer runs a function over indices in parallel.
type Parallelizer interface {
	Until(ctx context.Context, pieces int, do func(i int))
}

// PluginFactory builds a plugin from its arguments (the raw JSON of the
// profile's pluginConfig args; nil when none are given).
type PluginFactory func(args json.RawMessage, h Handle) (Plugin, error)

// Registry maps plugin names to their factories.
type Registry map[string]PluginFactory

// Merge adds other's plugins to r; a name present in both is an error.
func (r Registry) Merge(other Registry) error {
	for name, f := range other {
		if _, ok := r[name]; ok {
			return &DuplicatePluginError{Name: name}
		}
		r[name] = f
	}
	return nil
}

// DuplicatePluginError is returned when a plugin name is registered twice.
type DuplicatePluginError struct{ Name string }

func (e *DuplicatePluginError) Error() string {
	return "plugin " + e.Name + " is registered already"
}

// ClusterEventResource is the kind of object an event is about.
type ClusterEventResource string

// Resources whose changes can make an unschedulable pod schedulable.
const (
	ResourcePod  ClusterEventResource = "Pod"
	ResourceNode ClusterEventResource = "Node"
)

// ActionType is what happened to the object.
type ActionType int

// Actions, combinable.
const (
	ActionAdd ActionType = 1 << iota
	ActionDelete
	// ActionUpdateNodeAllocatable ... are the kinds of node and pod updates
	// a plugin may care about.
	ActionUpdateNodeAllocatable
	ActionUpdateNodeLabel
	ActionUpdateNodeTaint
	ActionUpdateNodeCondition
	ActionUpdatePodLabel
	ActionUpdatePodRequest
	ActionUpdate = ActionUpdateNodeAllocatable | ActionUpdateNodeLabel | ActionUpdateNodeTaint |
		ActionUpdateNodeCondition | ActionUpdatePodLabel | ActionUpdatePodRequest
	ActionAll = ActionAdd | ActionDelete | ActionUpdate
)

// ClusterEvent is a change in the cluster.
type ClusterEvent struct {
	Resource ClusterEventResource
	Action   ActionType
	// Label is for logs and metrics ("NodeAdd", "AssignedPodDelete").
	Label string
}

// Match reports whether e is of the resource and one of the actions of
// interest.
func (interest ClusterEvent) Match(e ClusterEvent) bool {
	return interest.Resource == e.Resource && interest.Action&e.Action != 0
}

// EnqueueExtensions is implemented by a Filter (or PreFilter, Permit)
// plugin to say which cluster events may make a pod it rejected
// schedulable; the scheduler then retries such pods on those events
// rather than on a timer alone. A rejecting plugin without it is retried
// on every event.
type EnqueueExtensions interface {
	EventsToRegister() []ClusterEvent
}
