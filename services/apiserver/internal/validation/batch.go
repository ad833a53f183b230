package validation

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	// The labels the Job strategy puts on the pod template when it
	// generates the selector.
	jobControllerUIDLabel       = batchv1.ControllerUidLabel
	jobNameLabel                = batchv1.JobNameLabel
	legacyJobControllerUIDLabel = "controller-uid"
	legacyJobNameLabel          = "job-name"

	maxParallelismForIndexedJob    = 100000
	maxFailedIndexesForIndexedJob  = 100_000
	maxManagedByLength             = 63
	maxPodFailurePolicyRules       = 20
	maxPodFailurePolicyExitCodes   = 255
	maxPodFailurePolicyPatterns    = 20
	maxCronJobNameLength           = utilvalidation.DNS1035LabelMaxLength - 11
	cronJobNameTooLongErrorMessage = "must be no more than 52 characters"
)

var (
	supportedPodFailurePolicyActions = sets.New(batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailIndex,
		batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore)
	supportedExitCodesOperators = sets.New(batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn)
	supportedConditionStatuses  = sets.New(corev1.ConditionFalse, corev1.ConditionTrue, corev1.ConditionUnknown)
	supportedPodReplacements    = sets.New(batchv1.Failed, batchv1.TerminatingOrFailed)
	validTimeZoneCharacters     = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)
)

// Jobs.

func validateJobCreate(job *batchv1.Job) field.ErrorList {
	errs := validateJob(job, true)
	if deref(job.Spec.CompletionMode, "") == batchv1.IndexedCompletion && deref(job.Spec.Completions, 0) > 0 {
		host := fmt.Sprintf("%s-%d", job.Name, *job.Spec.Completions-1)
		if len(utilvalidation.IsDNS1123Label(host)) > 0 {
			errs = append(errs, field.Invalid(metaPath.Child("name"), job.Name,
				fmt.Sprintf("will not able to create pod with invalid DNS label: %s", host)))
		}
	}
	return errs
}

// validateJob is what create and update share: metadata, the generated
// selector and the spec.
func validateJob(job *batchv1.Job, requirePrefixedLabels bool) field.ErrorList {
	errs := validateMeta(&job.ObjectMeta, true, nameIsDNSSubdomain)
	errs = append(errs, validateGeneratedSelector(job, requirePrefixedLabels)...)
	return append(errs, validateJobSpecWithSelector(&job.Spec, specPath)...)
}

