// Package dns is gantry-proxy's cluster DNS server: the part of CoreDNS's
// kubernetes and forward plugins a cluster needs, answered from the
// proxy's Service and EndpointSlice informers.
//
// # Names
//
// Under the cluster domain (Config.Domain, "cluster.local") the server is
// authoritative and answers, as CoreDNS does:
//
//   - <svc>.<ns>.svc.<domain>: A/AAAA of the ClusterIPs; for a headless
//     Service the addresses of its ready endpoints (every endpoint when
//     publishNotReadyAddresses is set); a CNAME to spec.externalName for
//     an ExternalName Service, followed to its addresses (in the zone
//     locally, outside it through the upstreams).
//   - <host>.<svc>.<ns>.svc.<domain>, headless Services only: the endpoint
//     whose hostname is <host> (StatefulSet pods), or, for endpoints
//     without a hostname, whose address written with dashes is <host>
//     (10-244-1-5).
//   - _<port>._<proto>.<svc>.<ns>.svc.<domain>: SRV for a named port,
//     pointing at the Service name (one record per port) or, for a
//     headless Service, at each endpoint's name, with their addresses in
//     the additional section. An SRV query of <svc>.<ns>.svc.<domain>
//     lists every named port.
//   - <a-b-c-d>.<ns>.pod.<domain>: the address in the name (CoreDNS's
//     "pods insecure" mode, the default of kubeadm's Corefile).
//   - <domain>: SOA and NS (ns.dns.<domain>, whose A records are the
//     server's own listen addresses).
//   - PTR of a ClusterIP (<svc>.<ns>.svc.<domain>) and of a headless
//     Service's endpoint (<host>.<svc>.<ns>.svc.<domain>); other reverse
//     names are forwarded.
//
// A name that exists without records of the asked type (a namespace that
// has Services, <ns>.pod, svc, a Service asked for AAAA) gets NODATA:
// NOERROR, an empty answer and the zone's SOA in the authority section; a
// name that does not exist gets NXDOMAIN with the SOA, so stub resolvers
// walking the search list "<ns>.svc.<domain> svc.<domain> <domain>" move
// on and cache the negative answer for the SOA's minimum TTL. Until the
// informers have synced, names in the zone get SERVFAIL rather than a
// negative answer that resolvers would cache.
//
// Every other name is forwarded to the upstream resolvers (by default the
// nameservers of the node's /etc/resolv.conf, minus the server's own
// addresses so that a node whose resolv.conf points at the cluster DNS
// does not loop): over the client's transport, UDP answers with TC set are
// retried over TCP, each upstream gets a bounded time before the next is
// tried, and when none answers the client gets SERVFAIL.
//
// UDP answers larger than the client's buffer (512 bytes, or its EDNS0
// size) are truncated with TC set, so the client retries over TCP, which
// the server also listens on.
//
// # How pods reach it
//
// The API server creates the kube-system/kube-dns Service whose ClusterIP
// (the tenth address of the service range, 10.96.0.10) the agent writes
// into ClusterFirst pods' resolv.conf. Like NodeLocal DNSCache, the proxy
// on every node serves that address itself: with Config.Device set, Run
// puts the listen addresses (other than loopback and unspecified ones) on
// a local dummy device of that name (an ifb device where the kernel has no
// dummy driver), which gives the kernel a local route to them; packets
// from the node's pods to 10.96.0.10 are then delivered to this server
// instead of following the service CIDR's route to the agent's gantry-svc
// sink, and the server replies from that address. Nothing leaves the node,
// and each node answers from its own caches. The proxy's packet filter
// must leave the VIP alone: no DNAT and no REJECT of kube-dns's ClusterIP.
// The device and its addresses stay when the server stops (queries then
// get a quick ICMP port-unreachable rather than a timeout) and are
// removed by RemoveDevice, which gantry-proxy --cleanup calls.
//
// # Metrics
//
// The server exports CoreDNS's metric names, so existing dashboards and
// alerts work: coredns_dns_requests_total{server,zone,proto,family,type},
// coredns_dns_responses_total{server,zone,rcode,plugin},
// coredns_dns_request_duration_seconds{server,zone,type},
// coredns_forward_requests_total{to},
// coredns_forward_responses_total{to,rcode} and
// coredns_forward_request_duration_seconds{to,rcode}. zone is the cluster
// domain ("cluster.local.") for names answered locally and "." for
// forwarded ones; plugin is "kubernetes" or "forward".
package dns
