// Package podfiles writes the files the agent bind-mounts into every
// container of a pod, as kubelet and the CRI runtime make them:
//
//   - <podDir>/etc-hosts, the container's /etc/hosts: localhost entries,
//     the pod's IPs with its hostname (and FQDN when spec.subdomain is
//     set), then spec.hostAliases. hostNetwork pods get a copy of the
//     node's hosts file instead, plus their aliases.
//   - <podDir>/resolv.conf, the container's /etc/resolv.conf, following
//     spec.dnsPolicy (ClusterFirst, ClusterFirstWithHostNet, Default,
//     None) and merging spec.dnsConfig, within the resolver's limits.
//
// The pure functions (EtcHosts, PodDNS, HostnameAndDomain) compute the
// content; the Write functions put it on disk, rewriting a file in place
// so that containers that already mount it see the new content.
package podfiles
