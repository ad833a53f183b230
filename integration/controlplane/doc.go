// Package controlplane starts a Gantry control plane of real processes
// for tests and benchmarks: a gantry-store cluster and one or more
// gantry-apiserver processes on free loopback ports, with a fresh cluster
// CA, serving certificates, an admin token and client certificate, and an
// admin kubeconfig that unmodified kubectl and client-go use.
package controlplane
