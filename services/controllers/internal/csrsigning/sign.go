package csrsigning

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
)

// Backdate is how long before the signing a certificate becomes valid,
// so that nodes whose clocks lag a little accept it.
const Backdate = 5 * time.Minute

// MinDuration is the shortest validity spec.expirationSeconds may ask
// for; shorter asks get this much.
const MinDuration = 10 * time.Minute

// shortDuration: certificates asking for less are valid for their full
// duration from now (the back-dating is added); longer ones include it.
const shortDuration = 8 * time.Hour

// Duration is the validity of a certificate for a request asking for
// expirationSeconds (nil: no ask), at most longest.
func Duration(longest time.Duration, expirationSeconds *int32) time.Duration {
	if expirationSeconds == nil {
		return longest
	}
	d := time.Duration(*expirationSeconds) * time.Second
	return min(max(d, MinDuration), longest)
}

// validity is when a certificate signed at now for ttl is valid, cut at
// the CA's own validity.
func validity(now time.Time, ttl time.Duration, ca *x509.Certificate) (notBefore, notAfter time.Time, err error) {
	if !now.Before(ca.NotAfter) {
		return time.Time{}, time.Time{}, fmt.Errorf("the cluster signing CA expired at %s", ca.NotAfter.UTC().Format(time.RFC3339))
	}
	notBefore = now.Add(-Backdate)
	if ttl < shortDuration {
		notAfter = now.Add(ttl)
	} else {
		notAfter = notBefore.Add(ttl)
	}
	if notBefore.Before(ca.NotBefore) {
		notBefore = ca.NotBefore
	}
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	return notBefore, notAfter, nil
}

var keyUsageNames = map[certificatesv1.KeyUsage]x509.KeyUsage{
	certificatesv1.UsageSigning:           x509.KeyUsageDigitalSignature,
	certificatesv1.UsageDigitalSignature:  x509.KeyUsageDigitalSignature,
	certificatesv1.UsageContentCommitment: x509.KeyUsageContentCommitment,
	certificatesv1.UsageKeyEncipherment:   x509.KeyUsageKeyEncipherment,
	certificatesv1.UsageKeyAgreement:      x509.KeyUsageKeyAgreement,
	certificatesv1.UsageDataEncipherment:  x509.KeyUsageDataEncipherment,
	certificatesv1.UsageCertSign:          x509.KeyUsageCertSign,
	certificatesv1.UsageCRLSign:           x509.KeyUsageCRLSign,
	certificatesv1.UsageEncipherOnly:      x509.KeyUsageEncipherOnly,
	certificatesv1.UsageDecipherOnly:      x509.KeyUsageDecipherOnly,
}

var extKeyUsageNames = map[certificatesv1.KeyUsage]x509.ExtKeyUsage{
	certificatesv1.UsageAny:             x509.ExtKeyUsageAny,
	certificatesv1.UsageServerAuth:      x509.ExtKeyUsageServerAuth,
	certificatesv1.UsageClientAuth:      x509.ExtKeyUsageClientAuth,
	certificatesv1.UsageCodeSigning:     x509.ExtKeyUsageCodeSigning,
	certificatesv1.UsageEmailProtection: x509.ExtKeyUsageEmailProtection,
	certificatesv1.UsageSMIME:           x509.ExtKeyUsageEmailProtection,
	certificatesv1.UsageIPsecEndSystem:  x509.ExtKeyUsageIPSECEndSystem,
	certificatesv1.UsageIPsecTunnel:     x509.ExtKeyUsageIPSECTunnel,
	certificatesv1.UsageIPsecUser:       x509.ExtKeyUsageIPSECUser,
	certificatesv1.UsageTimestamping:    x509.ExtKeyUsageTimeStamping,
	certificatesv1.UsageOCSPSigning:     x509.ExtKeyUsageOCSPSigning,
	certificatesv1.UsageMicrosoftSGC:    x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	certificatesv1.UsageNetscapeSGC:     x509.ExtKeyUsageNetscapeServerGatedCrypto,
}

// keyUsages maps spec.usages to X.509 key usages and extended key usages.
func keyUsages(usages []certificatesv1.KeyUsage) (x509.KeyUsage, []x509.ExtKeyUsage, error) {
	var ku x509.KeyUsage
	var ext []x509.ExtKeyUsage
	seen := map[x509.ExtKeyUsage]bool{}
	for _, u := range usages {
		if k, ok := keyUsageNames[u]; ok {
			ku |= k
			continue
		}
		e, ok := extKeyUsageNames[u]
		if !ok {
			return 0, nil, fmt.Errorf("unknown key usage %q", u)
		}
		if !seen[e] {
			seen[e] = true
			ext = append(ext, e)
		}
	}
	return ku, ext, nil
}

// Sign issues the certificate of req, signed by ca at now, valid for ttl
// (see validity) with usages, and returns it PEM-encoded. It has req's
// subject, public key and subject alternative names (the signers' rules,
// checked before, say which may be there) and no other extension of req.
func Sign(ca *CA, req *x509.CertificateRequest, usages []certificatesv1.KeyUsage, ttl time.Duration, now time.Time) ([]byte, error) {
	if ca == nil || req == nil {
		return nil, errors.New("sign: no CA or no request")
	}
	ku, ext, err := keyUsages(usages)
	if err != nil {
		return nil, err
	}
	notBefore, notAfter, err := validity(now, ttl, ca.Cert)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            req.RawSubject,
		Subject:               req.Subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              ku,
		ExtKeyUsage:           ext,
		BasicConstraintsValid: true,
		IsCA:                  false,
		DNSNames:              req.DNSNames,
		IPAddresses:           req.IPAddresses,
		EmailAddresses:        req.EmailAddresses,
		URIs:                  req.URIs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, req.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
