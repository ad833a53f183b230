package printers

import (
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

func csrCells(csr *certificatesv1.CertificateSigningRequest, now time.Time) []interface{} {
	requested := "<none>"
	if s := csr.Spec.ExpirationSeconds; s != nil {
		requested = duration.HumanDuration(time.Duration(*s) * time.Second)
	}
	return []interface{}{
		csr.Name,
		age(csr.CreationTimestamp, now),
		orNone(csr.Spec.SignerName),
		csr.Spec.Username,
		requested,
		csrCondition(csr),
	}
}

// csrCondition is Denied, Approved or Pending (in that precedence), then
// ",Failed" when the signer failed and ",Issued" once a certificate is
// set, as kubectl shows it.
func csrCondition(csr *certificatesv1.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
			failed = true
		}
	}
	s := "Pending"
	switch {
	case denied:
		s = "Denied"
	case approved:
		s = "Approved"
	}
	if failed {
		s += ",Failed"
	}
	if len(csr.Status.Certificate) > 0 {
		s += ",Issued"
	}
	return s
}
