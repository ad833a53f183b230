// Package images gives a node images without a registry.
//
// BuildBusybox writes an OCI image archive of gantry.local/busybox:latest
// made from the host's static busybox (Debian's busybox-static), so that
// tests and `make up` have an image to run anywhere. EnsureBuiltin imports
// it into a runtime when it is missing.
//
// Watcher imports the archives (*.tar, *.tar.gz, *.tgz, *.oci) dropped
// into the agent's images directory, once per file content, for
// air-gapped nodes.
package images
