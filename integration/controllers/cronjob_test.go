package controllers_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCronJobEveryMinute: an every-minute CronJob starts a Job at the
// next minute (named after it, annotated with it), then sees it complete
// and records its success. It may wait up to a minute for that minute.
func TestCronJobEveryMinute(t *testing.T) {
	e := newEnv(t)
	e.startControllers("--controllers=cronjob,job")
	e.startScheduler()
	e.startSimulatedNodes("cjnode", 1)
	e.kubectlIn(fmt.Sprintf(`apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "* * * * *"
  timeZone: Etc/UTC
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: main
            image: %s
            env:
            - name: FAKE_RUN_FOR
              value: 1s
`, busybox), "apply", "-f", "-")

	var job batchv1.Job
	e.eventually(90*time.Second, "a job of cronjob tick", func() (bool, error) {
		list, err := e.kube.BatchV1().Jobs("default").List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, j := range list.Items {
			if ref := metav1.GetControllerOf(&j); ref != nil && ref.Kind == "CronJob" && ref.Name == "tick" {
				job = j
				return true, nil
			}
		}
		return false, nil
	})
	stamp := job.Annotations[batchv1.CronJobScheduledTimestampAnnotation]
	scheduled, err := time.Parse(time.RFC3339, stamp)
	if err != nil {
		t.Fatalf("scheduled timestamp annotation %q: %v", stamp, err)
	}
	if scheduled.Second() != 0 || !strings.HasSuffix(stamp, "Z") {
		t.Errorf("scheduled timestamp %q is not a whole minute in UTC", stamp)
	}
	if want := "tick-" + strconv.FormatInt(scheduled.Unix()/60, 10); job.Name != want {
		t.Errorf("job name %q, want %q", job.Name, want)
	}

	e.eventually(60*time.Second, "cronjob tick sees its job succeed", func() (bool, error) {
		cj, err := e.kube.BatchV1().CronJobs("default").Get(e.ctx, "tick", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := cj.Status
		ok := st.LastScheduleTime != nil && !st.LastScheduleTime.Time.Before(scheduled) &&
			st.LastSuccessfulTime != nil
		return ok, fmt.Errorf("status %+v", st)
	})
	e.eventually(20*time.Second, "events of cronjob tick", func() (bool, error) {
		list, err := e.kube.CoreV1().Events("default").List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		seen := map[string]bool{}
		for _, ev := range list.Items {
			if ev.InvolvedObject.Kind == "CronJob" && ev.InvolvedObject.Name == "tick" {
				seen[ev.Reason] = true
			}
		}
		return seen["SuccessfulCreate"] && seen["SawCompletedJob"], fmt.Errorf("events %v", seen)
	})
	if out := e.kubectl("get", "cronjob", "tick"); !strings.Contains(out, "* * * * *") {
		t.Errorf("kubectl get cronjob:\n%s", out)
	}
}
