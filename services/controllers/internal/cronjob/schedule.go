package cronjob

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
)

const (
	// tooManyMissed is how many missed start times are too many to be
	// believed (clock skew, a controller down for ages): Kubernetes' 100.
	tooManyMissed = 100
	// nextScheduleDelta is how long after a scheduled time the CronJob is
	// synced, so that the time has surely passed.
	nextScheduleDelta = 100 * time.Millisecond
)

// errTZInSchedule refuses CRON_TZ= and TZ= prefixes in spec.schedule, as
// Kubernetes' API does: spec.timeZone says it.
var errTZInSchedule = errors.New("CRON_TZ or TZ used in schedule is not supported, use spec.timeZone")

// missed says how many start times went by without a Job.
type missed int

const (
	noneMissed missed = iota
	fewMissed
	manyMissed
)

// parseSchedule parses spec.schedule (five fields or a descriptor such as
// @hourly) in the CronJob's time zone: spec.timeZone, else def.
func parseSchedule(cj *batchv1.CronJob, def *time.Location) (cron.Schedule, error) {
	if strings.Contains(cj.Spec.Schedule, "TZ") {
		return nil, errTZInSchedule
	}
	sched, err := cron.ParseStandard(cj.Spec.Schedule)
	if err != nil {
		return nil, err
	}
	loc, err := location(cj, def)
	if err != nil {
		return nil, err
	}
	if s, ok := sched.(*cron.SpecSchedule); ok {
		s.Location = loc
	}
	return sched, nil
}

// location is the CronJob's time zone: spec.timeZone, else def.
func location(cj *batchv1.CronJob, def *time.Location) (*time.Location, error) {
	if cj.Spec.TimeZone == nil {
		return def, nil
	}
	return time.LoadLocation(*cj.Spec.TimeZone)
}

// earliest is the time after which start times count: the last scheduled
// time, else the CronJob's creation.
func earliest(cj *batchv1.CronJob) time.Time {
	if cj.Status.LastScheduleTime != nil {
		return cj.Status.LastScheduleTime.Time
	}
	return cj.CreationTimestamp.Time
}

// mostRecent returns the latest start time in (earliest, now] (nil if
// none) and how many went by. With withDeadline, start times older than
// startingDeadlineSeconds do not count. A schedule naming no time at all
// (February 31st) is an error.
func mostRecent(cj *batchv1.CronJob, now time.Time, sched cron.Schedule, withDeadline bool) (*time.Time, missed, error) {
	from := earliest(cj)
	if withDeadline && cj.Spec.StartingDeadlineSeconds != nil {
		if d := now.Add(-time.Duration(*cj.Spec.StartingDeadlineSeconds) * time.Second); d.After(from) {
			from = d
		}
	}
	t := sched.Next(from)
	if t.IsZero() {
		return nil, noneMissed, errors.New("the schedule names no time in the next five years")
	}
	if t.After(now) {
		return nil, noneMissed, nil
	}
	var last time.Time
	n := 0
	for ; !t.IsZero() && !t.After(now) && n <= tooManyMissed; t = sched.Next(t) {
		last = t
		n++
	}
	if t.IsZero() || t.After(now) {
		return &last, missedOf(n), nil
	}
	// More than tooManyMissed: jump near now rather than walk there.
	interval := t.Sub(last).Round(time.Second)
	if interval < time.Second {
		return nil, manyMissed, errors.New("time difference between two schedules is less than 1 second")
	}
	for back := 2 * interval; ; back *= 2 {
		start := now.Add(-back)
		if !start.After(t) {
			start = t
		}
		var found time.Time
		for s := sched.Next(start); !s.IsZero() && !s.After(now); s = sched.Next(s) {
			found = s
		}
		if !found.IsZero() {
			return &found, manyMissed, nil
		}
		if start.Equal(t) {
			return &t, manyMissed, nil
		}
	}
}

// missedOf classes n start times gone by: one is the one due now.
func missedOf(n int) missed {
	switch {
	case n > tooManyMissed:
		return manyMissed
	case n > 1:
		return fewMissed
	}
	return noneMissed
}

// nextDelay is how long from now until the CronJob's next start time
// (plus nextScheduleDelta), nil if there is none.
func nextDelay(cj *batchv1.CronJob, now time.Time, sched cron.Schedule) *time.Duration {
	recent, m, err := mostRecent(cj, now, sched, false)
	base := now
	switch {
	case err != nil:
	case recent != nil:
		base = *recent
	case m == noneMissed:
		base = earliest(cj)
	}
	next := sched.Next(base)
	if next.IsZero() {
		return nil
	}
	d := next.Add(nextScheduleDelta).Sub(now)
	return &d
}

// jobName is the name of the Job of a scheduled time.
func jobName(cj *batchv1.CronJob, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, scheduled.Unix()/60)
}
