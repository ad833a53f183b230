// Package interpodaffinity is the InterPodAffinity plugin: it places a
// pod next to, or away from, pods already running, as its
// spec.affinity.podAffinity and podAntiAffinity ask, and keeps the
// promises of the pods already running (their required anti-affinity
// towards the incoming pod), the way kube-scheduler does.
//
// Extension points:
//
//   - PreFilter counts, per topology pair (a node label key and value),
//     the existing pods whose required anti-affinity terms match the
//     incoming pod, and the existing pods matching the incoming pod's
//     required affinity and anti-affinity terms. AddPod and RemovePod
//     keep these counts right when preemption adds or removes pods.
//   - Filter rejects a node with one of Kubernetes' reasons:
//     ErrReasonAffinityRulesNotMatch (UnschedulableAndUnresolvable:
//     removing pods cannot create a pod to be near),
//     ErrReasonAntiAffinityRulesNotMatch and
//     ErrReasonExistingAntiAffinityRulesNotMatch (Unschedulable:
//     preempting the offending pods may help).
//   - PreScore and Score add up the weights of the preferred terms of the
//     incoming pod and, symmetrically, of the existing pods (their
//     required affinity terms count with Args.HardPodAffinityWeight);
//     NormalizeScore scales the sums linearly onto 0..100.
//
// A node without a term's topology label is never in that term's
// topology: it cannot satisfy a required affinity term, and it does not
// count for the other terms.
//
// Namespaces: a term selects pods in the namespaces it lists, in the
// owning pod's namespace when it lists none and has no
// namespaceSelector, and in every namespace when its namespaceSelector
// is empty ({}). A non-empty namespaceSelector needs namespace labels,
// which framework.Handle does not offer: when the Handle also implements
// NamespaceListerProvider, selectors are evaluated as Kubernetes does;
// otherwise a non-empty namespaceSelector matches no namespace (only the
// namespaces listed in the term count).
package interpodaffinity
