// Package leaderelection chooses one active instance among the replicas
// of a daemon (scheduler, controllers) with a coordination.k8s.io/v1
// Lease, as client-go's leaderelection does and with the same timing
// rules, so that the Lease reads the same to kubectl and to Kubernetes
// tooling:
//
//   - A candidate acquires the Lease when nobody holds it, or when the
//     holder has not renewed it for LeaseDuration as measured by the
//     candidate's own clock since it last saw the Lease change (clocks
//     of different hosts are never compared).
//   - The leader renews every RetryPeriod, and gives up leadership when
//     it could not renew for RenewDeadline (< LeaseDuration), so it
//     stops before anybody else may start.
//   - Every write is a compare-and-swap on the Lease's resourceVersion.
//   - With ReleaseOnCancel the leader clears the holder when its context
//     ends, after its work returned, so a successor starts at once.
//
// It is a small elector of its own rather than client-go's, whose
// package brings in the whole generated clientset.
package leaderelection
