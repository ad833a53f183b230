// Package tlscerts chooses the certificate of a TLS handshake by SNI from
// the kubernetes.io/tls Secrets named in the spec.tls of Ingresses.
//
// A host gets the certificate of the oldest Ingress listing it: an exact
// name first, then a wildcard entry ("*.example.com" for
// "a.example.com"); a TLS entry without hosts covers the DNS names of its
// certificate. Every other handshake (no SNI, unknown name) gets the
// default certificate: --default-ssl-certificate, or a self-signed one
// made at start, as ingress-nginx does. Secrets that are missing or hold
// no usable key pair are reported as Problems and their hosts fall back
// to the default certificate. A Cache keeps parsed key pairs by Secret
// resourceVersion, so a rotated Secret is picked up at the next Build.
package tlscerts
