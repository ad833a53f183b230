// Package join tests the multi-host install commands end to end:
// `gantry init` on a first control-plane host, `gantry join
// --control-plane` on a second and `gantry join` on a worker, each a
// simulated host (a network namespace on a link of its own) running the
// gantry command and every daemon it starts, with its own state
// directory, containerd and cgroup parent (--shared-machine).
//
// It checks what a user of kubeadm would expect: the join commands gantry
// init prints work as printed, and so does the control-plane one `gantry
// token create --print-join-command --control-plane` prints on a joined
// host (a third control-plane host joins with it); the joined hosts
// become store voters and API servers of the cluster (listed in the
// kubernetes Endpoints, serving kubectl with their own admin kubeconfig);
// the worker got its client and serving certificates through
// CertificateSigningRequests, knows every API server, and its pods run,
// log and exec through the API server; every node is Ready with a pod
// range from the node IPAM controller; a second gantry join changes
// nothing and gantry status on the worker is healthy; the first host's
// agent learns the API servers that joined after it from the kubernetes
// Endpoints; with the first API server killed the worker's agent and the
// first host's keep renewing their Leases through another, and gantry
// init again brings that API server back; gantry down --purge on a
// control-plane host removes its store member and its API server's
// address, and the cluster goes on writing; gantry down --purge on every host leaves no process, cgroup or
// state directory.
package join
