package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func running(name string, ready bool, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Ready: ready, RestartCount: restarts,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func waiting(name, reason string, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, RestartCount: restarts,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func terminated(name string, exitCode int32, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exitCode, Reason: reason}}}
}

// restartedAgo marks a container as last terminated d before now.
func restartedAgo(c corev1.ContainerStatus, d time.Duration) corev1.ContainerStatus {
	c.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(d)}
	return c
}

func containers(names ...string) []corev1.Container {
	out := make([]corev1.Container, len(names))
	for i, n := range names {
		out[i] = corev1.Container{Name: n, Image: n + ":1"}
	}
	return out
}

func condition(t corev1.PodConditionType, s corev1.ConditionStatus) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: s}
}

func TestPodReadyStatusRestarts(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	deleted := metav1.NewTime(now)
	tests := []struct {
		name                    string
		pod                     corev1.Pod
		ready, status, restarts string
	}{
		{
			name:  "pending without status",
			pod:   corev1.Pod{Spec: corev1.PodSpec{Containers: containers("app")}, Status: corev1.PodStatus{Phase: corev1.PodPending}},
			ready: "0/1", status: "Pending", restarts: "0",
		},
		{
			name: "container creating",
			pod: corev1.Pod{Spec: corev1.PodSpec{Containers: containers("app")}, Status: corev1.PodStatus{
				Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{waiting("app", "ContainerCreating", 0)}}},
			ready: "0/1", status: "ContainerCreating", restarts: "0",
		},
		{
			name: "running and ready",
			pod: corev1.Pod{Spec: corev1.PodSpec{Containers: containers("app", "proxy")}, Status: corev1.PodStatus{
				Phase:             corev1.PodRunning,
				ContainerStatuses: []corev1.ContainerStatus{running("app", true, 0), running("proxy", true, 0)}}},
			ready: "2/2", status: "Running", restarts: "0",
		},
		{
			name: "crash loop",
			pod: corev1.Pod{Spec: corev1.PodSpec{Containers: containers("app", "proxy")}, Status: corev1.PodStatus{
				Phase: corev1.PodRunning,
				ContainerStatuses: []corev1.ContainerStatus{
					restartedAgo(waiting("app", "CrashLoopBackOff", 3), 5*time.Minute),
					restartedAgo(running("proxy", true, 1), 20*time.Minute),
				}}},
			ready: "1/2", status: "CrashLoopBackOff", restarts: "4 (5m ago)",
		},
		{
			name: "restarts without a termination time",
			pod: corev1.Pod{Spec: corev1.PodSpec{Containers: containers("app")}, Status: corev1.PodStatus{
				Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{running("app", true, 2)}}},
			ready: "1/1", status: "Running", restarts: "2",
		},
		{
			name: "completed",
			pod: corev1.Pod{Spec: corev1.PodSpec{Containers: containers("app")}, Status: corev1.PodStatus{
				Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{terminated("app", 0, "Completed")}}},
			ready: "0/1", status: "Completed", restarts: "0",
		},
		{
			name: "first container completed, second still running",
			pod: corev1.Pod{Spec: corev1.PodSpec{Containers: containers("job", "proxy")}, Status: corev1.PodStatus{
				Phase:             corev1.PodRunning,
				Conditions:        []corev1.PodCondition{condition(corev1.PodReady, corev1.ConditionFalse)},
				ContainerStatuses: []corev1.ContainerStatus{terminated("job", 0, "Completed"), running("proxy", true, 0)}}},
			ready: "1/2", status: "NotReady", restarts: "0",
		},
		{
			name: "terminated by signal",
			pod: corev1.Pod{Spec: corev1.PodSpec{Containers: containers("app")}, Status: corev1.PodStatus{
				Phase: corev1.PodFailed,
				ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{
					Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Signal: 9}}}}}},
			ready: "0/1", status: "Signal:9", restarts: "0",
		},
		{
			name: "error exit code",
			pod: corev1.Pod{Spec: corev1.PodSpec{Containers: containers("app")}, Status: corev1.PodStatus{
				Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{terminated("app", 2, "")}}},
			ready: "0/1", status: "ExitCode:2", restarts: "0",
		},
		{
			name: "evicted",
			pod: corev1.Pod{Spec: corev1.PodSpec{Containers: containers("app")}, Status: corev1.PodStatus{
				Phase: corev1.PodFailed, Reason: "Evicted"}},
			ready: "0/1", status: "Evicted", restarts: "0",
		},
		{
			name: "first init container running",
			pod: corev1.Pod{Spec: corev1.PodSpec{InitContainers: containers("migrate"), Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{running("migrate", false, 0)},
					ContainerStatuses:     []corev1.ContainerStatus{waiting("app", "PodInitializing", 0)}}},
			ready: "0/1", status: "Init:0/1", restarts: "0",
		},
		{
			name: "second init container waiting to start",
			pod: corev1.Pod{Spec: corev1.PodSpec{InitContainers: containers("a", "b"), Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{terminated("a", 0, "Completed"), waiting("b", "PodInitializing", 0)}}},
			ready: "0/1", status: "Init:1/2", restarts: "0",
		},
		{
			name: "init container crash loop",
			pod: corev1.Pod{Spec: corev1.PodSpec{InitContainers: containers("migrate"), Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{
						restartedAgo(waiting("migrate", "CrashLoopBackOff", 4), 2*time.Minute)}}},
			ready: "0/1", status: "Init:CrashLoopBackOff", restarts: "4 (2m ago)",
		},
		{
			name: "init container failed",
			pod: corev1.Pod{Spec: corev1.PodSpec{InitContainers: containers("migrate"), Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodFailed,
					InitContainerStatuses: []corev1.ContainerStatus{terminated("migrate", 1, "Error")}}},
			ready: "0/1", status: "Init:Error", restarts: "0",
		},
		{
			name: "running with a sidecar",
			pod: corev1.Pod{
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "mesh", Image: "mesh:1", RestartPolicy: &always}},
					Containers:     containers("app"),
				},
				Status: corev1.PodStatus{Phase: corev1.PodRunning,
					Conditions: []corev1.PodCondition{condition(corev1.PodInitialized, corev1.ConditionTrue)},
					InitContainerStatuses: []corev1.ContainerStatus{func() corev1.ContainerStatus {
						c := restartedAgo(running("mesh", true, 1), 10*time.Minute)
						c.Started = new(true)
						return c
					}()},
					ContainerStatuses: []corev1.ContainerStatus{running("app", true, 0)}}},
			ready: "2/2", status: "Running", restarts: "1 (10m ago)",
		},
		{
			name: "scheduling gated",
			pod: corev1.Pod{Spec: corev1.PodSpec{Containers: containers("app")}, Status: corev1.PodStatus{
				Phase: corev1.PodPending,
				Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
					Reason: corev1.PodReasonSchedulingGated}}}},
			ready: "0/1", status: "SchedulingGated", restarts: "0",
		},
		{
			name: "terminating",
			pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &deleted},
				Spec: corev1.PodSpec{Containers: containers("app")}, Status: corev1.PodStatus{
					Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{running("app", true, 0)}}},
			ready: "1/1", status: "Terminating", restarts: "0",
		},
		{
			name: "deleted after completing",
			pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &deleted},
				Spec: corev1.PodSpec{Containers: containers("app")}, Status: corev1.PodStatus{
					Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{terminated("app", 0, "Completed")}}},
			ready: "0/1", status: "Completed", restarts: "0",
		},
		{
			name: "on a lost node",
			pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &deleted},
				Spec: corev1.PodSpec{Containers: containers("app")}, Status: corev1.PodStatus{
					Phase: corev1.PodRunning, Reason: "NodeLost"}},
			ready: "0/1", status: "Unknown", restarts: "0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cells := Cells(&tt.pod, now)
			if got := cells[1]; got != tt.ready {
				t.Errorf("READY = %v, want %v", got, tt.ready)
			}
			if got := cells[2]; got != tt.status {
				t.Errorf("STATUS = %v, want %v", got, tt.status)
			}
			if got := cells[3]; got != tt.restarts {
				t.Errorf("RESTARTS = %v, want %v", got, tt.restarts)
			}
		})
	}
}

