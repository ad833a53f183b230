package cronjob

import (
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
)

func TestDecide(t *testing.T) {
	// The CronJob runs every minute since t0-1h, last at t0; now is t0+1m+1s.
	now := t0.Add(time.Minute + time.Second)
	due := t0.Add(time.Minute)
	running := func(cj *batchv1.CronJob) *batchv1.Job { return childJob(cj, t0, "") }
	type want struct {
		events    []string
		create    string // name of the Job to create
		replace   []string
		prune     []string
		active    []string
		requeue   *time.Duration
		lastOK    *time.Time
		scheduled time.Time
	}
	next := ptrTo(59*time.Second + nextScheduleDelta) // to t0+2m
	for _, tc := range []struct {
		name string
		cj   func(*batchv1.CronJob)
		jobs func(*batchv1.CronJob) []*batchv1.Job
		gone []types.UID
		now  time.Time
		want want
	}{
		{name: "starts a job when due", want: want{create: "backup-29018041", scheduled: due, requeue: next}},
		{name: "not due yet", now: t0.Add(30 * time.Second), want: want{requeue: ptrTo(30*time.Second + nextScheduleDelta)}},
		{name: "Allow runs alongside", cj: func(cj *batchv1.CronJob) { cj.Status.Active = []corev1.ObjectReference{jobRef(running(cj))} },
			jobs: func(cj *batchv1.CronJob) []*batchv1.Job { return []*batchv1.Job{running(cj)} },
			want: want{create: "backup-29018041", scheduled: due, active: []string{"backup-29018040"}, requeue: next}},
		{name: "Forbid skips while a job runs", cj: func(cj *batchv1.CronJob) {
			cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
			cj.Status.Active = []corev1.ObjectReference{jobRef(running(cj))}
		}, jobs: func(cj *batchv1.CronJob) []*batchv1.Job { return []*batchv1.Job{running(cj)} },
			want: want{events: []string{"JobAlreadyActive"}, active: []string{"backup-29018040"}, requeue: next}},
		{name: "Forbid starts once the job finished", cj: func(cj *batchv1.CronJob) {
			cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
			cj.Status.Active = []corev1.ObjectReference{jobRef(running(cj))}
		}, jobs: func(cj *batchv1.CronJob) []*batchv1.Job { return []*batchv1.Job{childJob(cj, t0, batchv1.JobComplete)} },
			want: want{events: []string{"SawCompletedJob"}, create: "backup-29018041", scheduled: due, requeue: next, lastOK: ptrTo(t0.Add(30 * time.Second))}},
		{name: "Replace deletes the running job", cj: func(cj *batchv1.CronJob) {
			cj.Spec.ConcurrencyPolicy = batchv1.ReplaceConcurrent
			cj.Status.Active = []corev1.ObjectReference{jobRef(running(cj))}
		}, jobs: func(cj *batchv1.CronJob) []*batchv1.Job { return []*batchv1.Job{running(cj)} },
			want: want{create: "backup-29018041", scheduled: due, replace: []string{"backup-29018040"}, requeue: next}},
		{name: "suspended", cj: func(cj *batchv1.CronJob) { cj.Spec.Suspend = ptrTo(true) }, want: want{}},
		{name: "start missed past the starting deadline", cj: func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = ptrTo(int64(10)) },
			now: t0.Add(time.Minute + 20*time.Second), want: want{events: []string{"MissSchedule"}, requeue: ptrTo(40*time.Second + nextScheduleDelta)}},
		{name: "within the starting deadline", cj: func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = ptrTo(int64(30)) },
			now: t0.Add(time.Minute + 20*time.Second), want: want{create: "backup-29018041", scheduled: due, requeue: ptrTo(40*time.Second + nextScheduleDelta)}},
		{name: "too many missed start times", cj: func(cj *batchv1.CronJob) { cj.Status.LastScheduleTime = &metav1.Time{Time: t0.Add(-5 * time.Hour)} },
			want: want{events: []string{"TooManyMissedTimes"}, create: "backup-29018041", scheduled: due, requeue: next}},
		{name: "time already taken care of", cj: func(cj *batchv1.CronJob) {
			cj.Status.Active = []corev1.ObjectReference{{Name: "backup-29018041", UID: "x"}}
		}, gone: nil, jobs: func(cj *batchv1.CronJob) []*batchv1.Job { return nil },
			want: want{active: []string{"backup-29018041"}, requeue: next}},
		{name: "an active job went missing", cj: func(cj *batchv1.CronJob) {
			cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
			cj.Status.Active = []corev1.ObjectReference{{Name: "backup-29018040", UID: "uid-backup-29018040"}}
		}, gone: []types.UID{"uid-backup-29018040"},
			want: want{events: []string{"MissingJob"}, create: "backup-29018041", scheduled: due, requeue: next}},
		{name: "an unexpected running job", jobs: func(cj *batchv1.CronJob) []*batchv1.Job { return []*batchv1.Job{running(cj)} },
			want: want{events: []string{"UnexpectedJob"}, create: "backup-29018041", scheduled: due, requeue: next}},
		{name: "history limits prune the oldest finished jobs", jobs: func(cj *batchv1.CronJob) []*batchv1.Job {
			var js []*batchv1.Job
			for i := 5; i >= 1; i-- {
				js = append(js, childJob(cj, t0.Add(-time.Duration(i)*time.Minute), batchv1.JobComplete))
			}
			js = append(js, childJob(cj, t0.Add(-10*time.Minute), batchv1.JobFailed), childJob(cj, t0.Add(-9*time.Minute), batchv1.JobFailed))
			return js
		}, want: want{create: "backup-29018041", scheduled: due, requeue: next, lastOK: ptrTo(t0.Add(-30 * time.Second)),
			prune: []string{"backup-29018035", "backup-29018036", "backup-29018030"}}},
		{name: "history limit 0 prunes every finished job", cj: func(cj *batchv1.CronJob) { cj.Spec.SuccessfulJobsHistoryLimit = ptrTo(int32(0)) },
			jobs: func(cj *batchv1.CronJob) []*batchv1.Job { return []*batchv1.Job{childJob(cj, t0, batchv1.JobComplete)} },
			want: want{create: "backup-29018041", scheduled: due, requeue: next, lastOK: ptrTo(t0.Add(30 * time.Second)), prune: []string{"backup-29018040"}}},
		{name: "TZ in the schedule is refused", cj: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "TZ=UTC * * * * *" },
			want: want{events: []string{"UnsupportedSchedule"}}},
		{name: "unparseable schedule", cj: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "every minute" },
			want: want{events: []string{"UnparseableSchedule"}}},
		{name: "unknown time zone", cj: func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptrTo("Nowhere/Land") },
			want: want{events: []string{"UnknownTimeZone"}}},
		{name: "being deleted: status only", cj: func(cj *batchv1.CronJob) {
			cj.DeletionTimestamp = ptrTo(metav1.NewTime(t0))
			cj.Status.Active = []corev1.ObjectReference{jobRef(running(cj))}
		}, jobs: func(cj *batchv1.CronJob) []*batchv1.Job { return []*batchv1.Job{childJob(cj, t0, batchv1.JobFailed)} },
			want: want{events: []string{"SawCompletedJob"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cj := testCronJob("* * * * *", t0.Add(-time.Hour))
			cj.Status.LastScheduleTime = &metav1.Time{Time: t0}
			if tc.cj != nil {
				tc.cj(cj)
			}
			var jobs []*batchv1.Job
			if tc.jobs != nil {
				jobs = tc.jobs(cj)
			}
			n := now
			if !tc.now.IsZero() {
				n = tc.now
			}
			orig := cj.DeepCopy()
			p := decide(&input{cj: cj, jobs: jobs, gone: sets.New(tc.gone...), now: n, local: time.UTC})
			got := want{events: reasons(p.events), requeue: p.requeueAfter, lastOK: timeOf(p.status.LastSuccessfulTime), scheduled: p.scheduled}
			if p.create != nil {
				got.create = p.create.Name
			}
			for _, r := range p.replace {
				got.replace = append(got.replace, r.Name)
			}
			for _, j := range p.prune {
				got.prune = append(got.prune, j.Name)
			}
			for _, r := range p.status.Active {
				got.active = append(got.active, r.Name)
			}
			if tc.want.events == nil {
				tc.want.events = []string{}
			}
			if !slices.Equal(got.events, tc.want.events) || got.create != tc.want.create || !slices.Equal(got.replace, tc.want.replace) ||
				!slices.Equal(got.prune, tc.want.prune) || !slices.Equal(got.active, tc.want.active) ||
				!durEqual(got.requeue, tc.want.requeue) || !timeEqual(got.lastOK, tc.want.lastOK) || !got.scheduled.Equal(tc.want.scheduled) {
				t.Errorf("got  %s\nwant %s", show(got.events, got.create, got.replace, got.prune, got.active, got.requeue, got.lastOK),
					show(tc.want.events, tc.want.create, tc.want.replace, tc.want.prune, tc.want.active, tc.want.requeue, tc.want.lastOK))
			}
			if !equalCronJobs(orig, cj) {
				t.Error("decide modified its input")
			}
		})
	}
}

