// Package nodeipam is the node IPAM controller (Kubernetes' range
// allocator): it gives every node a pod range, spec.podCIDR and
// spec.podCIDRs, carved from --cluster-cidr in blocks of
// --node-cidr-mask-size (a /24 per node out of 10.244.0.0/16 by
// default; a comma-separated IPv4,IPv6 pair gives dual-stack nodes one
// range of each family, /64 for IPv6).
//
// The allocation state is the nodes themselves: at start the controller
// marks every range a node already has as used, so a restart never hands
// one out twice. A node that has a range keeps it (podCIDR is immutable);
// a deleted node's range is released for the next node. When the range
// is exhausted, the node gets a CIDRNotAvailable event and waits until a
// range is released. An empty --cluster-cidr (--allocate-node-cidrs=false)
// turns the controller off.
package nodeipam
