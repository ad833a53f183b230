// Package multihost starts a two-host Gantry cluster for end-to-end tests
// of cross-node networking: one control plane (store, API server and
// gantry-controllers, optionally gantry-scheduler) in the root network
// namespace, and two "hosts", each a network namespace of its own running
// a private containerd and a gantry-agent.
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
// The API server listens on 127.0.0.1 of the root namespace, which a
// process in a host cannot reach. The harness listens on 127.0.0.1:<port>
// inside each host, on the API servers' ports, and relays connections to
// the root namespace's 127.0.0.1:<port> (from the test process), so the
// agents (and anything else run in a host, such as gantry-proxy) use the
// API server's own URL and certificate. The other way, the API server
// reaches the agents' streaming servers (kubectl logs, exec) and /healthz
// at the hosts' addresses over the link, as it would reach real nodes.
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
