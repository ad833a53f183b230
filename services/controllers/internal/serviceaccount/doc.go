// Package serviceaccount is the ServiceAccount controller (kube-
// controller-manager's "serviceaccount"): every active namespace has a
// "default" ServiceAccount, created when the namespace appears and again
// whenever it is deleted. Pods without spec.serviceAccountName run as it
// (the API server's admission fills the name in).
//
// Namespaces being deleted get none: their content is on its way out,
// and the API server refuses new objects in them.
//
// Tokens are not issued yet: Kubernetes' TokenRequest API and the
// projected service account token volume that mounts one into pods come
// with the security work (signing keys, audiences, expiry, and a token
// authenticator in the API server), not with this controller. Until
// then a ServiceAccount is a name pods run as, without credentials.
package serviceaccount