// validateGeneratedSelector checks, unless the selector is manual, that
// the template carries the labels the generated selector selects.
func validateGeneratedSelector(job *batchv1.Job, requirePrefixedLabels bool) field.ErrorList {
	if deref(job.Spec.ManualSelector, false) || job.Spec.Selector == nil {
		return nil
	}
	var errs field.ErrorList
	if job.UID == "" {
		errs = append(errs, field.Required(metaPath.Child("uid"), ""))
	}
	tmplMeta := specPath.Child("template").Child("metadata")
	expected := map[string]string{}
	want := []string{legacyJobControllerUIDLabel, legacyJobNameLabel}
	if requirePrefixedLabels {
		want = append(want, jobControllerUIDLabel, jobNameLabel)
	}
	for _, key := range want {
		value := string(job.UID)
		if key == legacyJobNameLabel || key == jobNameLabel {
			value = job.Name
		}
		errs = append(errs, validateHasLabel(job.Spec.Template.Labels, key, value, tmplMeta)...)
		expected[key] = value
	}
	if sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !sel.Matches(labels.Set(expected)) {
		errs = append(errs, field.Invalid(specPath.Child("selector"), job.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

func validateHasLabel(l map[string]string, key, value string, fldPath *field.Path) field.ErrorList {
	actual, ok := l[key]
	switch {
	case !ok:
		return field.ErrorList{field.Required(fldPath.Child("labels").Key(key), fmt.Sprintf("must be '%s'", value))}
	case actual != value:
		return field.ErrorList{field.Invalid(fldPath.Child("labels").Key(key), l, fmt.Sprintf("must be '%s'", value))}
	}
	return nil
}

// validateJobSpecWithSelector adds the selector rules to validateJobSpec:
// required, valid, selecting the template.
func validateJobSpecWithSelector(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	errs := validateJobSpec(spec, fldPath)
	if spec.Selector == nil {
		errs = append(errs, field.Required(fldPath.Child("selector"), ""))
	} else {
		errs = append(errs, validateLabelSelector(spec.Selector, fldPath.Child("selector"))...)
	}
	if sel, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !sel.Matches(labels.Set(spec.Template.Labels)) {
		errs = append(errs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, selectorMismatchMsg))
	}
	return errs
}

// validateJobSpec checks a Job's spec, as in a Job or a CronJob's template.
func validateJobSpec(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct {
		name string
		v    *int32
	}{
		{"parallelism", spec.Parallelism}, {"completions", spec.Completions}, {"backoffLimit", spec.BackoffLimit},
		{"ttlSecondsAfterFinished", spec.TTLSecondsAfterFinished}, {"backoffLimitPerIndex", spec.BackoffLimitPerIndex},
	} {
		errs = append(errs, validateOptionalNonnegative(f.v, fldPath.Child(f.name))...)
	}
	if ads := spec.ActiveDeadlineSeconds; ads != nil {
		errs = append(errs, validateNonnegative(*ads, fldPath.Child("activeDeadlineSeconds"))...)
	}
	if spec.MaxFailedIndexes != nil {
		errs = append(errs, validateNonnegative(int64(*spec.MaxFailedIndexes), fldPath.Child("maxFailedIndexes"))...)
		if spec.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Required(fldPath.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
		}
	}
	if mb := spec.ManagedBy; mb != nil {
		errs = append(errs, utilvalidation.IsDomainPrefixedPath(fldPath.Child("managedBy"), *mb)...)
		if len(*mb) > maxManagedByLength {
			errs = append(errs, field.TooLong(fldPath.Child("managedBy"), "", maxManagedByLength))
		}
	}
	errs = append(errs, validateCompletionMode(spec, fldPath)...)
	if spec.PodFailurePolicy != nil {
		errs = append(errs, validatePodFailurePolicy(spec, fldPath.Child("podFailurePolicy"))...)
	}
	if spec.SuccessPolicy != nil && deref(spec.CompletionMode, batchv1.NonIndexedCompletion) != batchv1.IndexedCompletion {
		errs = append(errs, field.Invalid(fldPath.Child("successPolicy"), *spec.SuccessPolicy, "requires indexed completion mode"))
	}
	if prp := spec.PodReplacementPolicy; prp != nil {
		if spec.PodFailurePolicy != nil && *prp != batchv1.Failed {
			errs = append(errs, field.NotSupported(fldPath.Child("podReplacementPolicy"), *prp, []batchv1.PodReplacementPolicy{batchv1.Failed}))
		} else if spec.PodFailurePolicy == nil && !supportedPodReplacements.Has(*prp) {
			errs = append(errs, field.NotSupported(fldPath.Child("podReplacementPolicy"), *prp, sets.List(supportedPodReplacements)))
		}
	}
	errs = append(errs, validatePodTemplateSpec(&spec.Template, fldPath.Child("template"))...)
	return append(errs, validateJobRestartPolicy(spec, fldPath.Child("template", "spec", "restartPolicy"))...)
}

func validateCompletionMode(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	mode := deref(spec.CompletionMode, batchv1.NonIndexedCompletion)
	if spec.CompletionMode != nil && mode != batchv1.NonIndexedCompletion && mode != batchv1.IndexedCompletion {
		errs = append(errs, field.NotSupported(fldPath.Child("completionMode"), spec.CompletionMode,
			[]batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
	}
	switch mode {
	case batchv1.IndexedCompletion:
		if spec.Completions == nil {
			errs = append(errs, field.Required(fldPath.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
		}
		if p := spec.Parallelism; p != nil && *p > maxParallelismForIndexedJob {
			errs = append(errs, field.Invalid(fldPath.Child("parallelism"), *p,
				fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batchv1.IndexedCompletion)))
		}
		if mfi := spec.MaxFailedIndexes; mfi != nil {
			if spec.Completions != nil && *mfi > *spec.Completions {
				errs = append(errs, field.Invalid(fldPath.Child("maxFailedIndexes"), *mfi, "must be less than or equal to completions"))
			}
			if *mfi > maxFailedIndexesForIndexedJob {
				errs = append(errs, field.Invalid(fldPath.Child("maxFailedIndexes"), *mfi,
					fmt.Sprintf("must be less than or equal to %d", maxFailedIndexesForIndexedJob)))
			}
		}
	case batchv1.NonIndexedCompletion:
		if spec.BackoffLimitPerIndex != nil {
			errs = append(errs, field.Invalid(fldPath.Child("backoffLimitPerIndex"), *spec.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
		if spec.MaxFailedIndexes != nil {
			errs = append(errs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "requires indexed completion mode"))
		}
	}
	return errs
}

// validateJobRestartPolicy: a Job's pods end, so they restart OnFailure or
// Never, and only Never with a pod failure policy.
func validateJobRestartPolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	rp := spec.Template.Spec.RestartPolicy
	switch {
	case rp == corev1.RestartPolicyAlways || rp == "":
		return field.ErrorList{field.Required(fldPath, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever))}
	case rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever:
		return field.ErrorList{field.NotSupported(fldPath, rp, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever})}
	case spec.PodFailurePolicy != nil && rp != corev1.RestartPolicyNever:
		return field.ErrorList{field.Invalid(fldPath, rp, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever))}
	}
	return nil
}

func validatePodFailurePolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	rulesPath := fldPath.Child("rules")
	rules := spec.PodFailurePolicy.Rules
	if len(rules) > maxPodFailurePolicyRules {
		errs = append(errs, field.TooMany(rulesPath, len(rules), maxPodFailurePolicyRules))
	}
	names := sets.New[string]()
	for _, c := range append(append([]corev1.Container{}, spec.Template.Spec.Containers...), spec.Template.Spec.InitContainers...) {
		names.Insert(c.Name)
	}
	for i := range rules {
		errs = append(errs, validatePodFailurePolicyRule(spec, &rules[i], names, rulesPath.Index(i))...)
	}
	return errs
}

func validatePodFailurePolicyRule(spec *batchv1.JobSpec, rule *batchv1.PodFailurePolicyRule, names sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	actionPath := fldPath.Child("action")
	switch {
	case rule.Action == "":
		errs = append(errs, field.Required(actionPath, fmt.Sprintf("valid values: %q", sets.List(supportedPodFailurePolicyActions))))
	case rule.Action == batchv1.PodFailurePolicyActionFailIndex && spec.BackoffLimitPerIndex == nil:
		errs = append(errs, field.Invalid(actionPath, rule.Action, "requires the backoffLimitPerIndex to be set"))
	case !supportedPodFailurePolicyActions.Has(rule.Action):
		errs = append(errs, field.NotSupported(actionPath, rule.Action, sets.List(supportedPodFailurePolicyActions)))
	}
	if rule.OnExitCodes != nil {
		errs = append(errs, validateOnExitCodes(rule.OnExitCodes, names, fldPath.Child("onExitCodes"))...)
	}
	if len(rule.OnPodConditions) > 0 {
		errs = append(errs, validateOnPodConditions(rule.OnPodConditions, fldPath.Child("onPodConditions"))...)
	}
	switch {
	case rule.OnExitCodes != nil && len(rule.OnPodConditions) > 0:
		errs = append(errs, field.Invalid(fldPath, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
	case rule.OnExitCodes == nil && len(rule.OnPodConditions) == 0:
		errs = append(errs, field.Invalid(fldPath, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
	}
	return errs
}

func validateOnExitCodes(req *batchv1.PodFailurePolicyOnExitCodesRequirement, names sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	opPath := fldPath.Child("operator")
	switch {
	case req.Operator == "":
		errs = append(errs, field.Required(opPath, fmt.Sprintf("valid values: %q", sets.List(supportedExitCodesOperators))))
	case !supportedExitCodesOperators.Has(req.Operator):
		errs = append(errs, field.NotSupported(opPath, req.Operator, sets.List(supportedExitCodesOperators)))
	}
	if req.ContainerName != nil && !names.Has(*req.ContainerName) {
		errs = append(errs, field.Invalid(fldPath.Child("containerName"), *req.ContainerName,
			"must be one of the container or initContainer names in the pod template"))
	}
	valuesPath := fldPath.Child("values")
	switch {
	case len(req.Values) == 0:
		errs = append(errs, field.Invalid(valuesPath, req.Values, "at least one value is required"))
	case len(req.Values) > maxPodFailurePolicyExitCodes:
		errs = append(errs, field.TooMany(valuesPath, len(req.Values), maxPodFailurePolicyExitCodes))
	}
	ordered := true
	seen := sets.New[int32]()
	for i, v := range req.Values {
		if req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && v == 0 {
			errs = append(errs, field.Invalid(valuesPath.Index(i), v, "must not be 0 for the In operator"))
		}
		if seen.Has(v) {
			errs = append(errs, field.Duplicate(valuesPath.Index(i), v))
		}
		seen.Insert(v)
		if i > 0 && req.Values[i-1] > v {
			ordered = false
		}
	}
	if !ordered {
		errs = append(errs, field.Invalid(valuesPath, req.Values, "must be ordered"))
	}
	return errs
}

func validateOnPodConditions(patterns []batchv1.PodFailurePolicyOnPodConditionsPattern, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(patterns) > maxPodFailurePolicyPatterns {
		errs = append(errs, field.TooMany(fldPath, len(patterns), maxPodFailurePolicyPatterns))
	}
	for i, p := range patterns {
		pp := fldPath.Index(i)
		errs = append(errs, validateQualifiedName(string(p.Type), pp.Child("type"))...)
		switch {
		case p.Status == "":
			errs = append(errs, field.Required(pp.Child("status"), fmt.Sprintf("valid values: %q", sets.List(supportedConditionStatuses))))
		case !supportedConditionStatuses.Has(p.Status):
			errs = append(errs, field.NotSupported(pp.Child("status"), p.Status, sets.List(supportedConditionStatuses)))
		}
	}
	return errs
}

// validateJobUpdate: the selector, the completion mode and the failure
// policies are fixed; completions may change only for indexed Jobs, along
// with parallelism; the template only while the Job is suspended, and
// then only its scheduling directives, labels and annotations.
func validateJobUpdate(job, old *batchv1.Job) field.ErrorList {
	_, oldHasPrefixed := old.Spec.Template.Labels[jobControllerUIDLabel]
	errs := validateJob(job, oldHasPrefixed)
	errs = append(errs, validateMetaUpdate(&job.ObjectMeta, &old.ObjectMeta)...)
	spec, oldSpec := &job.Spec, &old.Spec
	errs = append(errs, validateCompletionsUpdate(spec, oldSpec)...)
	errs = append(errs, validateImmutable(spec.Selector, oldSpec.Selector, specPath.Child("selector"))...)
	mutableScheduling := deref(oldSpec.Suspend, false) && old.Status.StartTime == nil
	errs = append(errs, validateImmutable(&spec.Template, jobTemplateForUpdate(spec, oldSpec, mutableScheduling), specPath.Child("template"))...)
	errs = append(errs, validateImmutable(spec.CompletionMode, oldSpec.CompletionMode, specPath.Child("completionMode"))...)
	errs = append(errs, validateImmutable(spec.PodFailurePolicy, oldSpec.PodFailurePolicy, specPath.Child("podFailurePolicy"))...)
	errs = append(errs, validateImmutable(spec.BackoffLimitPerIndex, oldSpec.BackoffLimitPerIndex, specPath.Child("backoffLimitPerIndex"))...)
	errs = append(errs, validateImmutable(spec.ManagedBy, oldSpec.ManagedBy, specPath.Child("managedBy"))...)
	return append(errs, validateImmutable(spec.SuccessPolicy, oldSpec.SuccessPolicy, specPath.Child("successPolicy"))...)
}

// jobTemplateForUpdate returns the old template with the fields the update
// may change taken from the new one.
func jobTemplateForUpdate(spec, old *batchv1.JobSpec, mutableScheduling bool) *corev1.PodTemplateSpec {
	t := old.Template.DeepCopy()
	if !mutableScheduling {
		return t
	}
	nt := &spec.Template
	switch {
	case nt.Spec.Affinity == nil && t.Spec.Affinity != nil:
		t.Spec.Affinity.NodeAffinity = nil
		if apiequality.Semantic.DeepEqual(*t.Spec.Affinity, corev1.Affinity{}) {
			t.Spec.Affinity = nil
		}
	case nt.Spec.Affinity != nil && t.Spec.Affinity == nil:
		t.Spec.Affinity = &corev1.Affinity{NodeAffinity: nt.Spec.Affinity.NodeAffinity}
	case nt.Spec.Affinity != nil && t.Spec.Affinity != nil:
		t.Spec.Affinity.NodeAffinity = nt.Spec.Affinity.NodeAffinity
	}
	t.Spec.NodeSelector = nt.Spec.NodeSelector
	t.Spec.Tolerations = nt.Spec.Tolerations
	t.Annotations = nt.Annotations
	t.Labels = nt.Labels
	t.Spec.SchedulingGates = nt.Spec.SchedulingGates
	return t
}

func validateCompletionsUpdate(spec, old *batchv1.JobSpec) field.ErrorList {
	p := specPath.Child("completions")
	if deref(spec.CompletionMode, "") != batchv1.IndexedCompletion {
		return validateImmutable(spec.Completions, old.Completions, p)
	}
	if equalPtr(spec.Completions, old.Completions) || spec.Completions == nil {
		return nil
	}
	if !equalPtr(spec.Completions, spec.Parallelism) {
		return field.ErrorList{field.Invalid(p, spec.Completions, fmt.Sprintf("can only be modified in tandem with %s", specPath.Child("parallelism")))}
	}
	return nil
}

// validateJobStatusUpdate checks the counters and the conditions that may
// never be true together.
func validateJobStatusUpdate(job, old *batchv1.Job) field.ErrorList {
	s := &job.Status
	errs := validateMetaUpdate(&job.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateNonnegativeCounts([]replicaCount{
		{"active", s.Active}, {"succeeded", s.Succeeded}, {"failed", s.Failed},
	})...)
	errs = append(errs, validateOptionalNonnegative(s.Ready, statusPath.Child("ready"))...)
	errs = append(errs, validateOptionalNonnegative(s.Terminating, statusPath.Child("terminating"))...)
	if u := s.UncountedTerminatedPods; u != nil {
		p := statusPath.Child("uncountedTerminatedPods")
		seen := sets.New[string]()
		for _, list := range []struct {
			name string
			uids []string
		}{{"succeeded", uidStrings(u.Succeeded)}, {"failed", uidStrings(u.Failed)}} {
			for i, uid := range list.uids {
				ip := p.Child(list.name).Index(i)
				switch {
				case uid == "":
					errs = append(errs, field.Invalid(ip, uid, "must not be empty"))
				case seen.Has(uid):
					errs = append(errs, field.Duplicate(ip, uid))
				default:
					seen.Insert(uid)
				}
			}
		}
	}
	condPath := statusPath.Child("conditions")
	if jobCondition(job, batchv1.JobSuccessCriteriaMet) && jobCondition(job, batchv1.JobFailed) {
		errs = append(errs, field.Invalid(condPath, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True and Failed=true conditions"))
	}
	if jobCondition(job, batchv1.JobSuccessCriteriaMet) && jobCondition(job, batchv1.JobFailureTarget) {
		errs = append(errs, field.Invalid(condPath, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions"))
	}
	if jobCondition(old, batchv1.JobSuccessCriteriaMet) && !jobCondition(job, batchv1.JobSuccessCriteriaMet) {
		errs = append(errs, field.Invalid(condPath, field.OmitValueType{}, "cannot disable the SuccessCriteriaMet=True condition"))
	}
	return errs
}

func uidStrings[T ~string](uids []T) []string {
	out := make([]string, len(uids))
	for i, u := range uids {
		out[i] = string(u)
	}
	return out
}

func jobCondition(job *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// CronJobs.

func validateCronJobCreate(cj *batchv1.CronJob) field.ErrorList {
	errs := validateMeta(&cj.ObjectMeta, true, nameIsDNSSubdomain)
	errs = append(errs, validateCronJobSpec(&cj.Spec, nil)...)
	if len(cj.Name) > maxCronJobNameLength {
		// The controller appends 11 characters to name the Jobs.
		errs = append(errs, field.Invalid(metaPath.Child("name"), cj.Name, cronJobNameTooLongErrorMessage))
	}
	return errs
}

func validateCronJobUpdate(cj, old *batchv1.CronJob) field.ErrorList {
	errs := validateMetaUpdate(&cj.ObjectMeta, &old.ObjectMeta)
	return append(errs, validateCronJobSpec(&cj.Spec, &old.Spec)...)
}

func validateCronJobStatusUpdate(cj, old *batchv1.CronJob) field.ErrorList {
	return validateMetaUpdate(&cj.ObjectMeta, &old.ObjectMeta)
}

func validateCronJobSpec(spec, old *batchv1.CronJobSpec) field.ErrorList {
	var errs field.ErrorList
	if spec.Schedule == "" {
		errs = append(errs, field.Required(specPath.Child("schedule"), ""))
	} else {
		allowTZ := old != nil && strings.Contains(old.Schedule, "TZ")
		errs = append(errs, validateSchedule(spec.Schedule, allowTZ, spec.TimeZone, specPath.Child("schedule"))...)
	}
	if sds := spec.StartingDeadlineSeconds; sds != nil {
		errs = append(errs, validateNonnegative(*sds, specPath.Child("startingDeadlineSeconds"))...)
	}
	if old == nil || !equalPtr(old.TimeZone, spec.TimeZone) {
		errs = append(errs, validateTimeZone(spec.TimeZone, specPath.Child("timeZone"))...)
	}
	switch spec.ConcurrencyPolicy {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	case "":
		errs = append(errs, field.Required(specPath.Child("concurrencyPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(specPath.Child("concurrencyPolicy"), spec.ConcurrencyPolicy,
			[]batchv1.ConcurrencyPolicy{batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent}))
	}
	errs = append(errs, validateJobTemplateSpec(&spec.JobTemplate, specPath.Child("jobTemplate"))...)
	errs = append(errs, validateOptionalNonnegative(spec.SuccessfulJobsHistoryLimit, specPath.Child("successfulJobsHistoryLimit"))...)
	return append(errs, validateOptionalNonnegative(spec.FailedJobsHistoryLimit, specPath.Child("failedJobsHistoryLimit"))...)
}

func validateSchedule(schedule string, allowTZ bool, timeZone *string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if err := parseCronSchedule(schedule); err != nil {
		errs = append(errs, field.Invalid(fldPath, schedule, err.Error()))
	}
	switch {
	case allowTZ && strings.Contains(schedule, "TZ") && timeZone != nil:
		errs = append(errs, field.Invalid(fldPath, schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
	case !allowTZ && strings.Contains(schedule, "TZ"):
		errs = append(errs, field.Invalid(fldPath, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	}
	return errs
}

// validateTimeZone requires an IANA time zone name known to this machine.
func validateTimeZone(tz *string, fldPath *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.TooShort(fldPath, *tz, 1)}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZoneCharacters.MatchString(part) {
			return field.ErrorList{field.Invalid(fldPath, tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	var errs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		errs = append(errs, field.Invalid(fldPath, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		errs = append(errs, field.Invalid(fldPath, tz, err.Error()))
	}
	return errs
}

// validateJobTemplateSpec checks a CronJob's Job template, whose selector
// the API server generates for each Job.
func validateJobTemplateSpec(t *batchv1.JobTemplateSpec, fldPath *field.Path) field.ErrorList {
	jobSpecPath := fldPath.Child("spec")
	errs := validateJobSpec(&t.Spec, jobSpecPath)
	if t.Spec.Selector != nil {
		errs = append(errs, field.Invalid(jobSpecPath.Child("selector"), t.Spec.Selector, "`selector` will be auto-generated"))
	}
	if deref(t.Spec.ManualSelector, false) {
		errs = append(errs, field.NotSupported(jobSpecPath.Child("manualSelector"), t.Spec.ManualSelector, []string{"nil", "false"}))
	}
	return errs
}
