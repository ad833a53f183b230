package job

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// policyMatch is what spec.podFailurePolicy says of a failed pod.
type policyMatch struct {
	// action is the action of the first matching rule ("" if none).
	action batchv1.PodFailurePolicyAction
	// count: the failure counts against backoffLimit (not Ignore).
	count bool
	// failJob is the Job's failure message when the action is FailJob.
	failJob string
}

// matchFailurePolicy applies the rules of policy, in order, to a failed
// pod: the first rule whose exit codes (of a terminated container, not 0)
// or pod conditions match decides. No match, or no policy, counts the
// failure. FailIndex needs backoffLimitPerIndex, which this controller
// does not run: such rules are passed over.
func matchFailurePolicy(policy *batchv1.PodFailurePolicy, pod *corev1.Pod) policyMatch {
	if policy == nil {
		return policyMatch{count: true}
	}
	for i, rule := range policy.Rules {
		var failJob string
		switch {
		case rule.OnExitCodes != nil:
			cs := matchExitCodes(pod, rule.OnExitCodes)
			if cs == nil {
				continue
			}
			failJob = fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
				cs.Name, pod.Namespace, pod.Name, cs.State.Terminated.ExitCode, rule.Action, i)
		case rule.OnPodConditions != nil:
			cond := matchPodConditions(pod, rule.OnPodConditions)
			if cond == nil {
				continue
			}
			failJob = fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d",
				pod.Namespace, pod.Name, cond.Type, rule.Action, i)
		default:
			continue
		}
		switch rule.Action {
		case batchv1.PodFailurePolicyActionIgnore:
			return policyMatch{action: rule.Action}
		case batchv1.PodFailurePolicyActionCount:
			return policyMatch{action: rule.Action, count: true}
		case batchv1.PodFailurePolicyActionFailJob:
			return policyMatch{action: rule.Action, count: true, failJob: failJob}
		}
	}
	return policyMatch{count: true}
}

// matchExitCodes returns the first terminated container (then init
// container) whose non-zero exit code the requirement matches.
func matchExitCodes(pod *corev1.Pod, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for i := range list {
			cs := &list[i]
			t := cs.State.Terminated
			if t == nil || t.ExitCode == 0 {
				continue
			}
			if req.ContainerName != nil && *req.ContainerName != cs.Name {
				continue
			}
			in := slices.Contains(req.Values, t.ExitCode)
			switch req.Operator {
			case batchv1.PodFailurePolicyOnExitCodesOpIn:
				if in {
					return cs
				}
			case batchv1.PodFailurePolicyOnExitCodesOpNotIn:
				if !in {
					return cs
				}
			}
		}
	}
	return nil
}

func matchPodConditions(pod *corev1.Pod, patterns []batchv1.PodFailurePolicyOnPodConditionsPattern) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		c := &pod.Status.Conditions[i]
		for _, p := range patterns {
			status := p.Status
			if status == "" {
				status = corev1.ConditionTrue
			}
			if c.Type == p.Type && c.Status == status {
				return c
			}
		}
	}
	return nil
}

// failJobMessage is the message of the first failed pod a FailJob rule
// matches, or "".
func failJobMessage(job *batchv1.Job, pods []*corev1.Pod) string {
	if job.Spec.PodFailurePolicy == nil {
		return ""
	}
	for _, p := range pods {
		if isPodFailed(p, job) {
			if m := matchFailurePolicy(job.Spec.PodFailurePolicy, p); m.failJob != "" {
				return m.failJob
			}
		}
	}
	return ""
}
