package csrutil

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
)

// The signers of Kubernetes these controllers know
// (spec.signerName).
const (
	// KubeletClientSigner signs the client certificates nodes' agents
	// authenticate to the API server with.
	KubeletClientSigner = certificatesv1.KubeAPIServerClientKubeletSignerName
	// APIServerClientSigner signs client certificates for the API server.
	APIServerClientSigner = certificatesv1.KubeAPIServerClientSignerName
	// KubeletServingSigner signs the serving certificates of nodes'
	// agents.
	KubeletServingSigner = certificatesv1.KubeletServingSignerName
	// LegacyUnknownSigner is never signed by these controllers.
	LegacyUnknownSigner = "kubernetes.io/legacy-unknown"
)

// NodeUserPrefix starts the user name (and certificate common name) of
// a node: "system:node:<node name>".
const NodeUserPrefix = "system:node:"

// NodesGroup is the group every node is in.
const NodesGroup = "system:nodes"

// ParseRequest decodes spec.request: one PEM "CERTIFICATE REQUEST"
// block holding a PKCS#10 request, whose signature proves the requester
// holds the private key.
func ParseRequest(data []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("request is not PEM-encoded")
	}
	if block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("request is a PEM %q block, want \"CERTIFICATE REQUEST\"", block.Type)
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse request: %w", err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("request's signature: %w", err)
	}
	return req, nil
}

// HasCondition reports whether csr has a condition of type t with status
// True (a condition without status counts as True, as in Kubernetes'
// older objects).
func HasCondition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == t && (c.Status == "" || c.Status == corev1.ConditionTrue) {
			return true
		}
	}
	return false
}

// IsApproved reports whether csr is approved and not denied.
func IsApproved(csr *certificatesv1.CertificateSigningRequest) bool {
	return HasCondition(csr, certificatesv1.CertificateApproved) && !HasCondition(csr, certificatesv1.CertificateDenied)
}

// The key usage sets the kubelet signers accept: exactly one of them.
var (
	kubeletClientUsages = [][]certificatesv1.KeyUsage{
		{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth},
	}
	kubeletServingUsages = [][]certificatesv1.KeyUsage{
		{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
		{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth},
	}
)

// ValidateKubeletClient checks a request for signer
// kubernetes.io/kube-apiserver-client-kubelet: subject
// "system:node:<name>" in organization exactly [system:nodes], no
// subject alternative names, and usages exactly digital signature and
// client auth (key encipherment optional).
func ValidateKubeletClient(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if err := validateNodeSubject(req); err != nil {
		return err
	}
	if len(req.DNSNames) > 0 || len(req.IPAddresses) > 0 || len(req.EmailAddresses) > 0 || len(req.URIs) > 0 {
		return errors.New("subject alternative names are not allowed")
	}
	return validateUsageSet(usages, kubeletClientUsages)
}

// ValidateKubeletServing checks a request for signer
// kubernetes.io/kubelet-serving: subject "system:node:<name>" in
// organization exactly [system:nodes], at least one DNS or IP subject
// alternative name and no email or URI ones, and usages exactly digital
// signature and server auth (key encipherment optional).
func ValidateKubeletServing(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if err := validateNodeSubject(req); err != nil {
		return err
	}
	if len(req.EmailAddresses) > 0 {
		return errors.New("email subject alternative names are not allowed")
	}
	if len(req.URIs) > 0 {
		return errors.New("URI subject alternative names are not allowed")
	}
	if len(req.DNSNames) == 0 && len(req.IPAddresses) == 0 {
		return errors.New("at least one DNS or IP subject alternative name is required")
	}
	return validateUsageSet(usages, kubeletServingUsages)
}

// ValidateAPIServerClient checks a request for signer
// kubernetes.io/kube-apiserver-client: usages must include client auth
// and may add only digital signature and key encipherment. Subjects are
// not restricted: approving a request is where they are judged.
func ValidateAPIServerClient(_ *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	client := false
	for _, u := range usages {
		switch u {
		case certificatesv1.UsageClientAuth:
			client = true
		case certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment:
		default:
			return fmt.Errorf("usage %q is not allowed in a client certificate", u)
		}
	}
	if !client {
		return fmt.Errorf("usages lack %q", certificatesv1.UsageClientAuth)
	}
	return nil
}

func validateNodeSubject(req *x509.CertificateRequest) error {
	if !slices.Equal(req.Subject.Organization, []string{NodesGroup}) {
		return fmt.Errorf("subject organization is %q, want exactly [%q]", req.Subject.Organization, NodesGroup)
	}
	name, ok := strings.CutPrefix(req.Subject.CommonName, NodeUserPrefix)
	if !ok || name == "" {
		return fmt.Errorf("subject common name %q is not %q followed by a node name", req.Subject.CommonName, NodeUserPrefix)
	}
	return nil
}

// validateUsageSet checks that usages, as a set, are one of allowed.
func validateUsageSet(usages []certificatesv1.KeyUsage, allowed [][]certificatesv1.KeyUsage) error {
	got := map[certificatesv1.KeyUsage]bool{}
	for _, u := range usages {
		got[u] = true
	}
	for _, set := range allowed {
		if len(got) != len(set) {
			continue
		}
		if !slices.ContainsFunc(set, func(u certificatesv1.KeyUsage) bool { return !got[u] }) {
			return nil
		}
	}
	var want []string
	for _, set := range allowed {
		want = append(want, fmt.Sprintf("%q", set))
	}
	return fmt.Errorf("usages %q are not one of %s", usages, strings.Join(want, " or "))
}