func TestJobFromTemplate(t *testing.T) {
	cj := testCronJob("* * * * *", t0)
	cj.Spec.TimeZone = ptrTo("Europe/Paris")
	cj.Spec.JobTemplate.Annotations = map[string]string{"a": "b"}
	j, err := jobFromTemplate(cj, t0)
	if err != nil {
		t.Fatal(err)
	}
	if j.Name != "backup-29018040" || j.Namespace != "ns" || j.Labels["app"] != "backup" || j.Annotations["a"] != "b" {
		t.Errorf("meta %+v", j.ObjectMeta)
	}
	if got := j.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2025-03-04T11:00:00+01:00" {
		t.Errorf("scheduled timestamp %q", got)
	}
	if ref := metav1.GetControllerOf(j); ref == nil || ref.Kind != "CronJob" || ref.UID != cj.UID {
		t.Errorf("controller %+v", ref)
	}
	if j.Spec.Template.Spec.Containers[0].Image != "busybox" {
		t.Errorf("spec %+v", j.Spec)
	}
	cj.Spec.TimeZone = nil
	j, _ = jobFromTemplate(cj, t0)
	if got := j.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2025-03-04T10:00:00Z" {
		t.Errorf("scheduled timestamp without time zone %q, want UTC", got)
	}
	if _, ok := cj.Spec.JobTemplate.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; ok {
		t.Error("the template was modified")
	}
}
