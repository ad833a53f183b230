// Package nftables is gantry-proxy's nftables mode (--proxy-mode=nftables),
// after kube-proxy's (KEP-3866): the same Service semantics as the
// iptables mode (package iptables), in one nftables table of its own.
//
// # The table
//
// Family ip, named after the chain prefix: "kube-proxy" for the default
// prefix KUBE ("<prefix>-proxy" lower-cased otherwise, so tests never
// touch a real proxy's table). Nothing outside it is changed, and
// deleting it (--cleanup) removes every trace.
//
// Base chains (kube-proxy's names and priorities):
//
//	filter-input             filter input    dstnat-10  new connections: nodeport-endpoints-check, service-endpoints-check
//	filter-forward           filter forward  dstnat-10  new: service-endpoints-check, cluster-ips-check; accept marked and established traffic
//	filter-output            filter output   dstnat-10  new: service-endpoints-check
//	filter-output-post-dnat  filter output   dstnat+10  new: cluster-ips-check
//	nat-prerouting           nat prerouting  dstnat     jump services
//	nat-output               nat output      dstnat     jump services
//	nat-postrouting          nat postrouting srcnat     jump masquerading
//
// Dispatch is by verdict maps, one lookup whatever the number of
// Services:
//
//	services                  ip daddr . meta l4proto . th dport vmap @service-ips
//	                          fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports
//	service-endpoints-check   ip daddr . meta l4proto . th dport vmap @no-endpoint-services
//	nodeport-endpoints-check  ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports
//	cluster-ips-check         ip daddr @cluster-ips reject   (a ClusterIP on a port no Service has)
//
// service-ips maps ClusterIP, external IP and load balancer IP . protocol
// . port to "goto service-…" (or "goto external-…"); service-nodeports
// maps protocol . NodePort to "goto external-…"; the no-endpoint maps
// send Services without endpoints to "goto reject-chain" (REJECT: the
// client gets "connection refused" at once) or, when endpoints exist
// but none this traffic may use (a Local policy and none on this node),
// to "drop". With --nodeport-addresses the NodePort rules also match ip
// daddr @nodeport-ips (an interval set of those ranges).
//
// Per Service port, named "HASH-namespace/name/protocol/port" behind the
// kind, as kube-proxy's:
//
//	service-…    traffic that may use any endpoint: masquerade mark for
//	             traffic from outside --cluster-cidr, then one DNAT to an
//	             endpoint picked at random:
//	             dnat ip to numgen random mod 1048576 map @endpoints-…
//	endpoints-…  (a map) the random number to an endpoint's address and
//	             port: each of N endpoints owns a run of about 2^20/N
//	             numbers (flags interval)
//	local-…      the same over this node's endpoints (a Local policy),
//	             through local-endpoints-…
//	external-…   NodePort, external and load balancer IPs: masquerade
//	             mark then service-…; with externalTrafficPolicy Local the
//	             client address is kept and traffic goes to local-…,
//	             except from pods and from the node itself, which may use
//	             any endpoint
//
// An endpoint change therefore changes elements only, never a rule (see
// Syncing). kube-proxy's nftables mode has a chain per endpoint instead;
// with 10 endpoints per Service that is 110,000 chains at 10,000
// Services, and the kernel validates every chain reachable from the
// base chains at each commit that adds a jump or a DNAT (0.2 s at that
// size on this project's test machine, against 0.02 s for the layout
// here), and nft dumps them all into its cache before each run.
//
// With ClientIP session affinity the service and local chains are
// kube-proxy's: one chain per endpoint, endpoint-… ("HASH-…__ip/port"),
// and one set per endpoint, affinity-…, of client addresses with the
// Service's timeout (flags dynamic,timeout). The endpoint chain does
// "update @affinity-… { ip saddr }" and DNATs; the service chain first
// sends a client found in an endpoint's set to that endpoint ("ip saddr
// @affinity-… goto endpoint-…"), then picks one with "numgen random mod
// N vmap { 0 : goto endpoint-…, … }". Like iptables' recent module, an
// entry lives for the timeout after the client's last new connection.
//
// Masquerading is by mark: mark-for-masquerade sets the
// --iptables-masquerade-bit bit, masquerading (postrouting) clears it and
// masquerades (fully-random). Hairpin traffic — an endpoint that reached
// itself through a Service — is found there after the DNAT: the set
// hairpin-endpoints holds "ip . ip" for each endpoint on this node (its
// EndpointSlice nodeName is this node's), and masquerading marks "ct
// status dnat ip saddr . ip daddr @hairpin-endpoints".
//
// NodePorts never answer on 127.0.0.0/8, even when --nodeport-addresses
// includes it: as in kube-proxy's nftables mode there is no
// route_localnet here (that sysctl lets other hosts reach the node's
// localhost through DNAT).
//
// The filter-forward accepts mirror the iptables mode's KUBE-FORWARD, but
// an nftables accept only ends the chain it is in: a drop by another
// table at the forward hook still applies.
//
// # Syncing
//
// A sync is one transaction: all of it applies or none does. It is an
// "nft -f" run, or, when the sync changes elements only (endpoint maps'
// contents, elements of the shared maps and sets), one nf_tables netlink
// batch sent by NetlinkWriter: nft reads every chain of the table into
// its cache before it runs anything, about 0.1 s at 10,000 Services,
// while the batch takes milliseconds.
//
// A full sync (the first, one after a failure, and one an hour)
// re-creates the fixed chains and their rules, empties and refills the
// shared maps and sets, writes every Service's chains, affinity sets and
// endpoint maps, and empties chains of ours that nothing wants; the first
// sync and one after a failure list the table for those (an earlier
// run's), the others know what they made. Between full syncs a sync
// holds only the changes: the chains of changed Services whose rules
// differ (added, emptied and refilled), their new affinity sets, their
// endpoint maps whose contents differ (emptied and refilled), the shared
// maps' and sets' elements added, changed (deleted and added again: nft
// refuses an existing key with a new value) and removed, and the chains,
// sets and maps no longer wanted. An emptied chain is deleted by a later
// sync, a second on (kernels before 6.2 notice only a moment later that
// a deleted map element no longer references a chain); affinity sets and
// endpoint maps go at once.
package nftables
