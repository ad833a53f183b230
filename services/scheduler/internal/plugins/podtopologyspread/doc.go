// Package podtopologyspread is the PodTopologySpread plugin: it spreads
// pods over topology domains (nodes, zones, any node label) as their
// spec.topologySpreadConstraints ask, the way kube-scheduler does.
//
// A constraint counts, per domain (value of its topologyKey label), the
// pods in the incoming pod's namespace, not terminating, that its
// labelSelector (narrowed by matchLabelKeys) selects. Only the nodes that
// have every constraint's topology label count, and of those, with
// nodeAffinityPolicy Honor (the default), only the nodes that the
// incoming pod's nodeSelector and required node affinity accept, and with
// nodeTaintsPolicy Honor (Ignore is the default), only the nodes whose
// NoSchedule and NoExecute taints the pod tolerates.
//
//   - Filter enforces the DoNotSchedule constraints: placing the pod on a
//     node must not make its domain exceed the least crowded domain by
//     more than maxSkew (the least crowded counts as 0 while there are
//     fewer than minDomains domains). Rejections carry Kubernetes'
//     reasons, ErrReasonConstraintsNotMatch (Unschedulable) and
//     ErrReasonNodeLabelNotMatch (UnschedulableAndUnresolvable, the node
//     lacks a topology label). AddPod and RemovePod keep the counts right
//     for preemption.
//   - Score prefers, for the ScheduleAnyway constraints, the nodes in
//     less crowded domains: each constraint adds its domain's count
//     weighted by log(domains+2), plus maxSkew-1; NormalizeScore reverses
//     and scales the sums so that the least crowded node gets 100.
//
// Default constraints apply to a pod with no constraints of its own:
// Args.DefaultingType System (the default) spreads over hostname with
// maxSkew 3 and over zone with maxSkew 5, both ScheduleAnyway; List uses
// Args.DefaultConstraints. Kubernetes selects, for these, the pods that
// the Services, ReplicationControllers, ReplicaSets and StatefulSets
// selecting the incoming pod select; a plugin here has no listers for
// those, so a defaulted constraint selects the pods with the same
// controller (ownerReference with controller=true and the same UID) when
// that controller is a ReplicationController, ReplicaSet or StatefulSet,
// and the pod gets no default constraints otherwise (pods selected only
// by a Service are not spread by default).
package podtopologyspread
