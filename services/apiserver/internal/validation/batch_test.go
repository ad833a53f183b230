package validation

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestValidateCreateJob(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*batchv1.Job)
		want   []want
	}{
		{name: "valid job passes", mutate: func(*batchv1.Job) {}},
		{name: "manual selector passes without generated labels", mutate: func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptr(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pi"}}
			j.Spec.Template.Labels = map[string]string{"app": "pi"}
		}},
		{name: "indexed job passes", mutate: func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
			j.Spec.Completions = ptr(int32(5))
			j.Spec.BackoffLimitPerIndex = ptr(int32(1))
			j.Spec.MaxFailedIndexes = ptr(int32(2))
			j.Spec.PodReplacementPolicy = ptr(batchv1.Failed)
		}},
		{name: "restartPolicy Always", mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
			want: []want{required("spec.template.spec.restartPolicy", `valid values: "OnFailure", "Never"`)}},
		{name: "selector missing", mutate: func(j *batchv1.Job) { j.Spec.Selector = nil },
			want: []want{required("spec.selector", ""), invalid("spec.template.metadata.labels", "`selector` does not match template `labels`")}},
		{name: "generated labels missing", mutate: func(j *batchv1.Job) {
			delete(j.Spec.Template.Labels, legacyJobNameLabel)
			j.Spec.Template.Labels[batchv1.JobNameLabel] = "other"
		}, want: []want{
			required("spec.template.metadata.labels[job-name]", "must be 'pi'"),
			invalid("spec.template.metadata.labels[batch.kubernetes.io/job-name]", "must be 'pi'"),
		}},
		{name: "uid missing", mutate: func(j *batchv1.Job) { j.UID = "" },
			want: []want{
				required("metadata.uid", ""),
				invalid("spec.template.metadata.labels[controller-uid]", "must be ''"),
				invalid("spec.template.metadata.labels[batch.kubernetes.io/controller-uid]", "must be ''"),
				invalid("spec.selector", "`selector` not auto-generated"),
			}},
		{name: "negative counts", mutate: func(j *batchv1.Job) {
			j.Spec.Parallelism, j.Spec.BackoffLimit, j.Spec.ActiveDeadlineSeconds = ptr(int32(-1)), ptr(int32(-1)), ptr(int64(-1))
		}, want: []want{
			invalid("spec.parallelism", "must be greater than or equal to 0"),
			invalid("spec.backoffLimit", "must be greater than or equal to 0"),
			invalid("spec.activeDeadlineSeconds", "must be greater than or equal to 0"),
		}},
		{name: "indexed job without completions", mutate: func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
			j.Spec.Completions = nil
		}, want: []want{required("spec.completions", "when completion mode is Indexed")}},
		{name: "per-index backoff on a non-indexed job", mutate: func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr(int32(1)) },
			want: []want{invalid("spec.backoffLimitPerIndex", "requires indexed completion mode")}},
		{name: "unknown completion mode", mutate: func(j *batchv1.Job) { j.Spec.CompletionMode = ptr(batchv1.CompletionMode("Sometimes")) },
			want: []want{notSupported("spec.completionMode", `supported values: "NonIndexed", "Indexed"`)}},
		{name: "indexed job name too long for pod hostnames", mutate: func(j *batchv1.Job) {
			name := strings.Repeat("a", 62)
			j.Name = name
			j.Spec.Template.Labels[batchv1.JobNameLabel], j.Spec.Template.Labels[legacyJobNameLabel] = name, name
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
			j.Spec.Completions = ptr(int32(10))
		}, want: []want{invalid("metadata.name", "will not able to create pod with invalid DNS label: "+strings.Repeat("a", 62)+"-9")}},
		{name: "pod failure policy needs restartPolicy Never and valid rules", mutate: func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			j.Spec.PodReplacementPolicy = ptr(batchv1.Failed)
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{3, 0}}},
				{Action: "Retry"},
			}}
		}, want: []want{
			invalid("spec.template.spec.restartPolicy", `only "Never" is supported when podFailurePolicy is specified`),
			invalid("spec.podFailurePolicy.rules[0].onExitCodes.values[1]", "must not be 0 for the In operator"),
			invalid("spec.podFailurePolicy.rules[0].onExitCodes.values", "must be ordered"),
			notSupported("spec.podFailurePolicy.rules[1].action", `supported values: "Count", "FailIndex", "FailJob", "Ignore"`),
			invalid("spec.podFailurePolicy.rules[1]", "specifying one of OnExitCodes and OnPodConditions is required"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := validJob()
			tc.mutate(j)
			expectErrors(t, ValidateCreate(j), tc.want...)
		})
	}
}

