// Package e2e is the end-to-end proof that a highly available Gantry
// cluster survives what production throws at it. TestHA builds the
// binaries and runs a real cluster of separate processes on simulated
// hosts (see package multihost): three control plane hosts, each a
// network namespace with a gantry-store member, a gantry-apiserver,
// gantry-controllers and gantry-scheduler (leaders elected through
// Leases), and two workers, each with its own containerd, gantry-agent
// and gantry-proxy. It then injects faults, one scenario after another
// on the same cluster, each asserted:
//
//   - zero-downtime rollout: a client sends requests through the Service
//     VIP without pause during a rolling update with readiness probes and
//     preStop hooks, and not one fails;
//   - agent restart under load: both agents are restarted (one killed
//     with SIGKILL) while the client keeps sending; no container is
//     restarted, every pod keeps its container IDs and stays Ready, and
//     no request fails;
//   - control plane loss: the store leader, the active scheduler, the
//     active controller manager and one API server are killed in turn
//     (SIGKILL), and a hung store member is stopped with SIGSTOP; during
//     each loss the cluster accepts changes and a Deployment scaled
//     meanwhile converges;
//   - partitioned store minority: a control plane host is cut off the
//     link; writes through its store member and its API server fail
//     cleanly within their timeouts, the majority keeps working, and
//     after healing the member catches up;
//   - worker loss: a worker's agent is killed and the worker partitioned;
//     within the node monitor grace period plus the pods' toleration its
//     pods are replaced on the other worker and the Service answers
//     throughout from the survivors; after healing the worker is Ready
//     again and the old pods are gone;
//   - full restart from disk: every Gantry process is stopped and started
//     again (containerd and the containers keep running, as when the
//     daemons are restarted by their service manager); every object
//     comes back with its UID and content, no container restarted.
//
// Every write a scenario had acknowledged (a ConfigMap per step) is
// checked at the end of every scenario and after the full restart: none
// is lost.
//
// The newcomer's path (`gantry up` on one host) is tested by package up.
//
// It needs root, containerd, runc, the CNI plugins, iptables, ip,
// nsenter, curl, conntrack and etcdctl (Debian package etcd-client).
package e2e
