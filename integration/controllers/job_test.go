package controllers_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// jobManifest is a Job running busybox with the given env (the simulated
// runtime's FAKE_* script) and spec additions (YAML lines indented under
// spec:).
func jobManifest(name, extraSpec string, env map[string]string) string {
	var envYAML strings.Builder
	if len(env) > 0 {
		envYAML.WriteString("        env:\n")
		for k, v := range env {
			fmt.Fprintf(&envYAML, "        - name: %s\n          value: %q\n", k, v)
		}
	}
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
spec:
%s  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: %s
%s`, name, extraSpec, busybox, envYAML.String())
}

// jobStart runs the Job controller (and others), the scheduler and n
// simulated nodes.
func jobStart(t *testing.T, controllers string, nodes int) *env {
	e := newEnv(t)
	e.startControllers("--controllers=" + controllers)
	e.startScheduler()
	e.startSimulatedNodes("jobnode", nodes)
	return e
}

func (e *env) job(name string) *batchv1.Job {
	e.t.Helper()
	j, err := e.kube.BatchV1().Jobs("default").Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

func jobCondition(j *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if c := &j.Status.Conditions[i]; c.Type == t && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// jobAwait waits until the Job has condition t (Complete or Failed).
func (e *env) jobAwait(name string, t batchv1.JobConditionType, timeout time.Duration) *batchv1.Job {
	e.t.Helper()
	var j *batchv1.Job
	e.eventually(timeout, fmt.Sprintf("job %s %s", name, t), func() (bool, error) {
		var err error
		j, err = e.kube.BatchV1().Jobs("default").Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if other := map[batchv1.JobConditionType]batchv1.JobConditionType{batchv1.JobComplete: batchv1.JobFailed, batchv1.JobFailed: batchv1.JobComplete}[t]; jobCondition(j, other) != nil {
			e.t.Fatalf("job %s is %s, wanted %s: %+v", name, other, t, j.Status)
		}
		return jobCondition(j, t) != nil, fmt.Errorf("status %+v", j.Status)
	})
	return j
}

func (e *env) jobPods(name string) []corev1.Pod {
	e.t.Helper()
	list, err := e.kube.CoreV1().Pods("default").List(e.ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + name})
	if err != nil {
		e.t.Fatal(err)
	}
	return list.Items
}

// jobAwaitFinalizersGone waits until no pod of the Job holds the
// tracking finalizer (every pod is counted).
func (e *env) jobAwaitFinalizersGone(name string) {
	e.t.Helper()
	e.eventually(30*time.Second, "tracking finalizers of "+name+" removed", func() (bool, error) {
		for _, p := range e.jobPods(name) {
			for _, f := range p.Finalizers {
				if f == batchv1.JobTrackingFinalizer {
					return false, fmt.Errorf("pod %s still has it", p.Name)
				}
			}
		}
		return true, nil
	})
}

// jobEvents returns the reasons of the Job's events.
func (e *env) jobEvents(name string) map[string]int {
	e.t.Helper()
	list, err := e.kube.CoreV1().Events("default").List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, ev := range list.Items {
		if ev.InvolvedObject.Kind == "Job" && ev.InvolvedObject.Name == name {
			out[ev.Reason] += int(max(ev.Count, 1))
		}
	}
	return out
}

func (e *env) jobAwaitEvent(name, reason string) {
	e.t.Helper()
	e.eventually(20*time.Second, fmt.Sprintf("event %s on job %s", reason, name), func() (bool, error) {
		return e.jobEvents(name)[reason] > 0, nil
	})
}

// TestJobCompletions: a Job of 3 completions, 2 at a time, runs 3 pods
// that succeed and completes, with Kubernetes' status, labels, finalizer
// tracking and events.
func TestJobCompletions(t *testing.T) {
	e := jobStart(t, "job", 2)
	e.kubectlIn(jobManifest("pi", "  completions: 3\n  parallelism: 2\n", map[string]string{"FAKE_RUN_FOR": "1s"}), "apply", "-f", "-")
	e.eventually(20*time.Second, "2 pods at a time", func() (bool, error) {
		j := e.job("pi")
		return j.Status.Active == 2, fmt.Errorf("active %d", j.Status.Active)
	})
	j := e.jobAwait("pi", batchv1.JobComplete, time.Minute)
	if j.Status.Succeeded != 3 || j.Status.Failed != 0 || j.Status.Active != 0 {
		t.Errorf("counts: succeeded %d failed %d active %d", j.Status.Succeeded, j.Status.Failed, j.Status.Active)
	}
	if j.Status.StartTime == nil || j.Status.CompletionTime == nil || j.Status.CompletionTime.Before(j.Status.StartTime) {
		t.Errorf("start %v completion %v", j.Status.StartTime, j.Status.CompletionTime)
	}
	if c := jobCondition(j, batchv1.JobSuccessCriteriaMet); c == nil || c.Reason != batchv1.JobReasonCompletionsReached {
		t.Errorf("no SuccessCriteriaMet before Complete: %+v", j.Status.Conditions)
	}
	if u := j.Status.UncountedTerminatedPods; u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
		t.Errorf("uncounted pods left: %+v", u)
	}
	pods := e.jobPods("pi")
	if len(pods) != 3 {
		t.Errorf("%d pods, want 3", len(pods))
	}
	for _, p := range pods {
		if p.Status.Phase != corev1.PodSucceeded || p.Labels[batchv1.ControllerUidLabel] != string(j.UID) ||
			p.Labels["controller-uid"] != string(j.UID) || p.Labels["job-name"] != "pi" || !strings.HasPrefix(p.Name, "pi-") {
			t.Errorf("pod %s: phase %s labels %v", p.Name, p.Status.Phase, p.Labels)
		}
	}
	e.jobAwaitFinalizersGone("pi")
	e.jobAwaitEvent("pi", "Completed")
	if ev := e.jobEvents("pi"); ev["SuccessfulCreate"] != 3 {
		t.Errorf("events %v, want 3 SuccessfulCreate", ev)
	}
	if out := e.kubectl("get", "job", "pi"); !strings.Contains(out, "3/3") {
		t.Errorf("kubectl get job:\n%s", out)
	}
}

// TestJobBackoffLimit: pods that keep failing are replaced after the
// back-off until backoffLimit is passed; then the Job fails with
// BackoffLimitExceeded (FailureTarget first).
func TestJobBackoffLimit(t *testing.T) {
	e := jobStart(t, "job", 1)
	e.kubectlIn(jobManifest("fails", "  backoffLimit: 1\n", map[string]string{"FAKE_RUN_FOR": "1s", "FAKE_EXIT_CODE": "3"}), "apply", "-f", "-")
	j := e.jobAwait("fails", batchv1.JobFailed, 90*time.Second)
	c := jobCondition(j, batchv1.JobFailed)
	if c.Reason != batchv1.JobReasonBackoffLimitExceeded || c.Message != "Job has reached the specified backoff limit" {
		t.Errorf("Failed condition %+v", c)
	}
	if ft := jobCondition(j, batchv1.JobFailureTarget); ft == nil || ft.Reason != batchv1.JobReasonBackoffLimitExceeded {
		t.Errorf("no FailureTarget: %+v", j.Status.Conditions)
	}
	if j.Status.Failed != 2 || j.Status.Succeeded != 0 || j.Status.Active != 0 || j.Status.CompletionTime != nil {
		t.Errorf("status %+v", j.Status)
	}
	if pods := e.jobPods("fails"); len(pods) != 2 {
		t.Errorf("%d pods, want 2 (the first and its one replacement)", len(pods))
	}
	e.jobAwaitFinalizersGone("fails")
	e.jobAwaitEvent("fails", "BackoffLimitExceeded")
}

// TestJobIndexed: an Indexed Job runs one pod per index, each knowing
// its index, and records the completed indexes.
func TestJobIndexed(t *testing.T) {
	e := jobStart(t, "job", 2)
	e.kubectlIn(jobManifest("idx", "  completions: 3\n  parallelism: 3\n  completionMode: Indexed\n",
		map[string]string{"FAKE_RUN_FOR": "1s"}), "apply", "-f", "-")
	j := e.jobAwait("idx", batchv1.JobComplete, time.Minute)
	if j.Status.CompletedIndexes != "0-2" || j.Status.Succeeded != 3 {
		t.Errorf("completedIndexes %q succeeded %d", j.Status.CompletedIndexes, j.Status.Succeeded)
	}
	seen := map[string]bool{}
	for _, p := range e.jobPods("idx") {
		ix := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		seen[ix] = true
		if p.Labels[batchv1.JobCompletionIndexAnnotation] != ix || p.Spec.Hostname != "idx-"+ix || !strings.HasPrefix(p.Name, "idx-"+ix+"-") {
			t.Errorf("pod %s: index %q labels %v hostname %q", p.Name, ix, p.Labels, p.Spec.Hostname)
		}
		var env *corev1.EnvVar
		for i := range p.Spec.Containers[0].Env {
			if p.Spec.Containers[0].Env[i].Name == "JOB_COMPLETION_INDEX" {
				env = &p.Spec.Containers[0].Env[i]
			}
		}
		if env == nil || env.ValueFrom == nil || env.ValueFrom.FieldRef == nil {
			t.Errorf("pod %s: no JOB_COMPLETION_INDEX from the index: %+v", p.Name, p.Spec.Containers[0].Env)
		}
	}
	if len(seen) != 3 || !seen["0"] || !seen["1"] || !seen["2"] {
		t.Errorf("indexes %v", seen)
	}
}

// TestJobActiveDeadline: a Job running past activeDeadlineSeconds fails
// with DeadlineExceeded, its pods stopped.
func TestJobActiveDeadline(t *testing.T) {
	e := jobStart(t, "job", 1)
	e.kubectlIn(jobManifest("slow", "  activeDeadlineSeconds: 3\n  parallelism: 2\n  completions: 2\n", nil), "apply", "-f", "-")
	j := e.jobAwait("slow", batchv1.JobFailed, time.Minute)
	if c := jobCondition(j, batchv1.JobFailed); c.Reason != batchv1.JobReasonDeadlineExceeded || c.Message != "Job was active longer than specified deadline" {
		t.Errorf("Failed condition %+v", c)
	}
	if j.Status.Active != 0 || j.Status.Failed != 2 {
		t.Errorf("status %+v", j.Status)
	}
	e.eventually(30*time.Second, "pods of slow gone", func() (bool, error) {
		pods := e.jobPods("slow")
		return len(pods) == 0, fmt.Errorf("%d pods left", len(pods))
	})
	e.jobAwaitEvent("slow", "DeadlineExceeded")
}

// TestJobSuspend: a Job created suspended starts nothing; resumed, it
// runs to completion.
func TestJobSuspend(t *testing.T) {
	e := jobStart(t, "job", 1)
	e.kubectlIn(jobManifest("later", "  suspend: true\n", map[string]string{"FAKE_RUN_FOR": "1s"}), "apply", "-f", "-")
	e.eventually(20*time.Second, "Suspended condition", func() (bool, error) {
		return jobCondition(e.job("later"), batchv1.JobSuspended) != nil, nil
	})
	if pods := e.jobPods("later"); len(pods) != 0 || e.job("later").Status.StartTime != nil {
		t.Fatalf("suspended job has %d pods, start time %v", len(pods), e.job("later").Status.StartTime)
	}
	e.kubectl("patch", "job", "later", "--type=merge", "-p", `{"spec":{"suspend":false}}`)
	j := e.jobAwait("later", batchv1.JobComplete, time.Minute)
	if j.Status.Succeeded != 1 {
		t.Errorf("status %+v", j.Status)
	}
	ev := e.jobEvents("later")
	if ev["Suspended"] == 0 || ev["Resumed"] == 0 {
		t.Errorf("events %v", ev)
	}
}

// TestJobTTLAfterFinished: a finished Job with ttlSecondsAfterFinished is
// deleted by the ttl-after-finished controller.
func TestJobTTLAfterFinished(t *testing.T) {
	e := jobStart(t, "job,ttl-after-finished", 1)
	e.kubectlIn(jobManifest("brief", "  ttlSecondsAfterFinished: 2\n", map[string]string{"FAKE_RUN_FOR": "1s"}), "apply", "-f", "-")
	e.jobAwait("brief", batchv1.JobComplete, time.Minute)
	e.eventually(30*time.Second, "job brief deleted", func() (bool, error) {
		_, err := e.kube.BatchV1().Jobs("default").Get(e.ctx, "brief", metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
}

// TestJobPodFailurePolicy: a pod exiting with a code a FailJob rule names
// fails the Job at once (reason PodFailurePolicy), whatever backoffLimit.
func TestJobPodFailurePolicy(t *testing.T) {
	e := jobStart(t, "job", 1)
	e.kubectlIn(jobManifest("strict", `  backoffLimit: 6
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes:
        operator: In
        values: [42]
`, map[string]string{"FAKE_RUN_FOR": "1s", "FAKE_EXIT_CODE": "42"}), "apply", "-f", "-")
	j := e.jobAwait("strict", batchv1.JobFailed, time.Minute)
	c := jobCondition(j, batchv1.JobFailed)
	if c.Reason != batchv1.JobReasonPodFailurePolicy || !strings.Contains(c.Message, "failed with exit code 42 matching FailJob rule at index 0") {
		t.Errorf("Failed condition %+v", c)
	}
	if j.Status.Failed != 1 {
		t.Errorf("status %+v", j.Status)
	}
}
