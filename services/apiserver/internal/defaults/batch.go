package defaults

import (
	"maps"
	"math"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// defaultJob leaves spec.manualSelector unset and the template's restart
// policy to the client; the selector and the controller-uid and job-name
// labels are the registry's, at create time.
func defaultJob(job *batchv1.Job) {
	spec := &job.Spec
	// A job with neither completions nor parallelism runs one pod to
	// completion.
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions = new(int32(1))
	}
	setIfNil(&spec.Parallelism, 1)
	if spec.BackoffLimitPerIndex != nil {
		// The per-index limit governs; the job-wide one must not get in
		// its way.
		setIfNil(&spec.BackoffLimit, math.MaxInt32)
	}
	setIfNil(&spec.BackoffLimit, 6)
	setIfNil(&spec.CompletionMode, batchv1.NonIndexedCompletion)
	setIfNil(&spec.Suspend, false)
	if spec.PodFailurePolicy != nil {
		// Failed pods are replaced only once they are fully terminated, so
		// the failure policy sees their final state.
		setIfNil(&spec.PodReplacementPolicy, batchv1.Failed)
	}
	setIfNil(&spec.PodReplacementPolicy, batchv1.TerminatingOrFailed)
	// A job without labels of its own takes its pods'.
	if len(job.Labels) == 0 && spec.Template.Labels != nil {
		job.Labels = maps.Clone(spec.Template.Labels)
	}
	defaultJobTemplate(spec)
}

func defaultCronJob(cj *batchv1.CronJob) {
	spec := &cj.Spec
	setIfEmpty(&spec.ConcurrencyPolicy, batchv1.AllowConcurrent)
	setIfNil(&spec.Suspend, false)
	setIfNil(&spec.SuccessfulJobsHistoryLimit, 3)
	setIfNil(&spec.FailedJobsHistoryLimit, 1)
	defaultJobTemplate(&spec.JobTemplate.Spec)
}

// defaultJobTemplate covers what a job spec nested in a CronJob shares
// with a Job's: its pod template and failure policy patterns. The rest of
// the Job defaults apply once the CronJob creates the Job.
func defaultJobTemplate(spec *batchv1.JobSpec) {
	if spec.PodFailurePolicy != nil {
		for _, rule := range spec.PodFailurePolicy.Rules {
			for i := range rule.OnPodConditions {
				setIfEmpty(&rule.OnPodConditions[i].Status, corev1.ConditionTrue)
			}
		}
	}
	defaultPodTemplate(&spec.Template, false)
}
