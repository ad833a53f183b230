// Package network wires pods into the node's network through CNI
// (libcni and the standard containernetworking plugins), and prepares
// the node for it.
//
// # Node
//
// SetupNode prepares the host once per agent start and is idempotent:
//
//   - writes <ConfDir>/10-gantry.conflist (cniVersion 1.0.0): bridge
//     (isGateway, hairpinMode, ipMasq false) with host-local IPAM on the
//     node's pod CIDR, portmap (capability portMappings) and loopback;
//   - enables br_netfilter with net.bridge.bridge-nf-call-iptables=1 (so
//     traffic between pods on the same bridge passes the Service DNAT
//     rules) and net.ipv4.ip_forward=1;
//   - installs an "unreachable" route for the whole cluster CIDR (the
//     connected route of the bridge, and host-gw routes to other nodes,
//     are more specific and win), so a packet for an unused pod address
//     dies on the node instead of following the default route;
//   - creates a dummy device and routes the service CIDR to it, so a
//     packet for a ClusterIP that no DNAT rule maps is dropped on the node,
//     and locally originated connections to ClusterIPs have a route (the
//     OUTPUT DNAT happens after the first route lookup). Kernels built
//     without the dummy driver get an ifb device, which drops in the same
//     way;
//   - installs two iptables chains: nat GANTRY-POSTROUTING masquerades
//     traffic from the pod CIDR to destinations outside the cluster CIDR,
//     and filter GANTRY-FORWARD accepts forwarding from and to the cluster
//     CIDR (hosts where Docker set the FORWARD policy to DROP would drop
//     bridged pod traffic otherwise).
//
// The bridge's own ipMasq is off on purpose: it masquerades everything
// that leaves the pod subnet, including traffic to pods on other nodes,
// which would hide pod IPs from each other. Masquerading for Service
// hairpin traffic (a pod reaching itself through a ClusterIP) is the
// proxy's job: it marks such packets; the bridge's hairpin mode lets the
// DNATed frame leave through the port it came in on.
//
// Traffic between pods of different nodes is neither masqueraded (the
// nat rule spares destinations inside the cluster CIDR) nor dropped (the
// filter rules accept it in both directions), so pods see each other's
// addresses across nodes.
//
// # Routes to other nodes (host-gw)
//
// PlanRoutes decides, from the Nodes, one route per other node: its pod
// CIDR via its InternalIP ("10.244.1.0/24 via 192.168.1.12"), so that
// the node forwards pod traffic straight to the node that hosts the
// address, which delivers it on its bridge. This needs the nodes on one
// link (one L2 network), as flannel's host-gw backend does. Refused, with
// the reason: a pod CIDR outside the cluster CIDR (a Node must not be able
// to take over other destinations), overlapping this node's or an older
// node's, not IPv4, or a node IP that is loopback or inside the cluster
// CIDR. A node without a pod CIDR or an address yet is pending.
//
// SyncRoutes installs the plan: routes in the main table tagged with
// protocol RouteProtocol (158: "ip route show proto 158" lists them), which
// is how the agent finds exactly its own, including those a previous run
// left for nodes that no longer exist. A route is only installed when the
// node IP is on a directly connected network (the kernel's route to it
// has no gateway), is not this node's own address, and no route for the
// same pod CIDR exists that the agent did not make. The routes are more
// specific than the cluster CIDR's unreachable route, so they win; pod
// CIDRs of no node still hit the unreachable route.
//
// CleanupNode undoes all of it: it runs CNI DEL for every pod still in
// the CNI cache, then removes the chains, the host-gw routes, the other
// routes, dummy device, bridge, conflist and IPAM state. It leaves the sysctls as they are, since
// other software on the host may rely on them.
//
// # Pods
//
// Setup runs CNI ADD for a pod's network namespace, keyed by the pod UID
// (the CNI container ID) and interface eth0. It is idempotent: when the
// CNI cache already holds a result for the pod in the same namespace and
// CNI CHECK passes, that result is returned (this is how a restarted
// agent re-adopts running pods); otherwise the stale attachment is
// deleted first. Teardown runs CNI DEL with the cached configuration and
// port mappings, so it works after the namespace is gone and after the
// conflist changed. Status returns the cached result after a CNI CHECK.
// CHECK leaves portmap out: the 1.1 plugin checks ip6tables even for IPv4
// pods and fails every pod with a host port.
//
// Host ports are reserved in an in-memory registry before ADD, so a second
// pod asking for the same port, protocol and host IP (0.0.0.0 or an empty
// host IP overlaps every address) gets ErrHostPortConflict instead of
// silently stealing the first pod's traffic. New rebuilds the registry
// from the CNI cache.
//
// Only IPv4 is supported.
package network
