// Package netns runs code inside named network namespaces (those of
// `ip netns add`, under /run/netns) and relays TCP connections from a
// listener inside such a namespace to the same address in the root
// namespace, so that a process in the namespace reaches a server that
// listens on the root namespace's loopback (the API server of a test
// control plane) under its own URL and certificate.
package netns
