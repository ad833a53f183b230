package endpointutil

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// NamespaceTerminating reports whether err is the refusal to create an
// object in a namespace being deleted (creates will keep failing until
// the namespace is gone: nothing to retry).
func NamespaceTerminating(err error) bool {
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return true
	}
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "because it is being terminated")
}
