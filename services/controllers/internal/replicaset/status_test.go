package replicaset

import (
	"errors"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testRS(replicas, minReady int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Generation: 4},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas, MinReadySeconds: minReady,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "fe"}}},
		},
	}
}

func labelled(p *corev1.Pod, l map[string]string) *corev1.Pod {
	p.Labels = l
	return p
}

func TestCalculateStatus(t *testing.T) {
	full := map[string]string{"app": "web", "tier": "fe"}
	partial := map[string]string{"app": "web"}
	failure := appsv1.ReplicaSetCondition{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: ReasonFailedCreate}
	for _, tc := range []struct {
		name        string
		rs          *appsv1.ReplicaSet
		active      []*corev1.Pod
		terminating int
		manageErr   error
		want        appsv1.ReplicaSetStatus
		wantRecheck time.Duration
		wantFailure string // reason of ReplicaFailure, "" for none
	}{
		{
			name: "counts",
			rs:   testRS(3, 0),
			active: []*corev1.Pod{
				labelled(podSpec{name: "a", node: "n", readyAt: t0.Add(-time.Minute)}.pod(), full),
				labelled(podSpec{name: "b", node: "n", readyAt: t0.Add(-time.Minute)}.pod(), partial),
				labelled(podSpec{name: "c", node: "n"}.pod(), full),
			},
			terminating: 2,
			want:        appsv1.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2, ObservedGeneration: 4},
		},
		{
			name: "minReadySeconds holds availability back",
			rs:   testRS(2, 30),
			active: []*corev1.Pod{
				labelled(podSpec{name: "old", node: "n", readyAt: t0.Add(-time.Minute)}.pod(), full),
				labelled(podSpec{name: "fresh", node: "n", readyAt: t0.Add(-10 * time.Second)}.pod(), full),
			},
			want:        appsv1.ReplicaSetStatus{Replicas: 2, FullyLabeledReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 1, ObservedGeneration: 4},
			wantRecheck: 20*time.Second + time.Millisecond,
		},
		{
			name:        "create error sets ReplicaFailure",
			rs:          testRS(2, 0),
			manageErr:   errors.New("quota exceeded"),
			want:        appsv1.ReplicaSetStatus{ObservedGeneration: 4},
			wantFailure: ReasonFailedCreate,
		},
		{
			name: "success clears ReplicaFailure",
			rs: func() *appsv1.ReplicaSet {
				rs := testRS(0, 0)
				rs.Status.Conditions = []appsv1.ReplicaSetCondition{failure}
				return rs
			}(),
			want: appsv1.ReplicaSetStatus{ObservedGeneration: 4},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			term := make([]*corev1.Pod, tc.terminating)
			got, recheck := calculateStatus(statusInput{
				rs: tc.rs, active: tc.active, terminating: term,
				manageErr: tc.manageErr, failedOp: ReasonFailedCreate, now: t0,
			})
			if got.Replicas != tc.want.Replicas || got.FullyLabeledReplicas != tc.want.FullyLabeledReplicas ||
				got.ReadyReplicas != tc.want.ReadyReplicas || got.AvailableReplicas != tc.want.AvailableReplicas ||
				got.ObservedGeneration != tc.want.ObservedGeneration {
				t.Errorf("status = %+v, want %+v", got, tc.want)
			}
			if got.TerminatingReplicas == nil || *got.TerminatingReplicas != int32(tc.terminating) {
				t.Errorf("terminatingReplicas = %v, want %d", got.TerminatingReplicas, tc.terminating)
			}
			if recheck != tc.wantRecheck {
				t.Errorf("recheck = %v, want %v", recheck, tc.wantRecheck)
			}
			c := replicaSetCondition(got, appsv1.ReplicaSetReplicaFailure)
			switch {
			case tc.wantFailure == "" && c != nil:
				t.Errorf("unexpected ReplicaFailure %+v", c)
			case tc.wantFailure != "" && (c == nil || c.Reason != tc.wantFailure || c.Message != tc.manageErr.Error()):
				t.Errorf("ReplicaFailure = %+v, want reason %s", c, tc.wantFailure)
			}
			if len(tc.rs.Status.Conditions) > 0 && len(got.Conditions) == 0 && tc.rs.Status.Conditions[0] != failure {
				t.Error("the cached ReplicaSet's conditions were modified")
			}
		})
	}
}

func TestPodAvailableIn(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pod       *corev1.Pod
		minReady  int32
		wantAvail bool
		wantAfter time.Duration
	}{
		{name: "not ready", pod: podSpec{name: "p"}.pod(), minReady: 10},
		{name: "ready, no minReadySeconds", pod: podSpec{name: "p", readyAt: t0}.pod(), wantAvail: true},
		{name: "ready long enough", pod: podSpec{name: "p", readyAt: t0.Add(-11 * time.Second)}.pod(), minReady: 10, wantAvail: true},
		{name: "ready exactly minReadySeconds ago", pod: podSpec{name: "p", readyAt: t0.Add(-10 * time.Second)}.pod(), minReady: 10, wantAfter: time.Millisecond},
		{name: "ready recently", pod: podSpec{name: "p", readyAt: t0.Add(-4 * time.Second)}.pod(), minReady: 10, wantAfter: 6*time.Second + time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, after := podAvailableIn(tc.pod, tc.minReady, t0)
			if ok != tc.wantAvail || after != tc.wantAfter {
				t.Errorf("podAvailableIn = %v, %v; want %v, %v", ok, after, tc.wantAvail, tc.wantAfter)
			}
		})
	}
}
