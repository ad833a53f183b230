// Package storageutil holds what the API server, the controllers, the
// scheduler and the node agent share about persistent storage: the
// annotation and finalizer names Kubernetes (and Gantry's local-path
// provisioner) put on PersistentVolumes, PersistentVolumeClaims and
// StorageClasses, and the small helpers that read them the way
// Kubernetes' own helpers do (a claim's class, whether a class is the
// default one, access modes as kubectl prints them).
//
// The local-path protocol (built-in provisioner gantry.dev/local-path):
//
//   - The StorageClass "local-path" (created by the API server at start)
//     names the provisioner LocalPathProvisioner, binding mode
//     WaitForFirstConsumer, reclaim policy Delete.
//   - Once the scheduler has picked a node for a pod using an unbound
//     claim of that class (annotation AnnSelectedNode on the claim), the
//     provisioner (gantry-controllers) creates a PersistentVolume named
//     "pvc-<claim uid>" of type hostPath, at
//     <local-path dir>/pvc-<uid>_<namespace>_<name>, with a required node
//     affinity on kubernetes.io/hostname = the node, pre-bound to the
//     claim, and with the finalizer LocalPathCleanupFinalizer.
//   - The directory is created by the node agent when a pod first mounts
//     the volume (hostPath type DirectoryOrCreate).
//   - When the claim is deleted the volume turns Released; with reclaim
//     policy Delete the provisioner deletes the PersistentVolume, which
//     the finalizer holds (Terminating). The agent of the volume's node
//     removes the directory, then the finalizer, and the volume is gone.
//     A volume whose policy is Retain keeps its directory: the agent
//     only removes the finalizer when such a volume is deleted. Should
//     the node no longer exist, the provisioner removes the finalizer
//     itself (there is nothing left to clean).
package storageutil
