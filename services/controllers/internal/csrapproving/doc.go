// Package csrapproving is the CertificateSigningRequest approver
// (kube-controller-manager's "csrapproving"): it approves the client
// certificates nodes ask for, so that a node joining with a bootstrap
// token, and a node renewing its certificate, get one without an
// administrator running `kubectl certificate approve`.
//
// A request is approved when it is for signer
// kubernetes.io/kube-apiserver-client-kubelet, is a node client
// certificate (subject "system:node:<name>" in organization exactly
// [system:nodes], no subject alternative names, usages digital signature
// and client auth, key encipherment optional), carries a valid
// signature, and was made either by a member of system:bootstrappers (a
// new node) or by that same node, user "system:node:<name>" (a renewal).
// Approval is the condition Approved (reason AutoApproved) written
// through the "approval" subresource. Every other request is left alone
// for someone else to approve or deny: this controller never denies.
//
// Kubernetes asks the authorizer (SubjectAccessReviews on
// certificatesigningrequests/nodeclient and /selfnodeclient) whether the
// requester may have such a certificate; Gantry has no such
// authorization resources, so the group and user stand in for it.
package csrapproving
