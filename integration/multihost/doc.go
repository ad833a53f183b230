// Package multihost starts a Gantry cluster on simulated hosts for
// end-to-end tests: worker "hosts" (two by default), each a network
// namespace of its own running a private containerd and a gantry-agent
// (and, on request, gantry-proxy), and a control plane that runs either
// in the root network namespace (store, API server and
// gantry-controllers, optionally gantry-scheduler: the default) or on
// control plane hosts of its own (Options.ControlPlaneHosts, see below).
//
// # Topology
//
//	          root namespace (the test, store, API server, controllers)
//	          gmh<id>: 10.123.X.254/24
//	                 |
//	+----------------+-----------------+   namespace gmh-<id>-lan:
//	|            bridge br0            |   the hosts' shared link (L2)
//	+-------+------------------+-------+
//	        |                  |
//	   eth0 10.123.X.1/24  eth0 10.123.X.2/24
//	   namespace gmh-<id>-a namespace gmh-<id>-b
//	   node gmh-<id>-a      node gmh-<id>-b
//	   containerd + agent   containerd + agent
//	   gantry0: pod CIDR    gantry0: pod CIDR
//
// X is picked at random among the /24s of 10.123.0.0/16 that the root
// namespace does not use, so harnesses of tests running at once do not
// collide. The hosts have no default route: nothing they send leaves the
// test's link, and the root namespace routes nothing for them.
//
// Without control plane hosts, the API server listens on 127.0.0.1 of
// the root namespace, which a process in a host cannot reach. The
// harness listens on 127.0.0.1:<port> inside each host, on the API
// servers' ports, and relays connections to
// the root namespace's 127.0.0.1:<port> (from the test process), so the
// agents (and anything else run in a host, such as gantry-proxy) use the
// API server's own URL and certificate. The other way, the API server
// reaches the agents' streaming servers (kubectl logs, exec) and /healthz
// at the hosts' addresses over the link, as it would reach real nodes.
//
// # Control plane hosts
//
// With Options.ControlPlaneHosts = n, hosts gmh-<id>-cp1..n join the
// link at .101, .102, ...; each runs a gantry-store member (client 2379,
// peer 2380, metrics 2381), a gantry-apiserver (6443, listing its own
// member first), gantry-controllers (10257) and gantry-scheduler
// (10259), both electing their leader through a Lease with the
// identity of their host; like their systemd units, they are started
// again when they exit on their own (as on losing their Lease). Nothing
// is relayed then: agents and proxies
// list every API server's address on the link and fail over between
// them, and the test reaches them from the root namespace's address on
// the link. Cluster.Partition takes a host's port on the bridge down
// (its eth0 keeps its address and routes but loses the carrier) and
// Cluster.Heal brings it back; Daemon, ControlHost.Store and
// ControlHost.APIServer can be stopped, killed, paused (SIGSTOP) and
// started again on their data.
//
// Processes run in a host with nsenter --net: they share the root
// namespace's mounts (the agent's pod namespace files must be visible to
// containerd's shims and runc) and differ only in their network. Each
// host's containerd has its own socket, directories, containerd namespace
// and runc root; hostNetwork pods get the host's network, since the shims
// live there too.
//
// Node IPAM (gantry-controllers --cluster-cidr 10.250.0.0/16) gives the
// nodes their pod CIDRs: the agents start without --pod-cidr and wait for
// spec.podCIDR. Services use 10.251.0.0/16.
//
// When the test ends, failed or not, everything goes: agents, the pods'
// containers, shims and containerd, mounts, the namespaces (and with
// them the hosts' bridges, routes and iptables rules), the root
// namespace's veth and the directories.
//
// It needs root, containerd, runc, the CNI plugins, iptables, ip and
// nsenter (util-linux).
package multihost