func TestValidateUpdateJob(t *testing.T) {
	tests := []struct {
		name      string
		suspended bool
		mutate    func(*batchv1.Job)
		want      []want
	}{
		{name: "suspending and raising the backoff limit pass", mutate: func(j *batchv1.Job) {
			j.Spec.Suspend = ptr(true)
			j.Spec.BackoffLimit = ptr(int32(10))
		}},
		{name: "completions changed", mutate: func(j *batchv1.Job) { j.Spec.Completions = ptr(int32(3)) },
			want: []want{invalid("spec.completions", "field is immutable")}},
		{name: "template changed", mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "perl:5.40" },
			want: []want{invalid("spec.template", "field is immutable")}},
		{name: "node selector of a suspended job that never started passes", suspended: true, mutate: func(j *batchv1.Job) {
			j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
		}},
		{name: "image of a suspended job", suspended: true, mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "perl:5.40" },
			want: []want{invalid("spec.template", "field is immutable")}},
		{name: "selector changed", mutate: func(j *batchv1.Job) {
			j.Spec.Selector.MatchLabels[legacyJobNameLabel] = "pi"
		}, want: []want{invalid("spec.selector", "field is immutable")}},
		{name: "completion mode changed", mutate: func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
		}, want: []want{invalid("spec.completionMode", "field is immutable")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validJob()
			old.ObjectMeta = stored(old.ObjectMeta)
			old.Spec.Suspend = ptr(tc.suspended)
			j := old.DeepCopy()
			tc.mutate(j)
			expectErrors(t, ValidateUpdate(j, old), tc.want...)
		})
	}

	t.Run("status counts and conditions", func(t *testing.T) {
		old := validJob()
		old.ObjectMeta = stored(old.ObjectMeta)
		j := old.DeepCopy()
		j.Status.Active = -1
		j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"a", "a"}}
		j.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue},
		}
		expectErrors(t, ValidateStatusUpdate(j, old),
			invalid("status.active", "must be greater than or equal to 0"),
			duplicate("status.uncountedTerminatedPods.succeeded[1]"),
			invalid("status.conditions", "cannot set SuccessCriteriaMet=True and Failed=true conditions"))
	})
}

