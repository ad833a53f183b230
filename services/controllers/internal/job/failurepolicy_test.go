package job

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestMatchFailurePolicy(t *testing.T) {
	onExit := func(action batchv1.PodFailurePolicyAction, op batchv1.PodFailurePolicyOnExitCodesOperator, codes ...int32) batchv1.PodFailurePolicyRule {
		return batchv1.PodFailurePolicyRule{Action: action, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: op, Values: codes}}
	}
	onCond := func(action batchv1.PodFailurePolicyAction, c corev1.PodConditionType) batchv1.PodFailurePolicyRule {
		return batchv1.PodFailurePolicyRule{Action: action, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: c, Status: corev1.ConditionTrue}}}
	}
	in, notIn := batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn
	failJob, ignore, count := batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore, batchv1.PodFailurePolicyActionCount
	for _, tc := range []struct {
		name    string
		rules   []batchv1.PodFailurePolicyRule
		pod     *corev1.Pod
		want    policyMatch
		noRules bool
	}{
		{name: "no policy counts", noRules: true, pod: pod("p", corev1.PodFailed, exitCode(1, t0)), want: policyMatch{count: true}},
		{name: "no rule matches counts", rules: []batchv1.PodFailurePolicyRule{onExit(failJob, in, 42)},
			pod: pod("p", corev1.PodFailed, exitCode(1, t0)), want: policyMatch{count: true}},
		{name: "FailJob on exit code", rules: []batchv1.PodFailurePolicyRule{onExit(failJob, in, 42)},
			pod:  pod("p", corev1.PodFailed, exitCode(42, t0)),
			want: policyMatch{action: failJob, count: true, failJob: "Container c for pod ns/p failed with exit code 42 matching FailJob rule at index 0"}},
		{name: "NotIn", rules: []batchv1.PodFailurePolicyRule{onExit(count, notIn, 1, 2)},
			pod: pod("p", corev1.PodFailed, exitCode(3, t0)), want: policyMatch{action: count, count: true}},
		{name: "exit code 0 never matches", rules: []batchv1.PodFailurePolicyRule{onExit(failJob, notIn, 1)},
			pod: pod("p", corev1.PodFailed, exitCode(0, t0)), want: policyMatch{count: true}},
		{name: "Ignore on condition", rules: []batchv1.PodFailurePolicyRule{onCond(ignore, corev1.DisruptionTarget)},
			pod: pod("p", corev1.PodFailed, withCondition(corev1.DisruptionTarget)), want: policyMatch{action: ignore}},
		{name: "first matching rule wins", rules: []batchv1.PodFailurePolicyRule{onExit(ignore, in, 5), onExit(failJob, in, 5)},
			pod: pod("p", corev1.PodFailed, exitCode(5, t0)), want: policyMatch{action: ignore}},
		{name: "FailJob on condition", rules: []batchv1.PodFailurePolicyRule{onCond(failJob, corev1.DisruptionTarget)},
			pod:  pod("p", corev1.PodFailed, withCondition(corev1.DisruptionTarget)),
			want: policyMatch{action: failJob, count: true, failJob: "Pod ns/p has condition DisruptionTarget matching FailJob rule at index 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var policy *batchv1.PodFailurePolicy
			if !tc.noRules {
				policy = &batchv1.PodFailurePolicy{Rules: tc.rules}
			}
			if got := matchFailurePolicy(policy, tc.pod); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
