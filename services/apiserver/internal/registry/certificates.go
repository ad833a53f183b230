package registry

import (
	"context"
	"fmt"

	"github.com/gantry-dev/gantry/services/apiserver/internal/authn"
	"github.com/gantry-dev/gantry/services/apiserver/internal/validation"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// csrHooks are the rules of CertificateSigningRequests, as Kubernetes'
// strategies have them: the requester is recorded on create; an update
// changes neither spec nor status; /status changes the certificate and
// conditions other than Approved and Denied; /approval changes only the
// conditions.
func csrHooks() hooks {
	return hooks{
		admit: setRequester,
		admitUpdate: func(_ context.Context, obj, old runtime.Object) error {
			obj.(*certificatesv1.CertificateSigningRequest).Spec = *old.(*certificatesv1.CertificateSigningRequest).Spec.DeepCopy()
			return nil
		},
		prepareStatus: prepareCSRStatus,
	}
}

// setRequester fills spec.username, uid, groups and extra from the
// caller, whatever the client sent.
func setRequester(ctx context.Context, obj runtime.Object, _ string) error {
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	csr.Spec.Username, csr.Spec.UID, csr.Spec.Groups, csr.Spec.Extra = "", "", nil, nil
	if u, ok := authn.UserFrom(ctx); ok && u != nil {
		csr.Spec.Username, csr.Spec.UID = u.Name, u.UID
		csr.Spec.Groups = append([]string(nil), u.Groups...)
	}
	return nil
}

// prepareCSRStatus keeps the stored Approved and Denied conditions when
// their number is unchanged (a client echoing them back), so that only
// /approval changes them, and stamps the conditions' times.
func prepareCSRStatus(obj, old runtime.Object) {
	csr, cur := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied} {
		keepConditions(csr, cur, t)
	}
	stampConditions(csr, cur)
}

func keepConditions(csr, cur *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) {
	var stored []certificatesv1.CertificateSigningRequestCondition
	for _, c := range cur.Status.Conditions {
		if c.Type == t {
			stored = append(stored, c)
		}
	}
	n := 0
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			n++
		}
	}
	if n != len(stored) {
		return // validation reports the change
	}
	i := 0
	for j := range csr.Status.Conditions {
		if csr.Status.Conditions[j].Type == t {
			csr.Status.Conditions[j] = stored[i]
			i++
		}
	}
}

// stampConditions defaults a condition's status to True and sets the
// times a client left out: lastUpdateTime now, lastTransitionTime that of
// the stored condition of the same type and status, else now.
func stampConditions(csr, cur *certificatesv1.CertificateSigningRequest) {
	now := metav1.Now()
	for i := range csr.Status.Conditions {
		c := &csr.Status.Conditions[i]
		if c.Status == "" {
			c.Status = corev1.ConditionTrue
		}
		if c.LastUpdateTime.IsZero() {
			c.LastUpdateTime = now
		}
		if !c.LastTransitionTime.IsZero() {
			continue
		}
		c.LastTransitionTime = now
		for _, o := range cur.Status.Conditions {
			if o.Type == c.Type && o.Status == c.Status && !o.LastTransitionTime.IsZero() {
				c.LastTransitionTime = o.LastTransitionTime
				break
			}
		}
	}
}

// prepareApproval takes a CSR's conditions through
// certificatesigningrequests/approval, keeping everything else stored.
func (r *Resource) prepareApproval(next, cur runtime.Object, manager string) (runtime.Object, error) {
	want, ok := next.(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%T has no approval subresource", next))
	}
	stored := cur.(*certificatesv1.CertificateSigningRequest)
	if uid := want.UID; uid != "" && uid != stored.UID {
		return nil, apierrors.NewConflict(r.gr, stored.Name, fmt.Errorf(
			"Precondition failed: UID in precondition: %v, UID in object meta: %v", uid, stored.UID))
	}
	base := stored.DeepCopy()
	base.ResourceVersion = want.ResourceVersion
	base.Status.Conditions = append([]certificatesv1.CertificateSigningRequestCondition(nil), want.Status.Conditions...)
	stampConditions(base, stored)
	if errs := validation.ValidateApprovalUpdate(base, stored); len(errs) > 0 {
		return nil, r.invalid(base.Name, errs)
	}
	return r.finishUpdate(base, cur, manager, "approval")
}
