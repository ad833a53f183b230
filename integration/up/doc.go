// Package up is the newcomer's path, end to end: what someone who has
// just cloned the repository does with the gantry command on one host.
//
// The test builds the gantry binaries (or takes them from
// $GANTRY_BIN_DIR), runs `gantry up` with a state directory of its own
// (so neither /var/lib/gantry nor /etc/gantry/admin.kubeconfig is used)
// and checks that a second `gantry up` changes nothing. It runs the
// README's kubectl example as written (each command retried for a while,
// as a person would; both curls must reach the web Deployment's pages)
// and removes what it made. With kubectl and the admin kubeconfig it then
// runs a web application behind a Service
// and an Ingress, reaches it through gantry-ingress on 127.0.0.1:80,
// scales it, rolls out a new version and rolls it back, and checks
// `gantry status`. Last, `gantry down --purge` must leave nothing behind:
// no process the cluster started (daemons, containerd shims, containers,
// log writers), no Service or pod rules in iptables or nftables, no
// gantry0 / gantry-dns / gantry-svc device, no mount that involves the
// state directory, and no state directory.
//
// The cluster takes fixed host resources (ports 80, 443, 2379, 6443 and
// others, the containerd socket under /run/gantry, the host's iptables),
// so the test needs root and refuses to start, with a message saying
// what is in the way, if a Gantry cluster or anything else holds them. It
// never stops a cluster it did not start. If it fails, it prints the
// tail of each daemon's log and still runs `gantry down --purge`.
package up