func TestPodCells(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []interface{}
	}{
		{
			name: "scheduled",
			pod: &corev1.Pod{
				ObjectMeta: objectMeta("web-1"),
				Spec: corev1.PodSpec{Containers: containers("app"), NodeName: "n1",
					ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}, {ConditionType: "example.com/dns"}}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning,
					PodIPs:            []corev1.PodIP{{IP: "10.1.0.7"}, {IP: "fd00::7"}},
					Conditions:        []corev1.PodCondition{condition("example.com/lb", corev1.ConditionTrue)},
					ContainerStatuses: []corev1.ContainerStatus{running("app", true, 0)}},
			},
			want: []interface{}{"web-1", "1/1", "Running", "0", "5m", "10.1.0.7", "n1", "<none>", "1/2"},
		},
		{
			name: "nominated",
			pod: &corev1.Pod{
				ObjectMeta: objectMeta("web-2"),
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status:     corev1.PodStatus{Phase: corev1.PodPending, NominatedNodeName: "n2"},
			},
			want: []interface{}{"web-2", "0/1", "Pending", "0", "5m", "<none>", "<none>", "n2", "<none>"},
		},
		{
			name: "only the older podIP field",
			pod: &corev1.Pod{
				ObjectMeta: objectMeta("web-3"),
				Spec:       corev1.PodSpec{Containers: containers("app"), NodeName: "n1"},
				Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.1.0.8"},
			},
			want: []interface{}{"web-3", "0/1", "Running", "0", "5m", "10.1.0.8", "n1", "<none>", "<none>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, Cells(tt.pod, now), tt.want)
		})
	}
}
