package csrsigning

import (
	"crypto/x509"
	"fmt"

	certificatesv1 "k8s.io/api/certificates/v1"

	"github.com/gantry-dev/gantry/services/controllers/internal/csrutil"
)

// ReasonSignerValidationFailure is the reason of the Failed condition of
// a request that breaks its signer's rules.
const ReasonSignerValidationFailure = "SignerValidationFailure"

// validators are the signers this controller signs for, with the rules
// each puts on requests.
var validators = map[string]func(*x509.CertificateRequest, []certificatesv1.KeyUsage) error{
	csrutil.KubeletClientSigner:   csrutil.ValidateKubeletClient,
	csrutil.KubeletServingSigner:  csrutil.ValidateKubeletServing,
	csrutil.APIServerClientSigner: csrutil.ValidateAPIServerClient,
}

// action is what a sync does with a request.
type action int

const (
	skip action = iota // leave it
	fail               // set the Failed condition
	sign               // issue the certificate
)

// plan is the decision about one request.
type plan struct {
	action action
	// why explains skip and fail (the Failed condition's message).
	why string
	// req is the parsed request, to sign.
	req *x509.CertificateRequest
}

// decide judges csr. It is pure: it reads only csr.
func decide(csr *certificatesv1.CertificateSigningRequest) plan {
	validate, ok := validators[csr.Spec.SignerName]
	switch {
	case !ok:
		return plan{action: skip, why: "signer " + csr.Spec.SignerName + " is not signed here"}
	case len(csr.Status.Certificate) > 0:
		return plan{action: skip, why: "already signed"}
	case !csrutil.IsApproved(csr):
		return plan{action: skip, why: "not approved"}
	case csrutil.HasCondition(csr, certificatesv1.CertificateFailed):
		return plan{action: skip, why: "failed"}
	}
	req, err := csrutil.ParseRequest(csr.Spec.Request)
	if err != nil {
		return plan{action: fail, why: err.Error()}
	}
	if err := validate(req, csr.Spec.Usages); err != nil {
		return plan{action: fail, why: fmt.Sprintf("invalid request for signer %s: %v", csr.Spec.SignerName, err)}
	}
	if _, _, err := keyUsages(csr.Spec.Usages); err != nil {
		return plan{action: fail, why: err.Error()}
	}
	return plan{action: sign, req: req}
}
