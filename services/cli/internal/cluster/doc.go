// Package cluster starts, stops and inspects a whole Gantry cluster on
// this host: gantry-store, gantry-apiserver, gantry-scheduler,
// gantry-controllers, containerd (unless the system's answers),
// gantry-agent, gantry-proxy and gantry-ingress, each a background
// process with a pid file and a log in the state directory (see package
// layout). The files, ports and flags are those `make up` has always
// used, so a cluster started by an older `make up` is managed here and
// the other way round.
//
// Up is idempotent: daemons already running are reused. Down stops them
// in reverse order and removes the host networking the proxy and the
// agent leave behind. Status reports each daemon's process and health.
package cluster
