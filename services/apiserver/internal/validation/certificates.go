package validation

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// LegacyUnknownSignerName is the signer of CSRs made through
// certificates.k8s.io/v1beta1 without one; v1 does not accept it.
const LegacyUnknownSignerName = "kubernetes.io/legacy-unknown"

// MinExpirationSeconds is the shortest validity a CSR may ask for.
const MinExpirationSeconds = 600

var (
	csrStatusCertificatePath = statusPath.Child("certificate")
	csrConditionsPath        = statusPath.Child("conditions")
	// signerPathRE is the part of a signer name after the domain.
	signerPathRE = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$`)
)

// validKeyUsages are the key usages of certificates.k8s.io/v1.
var validKeyUsages = []string{
	string(certificatesv1.UsageSigning), string(certificatesv1.UsageDigitalSignature),
	string(certificatesv1.UsageContentCommitment), string(certificatesv1.UsageKeyEncipherment),
	string(certificatesv1.UsageKeyAgreement), string(certificatesv1.UsageDataEncipherment),
	string(certificatesv1.UsageCertSign), string(certificatesv1.UsageCRLSign),
	string(certificatesv1.UsageEncipherOnly), string(certificatesv1.UsageDecipherOnly),
	string(certificatesv1.UsageAny), string(certificatesv1.UsageServerAuth),
	string(certificatesv1.UsageClientAuth), string(certificatesv1.UsageCodeSigning),
	string(certificatesv1.UsageEmailProtection), string(certificatesv1.UsageSMIME),
	string(certificatesv1.UsageIPsecEndSystem), string(certificatesv1.UsageIPsecTunnel),
	string(certificatesv1.UsageIPsecUser), string(certificatesv1.UsageTimestamping),
	string(certificatesv1.UsageOCSPSigning), string(certificatesv1.UsageMicrosoftSGC),
	string(certificatesv1.UsageNetscapeSGC),
}

// validateCSR checks a new CertificateSigningRequest: the request is a
// PEM CERTIFICATE REQUEST whose signature verifies, the signer name is
// a domain and a path, usages are known, the duration is at least 10
// minutes, and the status (empty on create) is consistent.
func validateCSR(csr *certificatesv1.CertificateSigningRequest) field.ErrorList {
	errs := validateMeta(&csr.ObjectMeta, false, nameIsPathSegment)
	errs = append(errs, validateCSRSpec(&csr.Spec)...)
	return append(errs, validateCSRStatus(&csr.Status)...)
}

func validateCSRSpec(spec *certificatesv1.CertificateSigningRequestSpec) field.ErrorList {
	var errs field.ErrorList
	if len(spec.Request) == 0 {
		errs = append(errs, field.Required(specPath.Child("request"), ""))
	} else if err := checkCertificateRequest(spec.Request); err != nil {
		errs = append(errs, field.Invalid(specPath.Child("request"), spec.Request, err.Error()))
	}
	errs = append(errs, validateSignerName(spec.SignerName, specPath.Child("signerName"))...)
	if spec.SignerName == LegacyUnknownSignerName {
		errs = append(errs, field.Invalid(specPath.Child("signerName"), spec.SignerName,
			"the legacy signerName is not allowed via this API version"))
	}
	if spec.ExpirationSeconds != nil && *spec.ExpirationSeconds < MinExpirationSeconds {
		errs = append(errs, field.Invalid(specPath.Child("expirationSeconds"), *spec.ExpirationSeconds,
			fmt.Sprintf("may not specify a duration less than %d seconds (10 minutes)", MinExpirationSeconds)))
	}
	if len(spec.Usages) == 0 {
		errs = append(errs, field.Required(specPath.Child("usages"), "usages must be provided"))
	}
	seen := map[certificatesv1.KeyUsage]bool{}
	for i, u := range spec.Usages {
		p := specPath.Child("usages").Index(i)
		if !contains(validKeyUsages, string(u)) {
			errs = append(errs, field.NotSupported(p, u, validKeyUsages))
		}
		if seen[u] {
			errs = append(errs, field.Duplicate(p, u))
		}
		seen[u] = true
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkCertificateRequest parses a PEM CERTIFICATE REQUEST and verifies
// its signature.
func checkCertificateRequest(data []byte) error {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return err
	}
	return req.CheckSignature()
}

// validateSignerName: "<fully qualified domain>/<path>", as
// "kubernetes.io/kube-apiserver-client-kubelet".
func validateSignerName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	domain, path, ok := strings.Cut(name, "/")
	if !ok || domain == "" || path == "" {
		return field.ErrorList{field.Invalid(fldPath, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var errs field.ErrorList
	if len(domain) > utilvalidation.DNS1123SubdomainMaxLength {
		errs = append(errs, field.TooLong(fldPath, name, utilvalidation.DNS1123SubdomainMaxLength))
	}
	for _, e := range utilvalidation.IsFullyQualifiedDomainName(fldPath, domain) {
		e.BadValue = name
		errs = append(errs, e)
	}
	if len(path) > 317 {
		errs = append(errs, field.Invalid(fldPath, name, "the path after the domain may not be longer than 317 characters"))
	} else if !signerPathRE.MatchString(path) {
		errs = append(errs, field.Invalid(fldPath, name,
			"the path after the domain must consist of alphanumeric characters, '-', '_', '.' or '/', and start and end with an alphanumeric character"))
	}
	return errs
}

// validateCSRStatus checks the conditions (Approved and Denied exclusive
// and only True, no type twice) and the issued certificate (PEM
// CERTIFICATE blocks only, set only on an approved request).
func validateCSRStatus(st *certificatesv1.CertificateSigningRequestStatus) field.ErrorList {
	var errs field.ErrorList
	seen := map[certificatesv1.RequestConditionType]bool{}
	for i, c := range st.Conditions {
		p := csrConditionsPath.Index(i)
		switch {
		case c.Type == "":
			errs = append(errs, field.Required(p.Child("type"), ""))
		case seen[c.Type]:
			errs = append(errs, field.Duplicate(p.Child("type"), c.Type))
		}
		seen[c.Type] = true
		switch c.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied:
			if c.Status != corev1.ConditionTrue {
				errs = append(errs, field.NotSupported(p.Child("status"), c.Status, []string{string(corev1.ConditionTrue)}))
			}
		default:
			switch c.Status {
			case corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown:
			case "":
				errs = append(errs, field.Required(p.Child("status"), ""))
			default:
				errs = append(errs, field.NotSupported(p.Child("status"), c.Status,
					[]string{string(corev1.ConditionTrue), string(corev1.ConditionFalse), string(corev1.ConditionUnknown)}))
			}
		}
	}
	approved, denied := seen[certificatesv1.CertificateApproved], seen[certificatesv1.CertificateDenied]
	if approved && denied {
		errs = append(errs, field.Invalid(csrConditionsPath, string(certificatesv1.CertificateDenied),
			"Approved and Denied conditions are mutually exclusive"))
	}
	if len(st.Certificate) > 0 {
		if err := checkCertificates(st.Certificate); err != nil {
			errs = append(errs, field.Invalid(csrStatusCertificatePath, "<certificate data>", err.Error()))
		}
		if !approved || denied {
			errs = append(errs, field.Invalid(csrStatusCertificatePath, "<certificate data>",
				"certificate can only be set if the Approved condition is present"))
		}
	}
	return errs
}

// checkCertificates accepts one or more PEM CERTIFICATE blocks, without
// headers, that parse.
func checkCertificates(data []byte) error {
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if n > 0 && strings.TrimSpace(string(rest)) != "" {
				return errors.New("data after the last PEM block is not allowed")
			}
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("only CERTIFICATE PEM blocks are allowed, found %q", block.Type)
		}
		if len(block.Headers) > 0 {
			return errors.New("CERTIFICATE PEM blocks may not have headers")
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("failure parsing certificate %d: %v", n+1, err)
		}
		n++
	}
	if n == 0 {
		return errors.New("must contain at least one CERTIFICATE PEM block")
	}
	return nil
}

// validateCSRUpdate checks an update of the object: its spec may not
// change (the registry keeps the stored spec and status).
func validateCSRUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	errs := validateMetaUpdate(&csr.ObjectMeta, &old.ObjectMeta)
	if !equality.Semantic.DeepEqual(csr.Spec, old.Spec) {
		errs = append(errs, field.Forbidden(specPath, "spec is immutable"))
	}
	return errs
}

// validateCSRStatusUpdate checks an update through /status: the
// certificate may be set once, the Failed condition and others changed,
// but Approved and Denied only through /approval.
func validateCSRStatusUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	errs := validateCSRStatusCommon(csr, old)
	for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied} {
		was, now := findConditions(old, t), findConditions(csr, t)
		switch {
		case len(now) > len(was):
			errs = append(errs, field.Forbidden(csrConditionsPath, fmt.Sprintf("updates may not add a condition of type %q", t)))
		case len(now) < len(was):
			errs = append(errs, field.Forbidden(csrConditionsPath, fmt.Sprintf("updates may not remove a condition of type %q", t)))
		case !equality.Semantic.DeepEqual(was, now):
			errs = append(errs, field.Forbidden(csrConditionsPath, fmt.Sprintf("updates may not modify a condition of type %q", t)))
		}
	}
	return errs
}

// ValidateApprovalUpdate checks an update through /approval: conditions
// may be added (Approved or Denied, not both) but Approved, Denied and
// Failed not removed; nothing else changes.
func ValidateApprovalUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	if csr == nil || old == nil {
		return nilObject()
	}
	errs := validateCSRStatusCommon(csr, old)
	if !equality.Semantic.DeepEqual(csr.Status.Certificate, old.Status.Certificate) {
		errs = append(errs, field.Forbidden(csrStatusCertificatePath, "the certificate may only be set through the status subresource"))
	}
	return dedupe(errs)
}

// validateCSRStatusCommon: metadata, spec unchanged, status consistent,
// Approved/Denied/Failed never removed, the certificate set only once.
func validateCSRStatusCommon(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	errs := validateCSRUpdate(csr, old)
	errs = append(errs, validateCSRStatus(&csr.Status)...)
	for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed} {
		if len(findConditions(csr, t)) < len(findConditions(old, t)) {
			errs = append(errs, field.Forbidden(csrConditionsPath, fmt.Sprintf("updates may not remove a condition of type %q", t)))
		}
	}
	if len(old.Status.Certificate) > 0 && !equality.Semantic.DeepEqual(csr.Status.Certificate, old.Status.Certificate) {
		errs = append(errs, field.Invalid(csrStatusCertificatePath, "<certificate data>", "updates may not modify existing certificate content"))
	}
	return errs
}

func findConditions(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) []certificatesv1.CertificateSigningRequestCondition {
	var out []certificatesv1.CertificateSigningRequestCondition
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			out = append(out, c)
		}
	}
	return out
}
