// Package node keeps this agent's Node object, as kubelet's node status
// manager and node lease controller do:
//
//   - Registration: Run creates the Node (labels kubernetes.io/hostname,
//     os and arch plus the configured ones, taints, status), or adopts an
//     existing Node of the same name: it then fixes the default labels
//     only, as kubelet does, and leaves taints and other labels alone. A
//     Node deleted while the agent runs is registered again.
//   - Heartbeat: a coordination.k8s.io/v1 Lease kube-node-lease/<node>,
//     held by the node's name for 40s, owned by the Node (so it goes when
//     the Node goes), renewed every HeartbeatInterval (10s).
//   - Status: every StatusUpdateFrequency (10s) the node computes its
//     status (capacity and allocatable, conditions, addresses, daemon
//     endpoints, system info, images) and writes it only when it differs
//     from the Node's, heartbeat times aside, or when StatusReportFrequency
//     (5m) has passed since the last write.
//
// Allocatable is capacity minus Reserved and minus the hard eviction
// thresholds (memory.available 100Mi, nodefs.available 10%), as kubelet
// computes it. Conditions carry kubelet's reasons and messages: Ready
// (KubeletReady, or KubeletNotReady with what is wrong),
// MemoryPressure, DiskPressure and PIDPressure from the machine measured
// against the thresholds, and NetworkUnavailable (RouteCreated /
// NoRouteCreated) from Config.NetworkReady.
//
// The node talks to the API server through the small API interface
// (ClientAPI adapts libs/client). Failed calls are retried with back-off;
// the agent keeps working while the API server is away, and PodCIDR and
// Node answer from what was last seen.
//
// The machine is read through Machine: HostMachine measures Linux
// (/proc/meminfo, statfs of the state directory, pid_max against
// /proc/loadavg); StaticMachine serves simulated nodes and tests.
package node
