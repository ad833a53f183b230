// Package containerdtest starts what tests of the node agent need from the machine: a
// private containerd (its own config, socket, root, state, runc root and
// namespace under one temporary directory) and cgroup parents, and takes
// them all down again when the test ends, failed or not.
//
// It needs root, /usr/bin/containerd and runc; a test that uses it fails
// saying what is missing. Nothing is left running: containerd's tasks are
// killed and deleted, then containerd itself is stopped by its PID, and as
// a last resort runc containers in the private runc root and shims serving
// the private socket are killed; mounts below the directory are unmounted
// before it is removed.
package containerdtest
