// Package integration holds end-to-end tests that run the Gantry store as
// real processes and drive it with unmodified etcd clients: Debian's etcdctl
// and go.etcd.io/etcd/client/v3.
//
// The tests run against gantry-store by default; GANTRY_STORE_FLAVOR=etcd
// runs the same tests against etcd, which is how the tests themselves are
// validated. See package cluster for how binaries are found or built.
package integration
