// Package job holds two control loops of gantry-controllers, as
// kube-controller-manager's "job" and "ttl-after-finished":
//
//   - the Job controller runs a Job's pods to completion: it creates pods
//     from the template up to spec.parallelism until spec.completions
//     succeeded (NonIndexed), or one success per completion index
//     (Indexed: the batch.kubernetes.io/job-completion-index annotation
//     and label, the JOB_COMPLETION_INDEX variable, hostname
//     <job>-<index>); it replaces failed pods after an exponential
//     back-off (10s, doubling, at most 6 minutes) until spec.backoffLimit
//     is passed, honours activeDeadlineSeconds, suspend and the basics of
//     podFailurePolicy (FailJob, Ignore, Count on exit codes and pod
//     conditions), and reports it all in the Job's status and conditions
//     (SuccessCriteriaMet then Complete; FailureTarget then Failed);
//   - the TTL-after-finished controller deletes finished Jobs whose
//     spec.ttlSecondsAfterFinished has passed.
//
// # Counting pods
//
// Every pod the controller creates carries the batch.kubernetes.io/
// job-tracking finalizer, so it cannot vanish before it is counted. A
// terminated pod is first recorded by UID in
// status.uncountedTerminatedPods (one status write), then its finalizer
// is removed, then its UID moves into the succeeded or failed counter (a
// second write). A crash between the steps repeats none of them twice:
// a UID already recorded is not recorded again, and a pod whose
// finalizer is gone is never counted again. Finalizer removals not yet
// seen in the cache are remembered (finalizerExpectations) so a stale
// cache does not count a pod twice either.
//
// # Shape of a sync
//
// sync reads the Job and its pods from the caches and decides with pure
// functions (assess, manage, isComplete, track, finish), each
// table-tested: what the Job's counts are and where it is heading, which
// pods to create or delete, what its status becomes. The rest of sync
// carries the decisions out through a small api interface and writes the
// status; sync itself is tested against a fake API server whose cache
// lags as the test decides, with a fake clock.
package job
