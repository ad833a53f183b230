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
//	service-…   traffic that may use any endpoint: masquerade mark for
//	            traffic from outside --cluster-cidr, ClientIP affinity,
//	            then numgen random mod N vmap { 0 : goto endpoint-…, … }
//	local-…     the same over this node's endpoints (a Local policy)
//	external-…  NodePort, external and load balancer IPs: masquerade mark
//	            then service-…; with externalTrafficPolicy Local the
//	            client address is kept and traffic goes to local-…, except
//	            from pods and from the node itself, which may use any
//	            endpoint
//	endpoint-…  "HASH-…__ip/port": masquerade mark when the endpoint is
//	            the client (hairpin), affinity update, DNAT
//
// Masquerading is by mark: mark-for-masquerade sets the
// --iptables-masquerade-bit bit, masquerading (postrouting) clears it and
// masquerades (fully-random).
//
// ClientIP session affinity uses one set per endpoint, affinity-…, of
// client addresses with the Service's timeout (flags dynamic,timeout):
// the endpoint chain does "update @affinity-… { ip saddr }", and the
// service chain first sends a client found in an endpoint's set to that
// endpoint ("ip saddr @affinity-… goto endpoint-…"), as kube-proxy does.
// Like iptables' recent module, an entry lives for the timeout after the
// client's last new connection.
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
// A sync is one "nft -f" transaction: all of it applies or none does.
// A full sync (the first, one after a failure, and one every
// --iptables-sync-period) re-creates the fixed chains and their rules,
// empties and refills the maps, writes every Service's chains and
// affinity sets, and empties chains of ours that nothing wants; the
// first sync and one after a failure list the table for those (an
// earlier run's), the others know what they made. Between full syncs a sync holds only the changes: the
// chains of changed Services whose rules differ (added, emptied and
// refilled), their new affinity sets, the map and set elements added,
// changed (deleted and added again: nft refuses an existing key with a
// new value) and removed, and the chains and sets no longer wanted. An
// emptied chain is deleted by a later sync, a second on (kernels before
// 6.2 notice only a moment later that a deleted map element no longer
// references a chain); affinity sets go at once.
package nftables
