// Package volume holds kube-controller-manager's persistent volume
// controller ("persistentvolume-binder") and Gantry's built-in dynamic
// provisioner ("local-path-provisioner").
//
// The binder keeps PersistentVolumeClaims and PersistentVolumes bound one
// to one, as Kubernetes' PV controller does, from two work queues (claims
// by namespace/name, volumes by name):
//
//   - An unbound claim is bound to the smallest Available volume that
//     satisfies it (same class, access modes a superset of the claim's,
//     capacity at least the request, the claim's selector, the same volume
//     mode, not being deleted); a volume pre-bound to the claim
//     (spec.claimRef) and a claim pre-bound to a volume (spec.volumeName)
//     are honoured. Binding writes the volume's claimRef and phase Bound,
//     then the claim's volumeName, the pv.kubernetes.io/bind-completed and
//     pv.kubernetes.io/bound-by-controller annotations, and its status
//     (Bound, the volume's capacity and access modes).
//   - A claim of a WaitForFirstConsumer class is not bound until the
//     scheduler has chosen a node for its first pod (annotation
//     volume.kubernetes.io/selected-node); until then it gets the event
//     WaitForFirstConsumer ("waiting for first consumer to be created
//     before binding"), or WaitForPodScheduled once a pending pod uses it.
//     With a node chosen, only volumes whose node affinity admits the node
//     are candidates.
//   - A claim that no volume satisfies, of a class with a provisioner, is
//     handed to that provisioner: it gets the
//     volume.kubernetes.io/storage-provisioner annotation (and the beta
//     one) and the event ExternalProvisioning.
//   - A volume whose claim is gone turns Released; then its reclaim
//     policy applies: Retain keeps it, Delete leaves a provisioned volume
//     to its provisioner and fails others (no deleter plugin), Recycle
//     fails (no recycler).
//   - A bound claim whose volume is gone, or is bound to another claim,
//     turns Lost.
//
// The local-path provisioner provisions claims of classes whose
// provisioner is gantry.dev/local-path once they have a selected node: a
// hostPath PersistentVolume "pvc-<claim uid>" at
// <--local-path-dir>/pvc-<uid>_<namespace>_<name> (type
// DirectoryOrCreate), with a required node affinity on
// kubernetes.io/hostname, the claim's request as capacity, the class's
// reclaim policy and mount options, pre-bound to the claim, and the
// finalizer gantry.dev/local-path-cleanup. When such a volume is
// Released with policy Delete, the provisioner deletes it; the finalizer
// holds it until the agent of its node has removed the directory (see
// libs/storageutil for the whole protocol). A volume whose node no
// longer exists loses its finalizer at once.
//
// Every decision is a pure function (decideClaim, decideVolume,
// decideProvision, decideReclaim) over objects read from the informer
// caches; the controllers only write what the plan says.
package volume
