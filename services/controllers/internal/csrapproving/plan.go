package csrapproving

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"

	"github.com/gantry-dev/gantry/services/controllers/internal/csrutil"
)

// BootstrappersGroup is the group of bootstrap token users: whoever is
// in it may ask for a new node's client certificate.
const BootstrappersGroup = "system:bootstrappers"

// ReasonAutoApproved is the reason of the Approved condition this
// controller writes.
const ReasonAutoApproved = "AutoApproved"

// decision is what to do with a request: approve it (with message), or
// leave it (skip says why, for the log).
type decision struct {
	approve bool
	// kind is "node-client" (a new node, by a bootstrapper),
	// "self-node-client" (a renewal) or "self-node-serving" (a node's own
	// serving certificate), when approving.
	kind    string
	message string
	skip    string
}

// decide judges csr. It is pure: it reads only csr.
func decide(csr *certificatesv1.CertificateSigningRequest) decision {
	switch {
	case csr.Spec.SignerName != csrutil.KubeletClientSigner && csr.Spec.SignerName != csrutil.KubeletServingSigner:
		return decision{skip: "signer " + csr.Spec.SignerName + " is not auto-approved"}
	case len(csr.Status.Certificate) > 0:
		return decision{skip: "already signed"}
	case csrutil.HasCondition(csr, certificatesv1.CertificateApproved):
		return decision{skip: "already approved"}
	case csrutil.HasCondition(csr, certificatesv1.CertificateDenied):
		return decision{skip: "denied"}
	case csrutil.HasCondition(csr, certificatesv1.CertificateFailed):
		return decision{skip: "failed"}
	}
	req, err := csrutil.ParseRequest(csr.Spec.Request)
	if err != nil {
		return decision{skip: err.Error()}
	}
	if csr.Spec.SignerName == csrutil.KubeletServingSigner {
		return decideServing(csr, req)
	}
	if err := csrutil.ValidateKubeletClient(req, csr.Spec.Usages); err != nil {
		return decision{skip: "not a node client certificate: " + err.Error()}
	}
	switch {
	case csr.Spec.Username == req.Subject.CommonName:
		return decision{approve: true, kind: "self-node-client",
			message: fmt.Sprintf("Auto approving self kubelet client certificate: renewal requested by %s.", csr.Spec.Username)}
	case slices.Contains(csr.Spec.Groups, BootstrappersGroup):
		return decision{approve: true, kind: "node-client",
			message: fmt.Sprintf("Auto approving kubelet client certificate: requested by %s in group %s.", csr.Spec.Username, BootstrappersGroup)}
	}
	return decision{skip: fmt.Sprintf("requester %q is neither %q nor in group %s", csr.Spec.Username, req.Subject.CommonName, BootstrappersGroup)}
}

// decideServing judges a request for signer kubernetes.io/kubelet-serving:
// approved only when the node asks for its own serving certificate (the
// requester is the subject, "system:node:<name>") and its only DNS name,
// if any, is <name>. IP addresses are taken as given.
func decideServing(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) decision {
	if err := csrutil.ValidateKubeletServing(req, csr.Spec.Usages); err != nil {
		return decision{skip: "not a node serving certificate: " + err.Error()}
	}
	if csr.Spec.Username != req.Subject.CommonName {
		return decision{skip: fmt.Sprintf("serving certificate for %q requested by %q, not by that node", req.Subject.CommonName, csr.Spec.Username)}
	}
	node := strings.TrimPrefix(req.Subject.CommonName, csrutil.NodeUserPrefix)
	for _, name := range req.DNSNames {
		if name != node {
			return decision{skip: fmt.Sprintf("DNS name %q is not the node name %q", name, node)}
		}
	}
	return decision{approve: true, kind: "self-node-serving",
		message: fmt.Sprintf("Auto approving self kubelet serving certificate: requested by %s.", csr.Spec.Username)}
}
