// Package nodelifecycle is the node lifecycle controller, with the taint
// eviction controller that Kubernetes runs beside it.
//
// Node health. Every --node-monitor-period the controller looks at each
// node's Lease (kube-node-lease/<node>) and its Ready condition's
// heartbeat; a node heard from by neither for --node-monitor-grace-period
// (a minute for a node that never reported) gets its Ready, MemoryPressure,
// DiskPressure and PIDPressure conditions set to Unknown ("Kubelet stopped
// posting node status."), a NodeNotReady event, and its pods' Ready
// condition set to False. Times are the controller's own observations,
// so clocks on nodes do not matter.
//
// NoExecute taints. A node whose Ready condition is Unknown gets
// node.kubernetes.io/unreachable:NoExecute, one reporting False gets
// node.kubernetes.io/not-ready:NoExecute; both go once it is Ready again.
// Tainting is rate-limited per zone (topology.kubernetes.io/region and
// zone labels): --node-eviction-rate nodes per second, the secondary rate
// in a zone where at least --unhealthy-zone-threshold of the nodes (and
// more than two) are not ready (0 in zones of at most
// --large-cluster-size-threshold nodes), and none at all while every zone
// is fully disrupted: a control plane cut off from all nodes does not
// evict the world; it lifts the taints instead.
//
// NoSchedule taints mirror conditions (TaintNodesByCondition): not-ready,
// unreachable, memory-, disk- and pid-pressure, network-unavailable, and
// unschedulable for cordoned nodes.
//
// Taint eviction. A pod on a node with NoExecute taints it does not
// tolerate is deleted at once; one tolerating them for tolerationSeconds
// is deleted when the shortest of those runs out (counted from when the
// controller saw it tainted), unless the taints go first. Evicted pods
// get a DisruptionTarget condition and a TaintManagerEviction event.
package nodelifecycle
