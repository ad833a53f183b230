package cronjob

import (
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseSchedule(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	for _, tc := range []struct {
		name     string
		schedule string
		tz       *string
		from     time.Time
		next     time.Time
		err      bool
		tzErr    bool
	}{
		{name: "every minute", schedule: "* * * * *", from: t0.Add(30 * time.Second), next: t0.Add(time.Minute)},
		{name: "@hourly", schedule: "@hourly", from: t0.Add(time.Second), next: t0.Add(time.Hour)},
		{name: "@daily in a time zone", schedule: "@daily", tz: ptrTo("America/New_York"), from: t0,
			next: time.Date(2025, 3, 5, 0, 0, 0, 0, ny)},
		{name: "fields in a time zone", schedule: "30 6 * * *", tz: ptrTo("America/New_York"), from: t0,
			next: time.Date(2025, 3, 4, 6, 30, 0, 0, ny)},
		{name: "@every", schedule: "@every 5m", from: t0, next: t0.Add(5 * time.Minute)},
		{name: "TZ prefix refused", schedule: "TZ=UTC * * * * *", tzErr: true},
		{name: "CRON_TZ prefix refused", schedule: "CRON_TZ=UTC * * * * *", tzErr: true},
		{name: "garbage", schedule: "every day", err: true},
		{name: "six fields", schedule: "0 * * * * *", err: true},
		{name: "unknown zone", schedule: "* * * * *", tz: ptrTo("Mars/Olympus"), err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cj := testCronJob(tc.schedule, t0)
			cj.Spec.TimeZone = tc.tz
			sched, err := parseSchedule(cj, time.UTC)
			if tc.tzErr {
				if !errors.Is(err, errTZInSchedule) {
					t.Fatalf("err %v, want the TZ refusal", err)
				}
				return
			}
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if got := sched.Next(tc.from); !got.Equal(tc.next) {
				t.Errorf("next after %v: %v, want %v", tc.from, got, tc.next)
			}
		})
	}
}

func TestMostRecent(t *testing.T) {
	for _, tc := range []struct {
		name         string
		schedule     string
		created      time.Time
		last         *time.Time
		deadline     *int64
		now          time.Time
		want         *time.Time
		missed       missed
		err          bool
		withDeadline bool
	}{
		{name: "not yet", schedule: "* * * * *", created: t0.Add(10 * time.Second), now: t0.Add(50 * time.Second)},
		{name: "just due", schedule: "* * * * *", created: t0.Add(10 * time.Second), now: t0.Add(70 * time.Second), want: ptrTo(t0.Add(time.Minute))},
		{name: "a few missed: the latest", schedule: "* * * * *", created: t0, now: t0.Add(5*time.Minute + time.Second),
			want: ptrTo(t0.Add(5 * time.Minute)), missed: fewMissed},
		{name: "after the last schedule", schedule: "* * * * *", created: t0.Add(-time.Hour), last: ptrTo(t0.Add(2 * time.Minute)),
			now: t0.Add(2*time.Minute + 30*time.Second)},
		{name: "too many missed", schedule: "* * * * *", created: t0.Add(-24 * time.Hour), now: t0.Add(30 * time.Second),
			want: ptrTo(t0), missed: manyMissed},
		{name: "too many missed, far away", schedule: "*/5 * * * *", created: t0.Add(-400 * 24 * time.Hour), now: t0.Add(7 * time.Minute),
			want: ptrTo(t0.Add(5 * time.Minute)), missed: manyMissed},
		{name: "starting deadline bounds the search", schedule: "* * * * *", created: t0.Add(-24 * time.Hour), now: t0.Add(30 * time.Second),
			deadline: ptrTo(int64(200)), withDeadline: true, want: ptrTo(t0), missed: fewMissed},
		{name: "the deadline is ignored for requeues", schedule: "* * * * *", created: t0.Add(-24 * time.Hour), now: t0.Add(30 * time.Second),
			deadline: ptrTo(int64(200)), want: ptrTo(t0), missed: manyMissed},
		{name: "no such day", schedule: "0 0 31 2 *", created: t0, now: t0.Add(time.Hour), err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cj := testCronJob(tc.schedule, tc.created)
			cj.Spec.StartingDeadlineSeconds = tc.deadline
			if tc.last != nil {
				cj.Status.LastScheduleTime = &metav1.Time{Time: *tc.last}
			}
			sched, err := parseSchedule(cj, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			got, m, err := mostRecent(cj, tc.now, sched, tc.withDeadline)
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if (got == nil) != (tc.want == nil) || got != nil && !got.Equal(*tc.want) || m != tc.missed {
				t.Errorf("got %v (missed %d), want %v (missed %d)", got, m, tc.want, tc.missed)
			}
		})
	}
}

func TestNextDelay(t *testing.T) {
	for _, tc := range []struct {
		name     string
		schedule string
		created  time.Time
		last     *time.Time
		now      time.Time
		want     time.Duration
	}{
		{name: "fresh cronjob", schedule: "* * * * *", created: t0.Add(10 * time.Second), now: t0.Add(20 * time.Second),
			want: 40*time.Second + nextScheduleDelta},
		{name: "after a start", schedule: "* * * * *", created: t0.Add(-time.Hour), last: ptrTo(t0), now: t0.Add(time.Second),
			want: 59*time.Second + nextScheduleDelta},
		{name: "a start is due: the one after", schedule: "@hourly", created: t0.Add(-2 * time.Hour), last: ptrTo(t0.Add(-time.Hour)),
			now: t0.Add(time.Second), want: time.Hour - time.Second + nextScheduleDelta},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cj := testCronJob(tc.schedule, tc.created)
			if tc.last != nil {
				cj.Status.LastScheduleTime = &metav1.Time{Time: *tc.last}
			}
			sched, err := parseSchedule(cj, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if got := nextDelay(cj, tc.now, sched); got == nil || *got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
