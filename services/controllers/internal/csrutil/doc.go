// Package csrutil is what the certificate controllers (csrapproving,
// csrsigning) share: the CertificateSigningRequest client and informer
// they work on, decoding and checking a request's PKCS#10 data, its
// approval conditions, and the rules of Kubernetes' built-in signers
// (which subjects, subject alternative names and key usages each signer
// accepts), as Kubernetes documents them under "Certificate Signing
// Requests".
package csrutil
