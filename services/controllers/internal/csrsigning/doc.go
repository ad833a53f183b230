// Package csrsigning is the CertificateSigningRequest signer
// (kube-controller-manager's "csrsigning"): it issues certificates from
// the cluster CA (--cluster-signing-cert-file, --cluster-signing-key-file)
// for approved requests to Kubernetes' built-in signers:
//
//   - kubernetes.io/kube-apiserver-client-kubelet: nodes' client
//     certificates (subject "system:node:<name>" in organization exactly
//     [system:nodes], no subject alternative names, usages digital
//     signature and client auth, key encipherment optional);
//   - kubernetes.io/kubelet-serving: nodes' serving certificates (the
//     same subject, at least one DNS or IP subject alternative name and
//     no email or URI ones, usages digital signature and server auth, key
//     encipherment optional);
//   - kubernetes.io/kube-apiserver-client: any client certificate
//     (usages client auth, optionally digital signature and key
//     encipherment).
//
// kubernetes.io/legacy-unknown and other signers are left alone. A
// request that is approved, not yet signed and not failed, but breaks
// its signer's rules (or whose PKCS#10 data is bad), gets the condition
// Failed (reason SignerValidationFailure) instead of a certificate.
//
// The certificate has the request's subject and public key, its DNS and
// IP names (and, for kube-apiserver-client, email and URI names), the key
// usages of spec.usages, and no other extension of the request. It is
// valid from five minutes ago (clock skew) for --cluster-signing-duration,
// or spec.expirationSeconds when shorter (at least ten minutes), and never
// past the CA's own expiry. The CA key may be ECDSA or RSA, in PEM as
// SEC 1 ("EC PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") or PKCS#8
// ("PRIVATE KEY"). The files are read when the controller starts.
package csrsigning
