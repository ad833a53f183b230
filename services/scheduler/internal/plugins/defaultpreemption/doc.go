// Package defaultpreemption is the DefaultPreemption PostFilter plugin:
// Kubernetes' priority-based preemption. When no node fits a pod, it looks
// for a node where deleting pods of lower priority would make room,
// deletes those victims gracefully and nominates the node for the pod.
//
// The steps, as in kube-scheduler:
//
//  1. Eligibility: a pod with preemptionPolicy Never never preempts; a pod
//     already nominated to a node where a lower-priority pod is still
//     terminating waits for it rather than preempting again (unless the
//     filters now find that node UnschedulableAndUnresolvable).
//  2. Candidates: only nodes whose filter status is Unschedulable;
//     UnschedulableAndUnresolvable ones cannot be helped by removing pods.
//     A shortlist is dry-run in parallel from a random offset, stopping
//     once max(minCandidateNodesPercentage% of them,
//     minCandidateNodesAbsolute) candidates are found.
//  3. Victims, per node, on clones of its NodeInfo and of the CycleState:
//     remove every pod of lower priority, check the pod then fits
//     (counting pods nominated to the node with an equal or higher
//     priority), then put the removed pods back one by one from the most
//     important down, keeping each that still lets the pod fit. What could
//     not be put back are the victims.
//  4. The best candidate: the lowest highest-victim priority, then the
//     smallest sum of victim priorities, then the fewest victims, then the
//     latest start among the highest-priority victims, then the first.
//     (There are no PodDisruptionBudgets in Gantry, so Kubernetes' first
//     criterion, fewest PDB violations, is always a tie.)
//  5. The victims are deleted through Handle.Client, lower-priority pods
//     nominated to the node lose their nomination, and PostFilter returns
//     the node as PostFilterResult.NominatedNodeName.
//
// When preemption cannot help, PostFilter returns Unschedulable with one
// reason per node and per node failure (like the reasons of a Filter
// FitError), for the scheduler to count into a message such as
// "0/3 nodes are available: 1 No preemption victims found for incoming
// pod, 2 Preemption is not helpful for scheduling.". When the pod is not
// eligible, the single reason is about the pod ("not eligible due to
// preemptionPolicy=Never").
//
// A pod's priority is pod.Spec.Priority (0 when unset), as in the
// scheduling queue; resolving priorityClassName is admission's job.
package defaultpreemption
