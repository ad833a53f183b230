package registry

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/services/apiserver/internal/authn"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSetRequesterIgnoresClient(t *testing.T) {
	csr := &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{
		Username: "admin", UID: "x", Groups: []string{"system:masters"},
		Extra: map[string]certificatesv1.ExtraValue{"k": {"v"}},
	}}
	ctx := authn.WithUser(context.Background(), &authn.User{Name: "system:bootstrap:abcdef", Groups: []string{"system:bootstrappers"}})
	if err := setRequester(ctx, csr, ""); err != nil {
		t.Fatal(err)
	}
	s := csr.Spec
	if s.Username != "system:bootstrap:abcdef" || s.UID != "" || !slices.Equal(s.Groups, []string{"system:bootstrappers"}) || s.Extra != nil {
		t.Errorf("spec after setRequester: %+v", s)
	}
}

func TestPrepareCSRStatus(t *testing.T) {
	then := metav1.NewTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	stored := &certificatesv1.CertificateSigningRequest{Status: certificatesv1.CertificateSigningRequestStatus{
		Conditions: []certificatesv1.CertificateSigningRequestCondition{{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "AutoApproved",
			LastUpdateTime: then, LastTransitionTime: then,
		}},
	}}
	next := stored.DeepCopy()
	// A client echoing Approved without its times, and adding Failed.
	next.Status.Conditions[0].LastUpdateTime, next.Status.Conditions[0].Reason = metav1.Time{}, "Changed"
	next.Status.Conditions = append(next.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: certificatesv1.CertificateFailed})
	prepareCSRStatus(next, stored)
	approved, failed := next.Status.Conditions[0], next.Status.Conditions[1]
	if approved.Reason != "AutoApproved" || !approved.LastUpdateTime.Equal(&then) {
		t.Errorf("Approved condition not kept: %+v", approved)
	}
	if failed.Status != corev1.ConditionTrue || failed.LastUpdateTime.IsZero() || failed.LastTransitionTime.IsZero() {
		t.Errorf("Failed condition not defaulted and stamped: %+v", failed)
	}
}
