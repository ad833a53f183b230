// Package cronjob is gantry-controllers' CronJob controller
// (kube-controller-manager's "cronjob"): it creates a Job from a
// CronJob's template at each time its cron schedule names, in
// spec.timeZone (else the controller's local zone).
//
// Jobs are named <cronjob>-<scheduled time in minutes since the epoch>,
// so that one scheduled time never yields two Jobs, and carry the
// batch.kubernetes.io/cronjob-scheduled-timestamp annotation. The
// controller honours concurrencyPolicy (Allow, Forbid: skip while a Job
// runs, Replace: delete the running Jobs first), startingDeadlineSeconds
// (a start later than that is missed: MissSchedule), suspend, and the
// successful and failed Jobs history limits, and keeps status.active,
// lastScheduleTime and lastSuccessfulTime. After each sync the CronJob is
// queued again for its next scheduled time.
//
// sync gathers what it needs (the CronJob, its Jobs, which active Jobs
// are really gone) and asks the pure function decide for a plan, which it
// then carries out; decide and the schedule arithmetic are table-tested,
// and the whole sync runs against fakes with a fake clock.
package cronjob