func TestValidateCronJob(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*batchv1.CronJob)
		want   []want
	}{
		{name: "valid cron job passes", mutate: func(*batchv1.CronJob) {}},
		{name: "descriptor and time zone pass", mutate: func(c *batchv1.CronJob) {
			c.Spec.Schedule = "@hourly"
			c.Spec.TimeZone = ptr("UTC")
		}},
		{name: "schedule missing", mutate: func(c *batchv1.CronJob) { c.Spec.Schedule = "" },
			want: []want{required("spec.schedule", "")}},
		{name: "schedule with one field", mutate: func(c *batchv1.CronJob) { c.Spec.Schedule = "hourly" },
			want: []want{invalid("spec.schedule", "expected exactly 5 fields, found 1: [hourly]")}},
		{name: "minute out of range", mutate: func(c *batchv1.CronJob) { c.Spec.Schedule = "61 * * * *" },
			want: []want{invalid("spec.schedule", "end of range (61) above maximum (59): 61")}},
		{name: "time zone in the schedule", mutate: func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=UTC 0 * * * *" },
			want: []want{invalid("spec.schedule", "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")}},
		{name: "unknown time zone", mutate: func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr("Mars/Olympus_Mons") },
			want: []want{invalid("spec.timeZone", "unknown time zone Mars/Olympus_Mons")}},
		{name: "Local time zone", mutate: func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr("Local") },
			want: []want{invalid("spec.timeZone", "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")}},
		{name: "concurrency policy missing", mutate: func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "" },
			want: []want{required("spec.concurrencyPolicy", "")}},
		{name: "unknown concurrency policy", mutate: func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "Queue" },
			want: []want{notSupported("spec.concurrencyPolicy", `supported values: "Allow", "Forbid", "Replace"`)}},
		{name: "job template with a selector and restartPolicy Always", mutate: func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{MatchLabels: webLabels}
			c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		}, want: []want{
			invalid("spec.jobTemplate.spec.selector", "`selector` will be auto-generated"),
			required("spec.jobTemplate.spec.template.spec.restartPolicy", `valid values: "OnFailure", "Never"`),
		}},
		{name: "negative history limit", mutate: func(c *batchv1.CronJob) { c.Spec.FailedJobsHistoryLimit = ptr(int32(-1)) },
			want: []want{invalid("spec.failedJobsHistoryLimit", "must be greater than or equal to 0")}},
		{name: "name too long for its jobs", mutate: func(c *batchv1.CronJob) { c.Name = strings.Repeat("n", 53) },
			want: []want{invalid("metadata.name", "must be no more than 52 characters")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validCronJob()
			tc.mutate(c)
			expectErrors(t, ValidateCreate(c), tc.want...)
		})
	}

	old := validCronJob()
	old.ObjectMeta = stored(old.ObjectMeta)
	old.Name = strings.Repeat("n", 60)
	t.Run("update skips the name length and checks the schedule", func(t *testing.T) {
		c := old.DeepCopy()
		c.Spec.Schedule = "* * * * * *"
		expectErrors(t, ValidateUpdate(c, old), invalid("spec.schedule", "expected exactly 5 fields, found 6: [* * * * * *]"))
	})
	t.Run("status update checks metadata", func(t *testing.T) {
		c := old.DeepCopy()
		c.ResourceVersion = ""
		expectErrors(t, ValidateStatusUpdate(c, old), invalid("metadata.resourceVersion", "must be specified for an update"))
	})
}

func TestParseCronSchedule(t *testing.T) {
	tests := []struct {
		schedule string
		err      string
	}{
		{"*/5 * * * *", ""},
		{"0 0 1 jan-mar mon-fri", ""},
		{"0 9-17/2 * * 1,3,5", ""},
		{"? * * * ?", ""},
		{"@daily", ""},
		{"@every 1h30m", ""},
		{"CRON_TZ=UTC 0 0 * * *", ""},
		{"", "empty spec string"},
		{"* * * *", "expected exactly 5 fields, found 4: [* * * *]"},
		{"60 * * * *", "end of range (60) above maximum (59): 60"},
		{"* 24 * * *", "end of range (24) above maximum (23): 24"},
		{"* * 0 * *", "beginning of range (0) below minimum (1): 0"},
		{"* * * 13 *", "end of range (13) above maximum (12): 13"},
		{"* * * * 7", "end of range (7) above maximum (6): 7"},
		{"5-2 * * * *", "beginning of range (5) beyond end of range (2): 5-2"},
		{"1-2-3 * * * *", "too many hyphens: 1-2-3"},
		{"*/2/3 * * * *", "too many slashes: */2/3"},
		{"*/0 * * * *", "step of range should be a positive number: */0"},
		{"x * * * *", `failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax`},
		{"@fortnightly", "unrecognized descriptor: @fortnightly"},
		{"@every soon", `failed to parse duration @every soon: time: invalid duration "soon"`},
		{"TZ=Nowhere/City 0 * * * *", "provided bad location Nowhere/City: unknown time zone Nowhere/City"},
	}
	for _, tc := range tests {
		t.Run(tc.schedule, func(t *testing.T) {
			err := parseCronSchedule(tc.schedule)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.err != "" && (err == nil || err.Error() != tc.err):
				t.Errorf("got %v, want %q", err, tc.err)
			}
		})
	}
}
