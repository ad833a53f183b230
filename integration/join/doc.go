// Package join tests the multi-host install commands end to end:
// `gantry init` on a first control-plane host, `gantry join
// --control-plane` on a second and `gantry join` on a worker, each a
// simulated host (a network namespace on a link of its own) running the
// gantry command and every daemon it starts, with its own state
// directory, containerd and cgroup parent (--shared-machine).
//
// It checks what a user of kubeadm would expect: the join commands gantry
// init prints work as printed; the second control-plane host becomes a
// store voter and an API server of the cluster (listed in the kubernetes
// Endpoints, serving kubectl with its own admin kubeconfig); the worker
// got its client and serving certificates through
// CertificateSigningRequests, knows both API servers, and its pods run,
// log and exec through the API server; every node is Ready with a pod
// range from the node IPAM controller; a second gantry join changes
// nothing; gantry down --purge on every host leaves no process, cgroup or
// state directory.
package join
