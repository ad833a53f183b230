package namespace

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// conditionTypes are the namespace conditions the controller maintains,
// in Kubernetes' order.
var conditionTypes = []corev1.NamespaceConditionType{
	corev1.NamespaceDeletionDiscoveryFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceFinalizersRemaining,
}

// The reasons and messages of conditions that are fine (status False),
// Kubernetes' words.
var (
	okReasons = map[corev1.NamespaceConditionType]string{
		corev1.NamespaceDeletionDiscoveryFailure: "ResourcesDiscovered",
		corev1.NamespaceDeletionGVParsingFailure: "ParsedGroupVersions",
		corev1.NamespaceDeletionContentFailure:   "ContentDeleted",
		corev1.NamespaceContentRemaining:         "ContentRemoved",
		corev1.NamespaceFinalizersRemaining:      "ContentRemoved",
	}
	okMessages = map[corev1.NamespaceConditionType]string{
		corev1.NamespaceDeletionDiscoveryFailure: "All resources successfully discovered",
		corev1.NamespaceDeletionGVParsingFailure: "All legacy kube types successfully parsed",
		corev1.NamespaceDeletionContentFailure:   "All content successfully deleted, may be waiting on finalization",
		corev1.NamespaceContentRemaining:         "All content successfully removed",
		corev1.NamespaceFinalizersRemaining:      "All content successfully removed",
	}
)

// content is what one pass over a namespace's resources found.
type content struct {
	// estimate is how many seconds the content still left may take to go
	// (graceful pod termination, finalizers); 0 when it should be gone.
	estimate int64
	// remaining counts the objects left per resource.
	remaining map[schema.GroupVersionResource]int
	// finalizers counts the objects left per finalizer they carry.
	finalizers map[string]int
	// errs are the failures, one per resource.
	errs []error
}

// failedConditions are the conditions a pass calls for that are not fine
// (status True); the types missing are fine.
func failedConditions(c content, now metav1.Time) []corev1.NamespaceCondition {
	var out []corev1.NamespaceCondition
	if len(c.errs) > 0 {
		msgs := make([]string, 0, len(c.errs))
		for _, err := range c.errs {
			msgs = append(msgs, err.Error())
		}
		sort.Strings(msgs)
		out = append(out, corev1.NamespaceCondition{
			Type: corev1.NamespaceDeletionContentFailure, Status: corev1.ConditionTrue, LastTransitionTime: now,
			Reason:  "ContentDeletionFailed",
			Message: fmt.Sprintf("Failed to delete all resource types, %d remaining: %v", len(c.errs), strings.Join(msgs, ", ")),
		})
	}
	var resources []string
	for gvr, n := range c.remaining {
		if n > 0 {
			resources = append(resources, fmt.Sprintf("%s.%s has %d resource instances", gvr.Resource, gvr.Group, n))
		}
	}
	if len(resources) > 0 {
		sort.Strings(resources)
		out = append(out, corev1.NamespaceCondition{
			Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue, LastTransitionTime: now,
			Reason: "SomeResourcesRemain", Message: "Some resources are remaining: " + strings.Join(resources, ", "),
		})
	}
	var finalizers []string
	for f, n := range c.finalizers {
		if n > 0 {
			finalizers = append(finalizers, fmt.Sprintf("%s in %d resource instances", f, n))
		}
	}
	if len(finalizers) > 0 {
		sort.Strings(finalizers)
		out = append(out, corev1.NamespaceCondition{
			Type: corev1.NamespaceFinalizersRemaining, Status: corev1.ConditionTrue, LastTransitionTime: now,
			Reason: "SomeFinalizerRemain", Message: "Some finalizers are remaining: " + strings.Join(finalizers, ", "),
		})
	}
	return out
}

// updateConditions sets every maintained condition of status: the failed
// one when there is one, else its fine variant. A condition's transition
// time changes only with its status. It reports whether anything changed.
func updateConditions(status *corev1.NamespaceStatus, failed []corev1.NamespaceCondition, now metav1.Time) bool {
	changed := false
	for _, t := range conditionTypes {
		want := findCondition(failed, t)
		if want == nil {
			want = &corev1.NamespaceCondition{
				Type: t, Status: corev1.ConditionFalse, LastTransitionTime: now, Reason: okReasons[t], Message: okMessages[t],
			}
		}
		have := findCondition(status.Conditions, t)
		switch {
		case have == nil:
			status.Conditions = append(status.Conditions, *want)
			changed = true
		case have.Status != want.Status || have.Reason != want.Reason || have.Message != want.Message:
			if have.Status != want.Status {
				have.LastTransitionTime = now
			}
			have.Status, have.Reason, have.Message = want.Status, want.Reason, want.Message
			changed = true
		}
	}
	return changed
}

func findCondition(conds []corev1.NamespaceCondition, t corev1.NamespaceConditionType) *corev1.NamespaceCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}
