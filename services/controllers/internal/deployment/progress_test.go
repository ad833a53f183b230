package deployment

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func progressing(reason string, status corev1.ConditionStatus, updated time.Time) appsv1.DeploymentCondition {
	return appsv1.DeploymentCondition{
		Type: appsv1.DeploymentProgressing, Status: status, Reason: reason,
		LastUpdateTime: metav1.NewTime(updated), LastTransitionTime: metav1.NewTime(updated),
	}
}

func TestRolloutStatus(t *testing.T) {
	for _, tc := range []struct {
		name          string
		d             func() *appsv1.Deployment
		old           [2]int32
		new           [2]int32
		wantProgress  string // reason ("" none)
		wantAvailable string
		wantCounts    [5]int32 // replicas, updated, ready, available, unavailable
	}{
		{
			name: "complete",
			d: func() *appsv1.Deployment {
				d := deploy(3, "1", "0")
				d.Status.Conditions = []appsv1.DeploymentCondition{progressing(ReasonReplicaSetUpdated, corev1.ConditionTrue, t0.Add(-time.Minute))}
				return d
			},
			new:           [2]int32{3, 3},
			wantProgress:  ReasonNewRSAvailable,
			wantAvailable: ReasonMinimumReplicasAvailable,
			wantCounts:    [5]int32{3, 3, 3, 3, 0},
		},
		{
			name: "progress",
			d: func() *appsv1.Deployment {
				d := deploy(3, "1", "0")
				d.Status = appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 1, AvailableReplicas: 3,
					Conditions: []appsv1.DeploymentCondition{progressing(ReasonNewRSCreated, corev1.ConditionTrue, t0.Add(-time.Hour))}}
				return d
			},
			old: [2]int32{2, 2}, new: [2]int32{2, 1},
			wantProgress:  ReasonReplicaSetUpdated,
			wantAvailable: ReasonMinimumReplicasAvailable,
			wantCounts:    [5]int32{4, 2, 3, 3, 1},
		},
		{
			name: "stuck past the deadline",
			d: func() *appsv1.Deployment {
				d := deploy(3, "1", "0")
				d.Spec.ProgressDeadlineSeconds = ptr[int32](10)
				d.Status = appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 1, ReadyReplicas: 3, AvailableReplicas: 3,
					Conditions: []appsv1.DeploymentCondition{progressing(ReasonReplicaSetUpdated, corev1.ConditionTrue, t0.Add(-11*time.Second))}}
				return d
			},
			old: [2]int32{3, 3}, new: [2]int32{1, 0},
			wantProgress:  ReasonTimedOut,
			wantAvailable: ReasonMinimumReplicasAvailable,
			wantCounts:    [5]int32{4, 1, 3, 3, 1},
		},
		{
			name: "stuck, deadline not reached",
			d: func() *appsv1.Deployment {
				d := deploy(3, "1", "0")
				d.Spec.ProgressDeadlineSeconds = ptr[int32](10)
				d.Status = appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 1, ReadyReplicas: 3, AvailableReplicas: 3,
					Conditions: []appsv1.DeploymentCondition{progressing(ReasonReplicaSetUpdated, corev1.ConditionTrue, t0.Add(-5*time.Second))}}
				return d
			},
			old: [2]int32{3, 3}, new: [2]int32{1, 0},
			wantProgress:  ReasonReplicaSetUpdated,
			wantAvailable: ReasonMinimumReplicasAvailable,
			wantCounts:    [5]int32{4, 1, 3, 3, 1},
		},
		{
			name: "no deadline: no Progressing condition",
			d: func() *appsv1.Deployment {
				d := deploy(2, "1", "0")
				d.Spec.ProgressDeadlineSeconds = nil
				return d
			},
			new:           [2]int32{2, 0},
			wantAvailable: ReasonMinimumReplicasUnavailable,
			wantCounts:    [5]int32{2, 2, 0, 0, 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.d()
			var all []*appsv1.ReplicaSet
			if tc.old[0] > 0 {
				all = append(all, rs(d, "old", 10, tc.old[0], tc.old[1]))
			}
			newRS := rs(d, "new", 0, tc.new[0], tc.new[1])
			all = append(all, newRS)
			st := rolloutStatus(d, all, newRS, t0)
			got := [5]int32{st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, st.UnavailableReplicas}
			if got != tc.wantCounts {
				t.Errorf("counts = %v, want %v", got, tc.wantCounts)
			}
			if st.ObservedGeneration != d.Generation {
				t.Errorf("observedGeneration = %d, want %d", st.ObservedGeneration, d.Generation)
			}
			p := getCondition(st, appsv1.DeploymentProgressing)
			switch {
			case tc.wantProgress == "" && p != nil:
				t.Errorf("unexpected Progressing %+v", p)
			case tc.wantProgress != "" && (p == nil || p.Reason != tc.wantProgress):
				t.Errorf("Progressing = %+v, want reason %s", p, tc.wantProgress)
			}
			if a := getCondition(st, appsv1.DeploymentAvailable); a == nil || a.Reason != tc.wantAvailable {
				t.Errorf("Available = %+v, want reason %s", a, tc.wantAvailable)
			}
		})
	}
}

