package replicaset

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Reasons of the ReplicaFailure condition.
const (
	ReasonFailedCreate = "FailedCreate"
	ReasonFailedDelete = "FailedDelete"
)

// statusInput is what a ReplicaSet's status is computed from.
type statusInput struct {
	rs *appsv1.ReplicaSet
	// active are its active pods after this sync's deletions.
	active []*corev1.Pod
	// terminating are its pods being deleted.
	terminating []*corev1.Pod
	// manageErr is the error creating or deleting pods, if any;
	// failedOp names what failed (ReasonFailedCreate or ReasonFailedDelete).
	manageErr error
	failedOp  string
	now       time.Time
}

// calculateStatus returns the ReplicaSet's new status (observedGeneration
// is its generation) and, when a ready pod is not available yet
// (minReadySeconds), how long until the first one is: the sync should
// look again then.
func calculateStatus(in statusInput) (appsv1.ReplicaSetStatus, time.Duration) {
	rs := in.rs
	st := *rs.Status.DeepCopy()
	template := labels.SelectorFromSet(rs.Spec.Template.Labels)
	var fully, ready, available int32
	var recheck time.Duration
	for _, p := range in.active {
		if template.Matches(labels.Set(p.Labels)) {
			fully++
		}
		if !isPodReady(p) {
			continue
		}
		ready++
		ok, after := podAvailableIn(p, rs.Spec.MinReadySeconds, in.now)
		if ok {
			available++
		} else if after > 0 && (recheck == 0 || after < recheck) {
			recheck = after
		}
	}
	terminating := int32(len(in.terminating))
	st.Replicas = int32(len(in.active))
	st.FullyLabeledReplicas = fully
	st.ReadyReplicas = ready
	st.AvailableReplicas = available
	st.TerminatingReplicas = &terminating
	st.ObservedGeneration = rs.Generation

	failure := replicaSetCondition(st, appsv1.ReplicaSetReplicaFailure)
	switch {
	case in.manageErr != nil && failure == nil:
		st.Conditions = append(st.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(in.now), Reason: in.failedOp, Message: in.manageErr.Error(),
		})
	case in.manageErr == nil && failure != nil:
		st.Conditions = withoutCondition(st.Conditions, appsv1.ReplicaSetReplicaFailure)
	}
	return st, recheck
}

func replicaSetCondition(st appsv1.ReplicaSetStatus, t appsv1.ReplicaSetConditionType) *appsv1.ReplicaSetCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

func withoutCondition(conds []appsv1.ReplicaSetCondition, t appsv1.ReplicaSetConditionType) []appsv1.ReplicaSetCondition {
	var out []appsv1.ReplicaSetCondition
	for _, c := range conds {
		if c.Type != t {
			out = append(out, c)
		}
	}
	return out
}
