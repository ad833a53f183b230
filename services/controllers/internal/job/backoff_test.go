package job

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestBackoffDelay(t *testing.T) {
	for failures, want := range map[int32]time.Duration{
		0: 0, 1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 4: 80 * time.Second,
		5: 160 * time.Second, 6: 320 * time.Second, 7: 6 * time.Minute, 100: 6 * time.Minute,
	} {
		if got := (backoffRecord{failures: failures}).delay(); got != want {
			t.Errorf("%d failures: delay %v, want %v", failures, got, want)
		}
	}
}

func TestNextBackoff(t *testing.T) {
	failed := func(name string, at time.Duration) *corev1.Pod {
		return pod(name, corev1.PodFailed, exitCode(1, t0.Add(at)))
	}
	succeeded := func(name string, at time.Duration) *corev1.Pod {
		return pod(name, corev1.PodSucceeded, exitCode(0, t0.Add(at)))
	}
	for _, tc := range []struct {
		name      string
		prev      backoffRecord
		succeeded []*corev1.Pod
		failed    []*corev1.Pod
		want      backoffRecord
	}{
		{name: "nothing new", prev: backoffRecord{failures: 2, lastFailureTime: t0}, want: backoffRecord{failures: 2, lastFailureTime: t0}},
		{name: "failures add up", prev: backoffRecord{failures: 1, lastFailureTime: t0},
			failed: pods(failed("b", 2*time.Second), failed("a", time.Second)), want: backoffRecord{failures: 3, lastFailureTime: t0.Add(2 * time.Second)}},
		{name: "a success resets", prev: backoffRecord{failures: 4, lastFailureTime: t0}, succeeded: pods(succeeded("s", time.Second))},
		{name: "only failures after the last success count", prev: backoffRecord{failures: 4, lastFailureTime: t0},
			succeeded: pods(succeeded("s", 2*time.Second)), failed: pods(failed("a", time.Second), failed("b", 3*time.Second)),
			want: backoffRecord{failures: 1, lastFailureTime: t0.Add(3 * time.Second)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextBackoff(tc.prev, tc.succeeded, tc.failed); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestBackoffRemaining(t *testing.T) {
	r := backoffRecord{failures: 2, lastFailureTime: t0}
	if got := r.remaining(t0.Add(5 * time.Second)); got != 15*time.Second {
		t.Errorf("remaining 5s after the second failure: %v, want 15s", got)
	}
	if got := r.remaining(t0.Add(time.Minute)); got != 0 {
		t.Errorf("remaining after the back-off: %v, want 0", got)
	}
}