func TestProgressKeepsTransitionTime(t *testing.T) {
	d := deploy(3, "1", "0")
	began := t0.Add(-time.Hour)
	d.Status = appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 1,
		Conditions: []appsv1.DeploymentCondition{progressing(ReasonReplicaSetUpdated, corev1.ConditionTrue, began)}}
	newRS := rs(d, "new", 0, 2, 0)
	st := rolloutStatus(d, []*appsv1.ReplicaSet{rs(d, "old", 5, 2, 2), newRS}, newRS, t0)
	p := getCondition(st, appsv1.DeploymentProgressing)
	if p == nil || !p.LastUpdateTime.Time.Equal(t0) || !p.LastTransitionTime.Time.Equal(began) {
		t.Errorf("Progressing = %+v, want updated now and transitioned at %v", p, began)
	}
}

func TestReplicaFailureIsCopied(t *testing.T) {
	d := deploy(2, "1", "0")
	newRS := rs(d, "new", 0, 2, 0)
	newRS.Status.Conditions = []appsv1.ReplicaSetCondition{{
		Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: "quota",
	}}
	st := rolloutStatus(d, []*appsv1.ReplicaSet{newRS}, newRS, t0)
	if c := getCondition(st, appsv1.DeploymentReplicaFailure); c == nil || c.Reason != "FailedCreate" || c.Message != "quota" {
		t.Errorf("ReplicaFailure = %+v", c)
	}
	newRS.Status.Conditions = nil
	d.Status = st
	st = rolloutStatus(d, []*appsv1.ReplicaSet{newRS}, newRS, t0)
	if c := getCondition(st, appsv1.DeploymentReplicaFailure); c != nil {
		t.Errorf("ReplicaFailure not cleared: %+v", c)
	}
}

func TestRequeueStuck(t *testing.T) {
	for _, tc := range []struct {
		name string
		cond *appsv1.DeploymentCondition
		done bool
		want time.Duration
	}{
		{name: "no condition", want: -1},
		{name: "complete", cond: ptr(progressing(ReasonNewRSAvailable, corev1.ConditionTrue, t0)), done: true, want: -1},
		{name: "timed out already", cond: ptr(progressing(ReasonTimedOut, corev1.ConditionFalse, t0)), want: -1},
		{name: "deadline ahead", cond: ptr(progressing(ReasonReplicaSetUpdated, corev1.ConditionTrue, t0.Add(-4*time.Second))), want: 7 * time.Second},
		{name: "deadline in half a second", cond: ptr(progressing(ReasonReplicaSetUpdated, corev1.ConditionTrue, t0.Add(-9500*time.Millisecond))), want: 1500 * time.Millisecond},
		{name: "deadline passed", cond: ptr(progressing(ReasonReplicaSetUpdated, corev1.ConditionTrue, t0.Add(-20*time.Second))), want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := deploy(2, "1", "0")
			d.Spec.ProgressDeadlineSeconds = ptr[int32](10)
			if tc.cond != nil {
				d.Status.Conditions = []appsv1.DeploymentCondition{*tc.cond}
			}
			st := appsv1.DeploymentStatus{ObservedGeneration: 1}
			if tc.done {
				st.Replicas, st.UpdatedReplicas, st.AvailableReplicas = 2, 2, 2
			}
			if got := requeueStuck(d, st, t0); got != tc.want {
				t.Errorf("requeueStuck = %v, want %v", got, tc.want)
			}
		})
	}
}
