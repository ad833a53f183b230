// Package volumes sets up a pod's volumes on the node, the part of
// kubelet's volume manager that covers the in-tree types Gantry supports:
// emptyDir, hostPath, configMap, secret, downwardAPI, projected
// (configMap, secret and downwardAPI sources) and persistentVolumeClaim
// (claims bound to hostPath or local PersistentVolumes).
//
// A Manager works on a pod directory that the caller owns (the runtime's
// Sandbox.Dir). Every volume except hostPath gets a directory below it,
// laid out as kubelet lays out /var/lib/kubelet/pods/<uid>:
//
//	<podDir>/volumes/kubernetes.io~empty-dir/<volume>    emptyDir (tmpfs for medium Memory)
//	<podDir>/volumes/kubernetes.io~configmap/<volume>    configMap
//	<podDir>/volumes/kubernetes.io~secret/<volume>       secret, always on a tmpfs
//	<podDir>/volumes/kubernetes.io~downward-api/<volume> downwardAPI
//	<podDir>/volumes/kubernetes.io~projected/<volume>    projected, always on a tmpfs
//
// hostPath volumes are used in place: Setup only checks (or creates) the
// host path according to the volume's type, and Teardown never touches
// it. A persistentVolumeClaim volume is resolved (ClaimSource) to the
// PersistentVolume its claim is bound to, and that volume's hostPath (or
// local path) is used the same way; until the claim is bound, Setup fails
// with "error processing PVC <ns>/<name>: PVC is not bound" and the pod
// waits. A claim the pod mounts readOnly is bind-mounted read-only.
//
// configMap, secret, downwardAPI and projected volumes are written with
// kubelet's atomic-writer layout, so that consumers see one version of
// all the files or the next, never a mix:
//
//	..2024_05_01_10_00_00.123456789/   the data, one directory per version
//	..data -> ..2024_05_01_10_00_00.123456789
//	<key>  -> ..data/<key>             one symlink per top-level path
//
// A new version is written to a fresh timestamped directory, ..data is
// swapped to it with a rename, and the old directory is removed. Refresh
// re-reads the sources and does this only when the content changed.
//
// Mounts turns a container's volumeMounts into runtime bind mounts,
// resolving subPaths (and subPathExprs, from the container's resolved
// environment) so that they cannot leave their volume.
//
// A pod's spec.securityContext.fsGroup owns emptyDir directories and the
// files of projected volumes, made group-readable (emptyDirs group
// writable) with setgid directories, as kubelet's SetVolumeOwnership does.
//
// Teardown unmounts every mount below <podDir>/volumes and removes that
// directory without crossing into another filesystem, so a mount that
// could not be removed (or a bind of a host directory) is never emptied.
//
// Sources of configMaps and secrets are behind the Source interface;
// ClientSource reads them from the API server through libs/client.
package volumes
