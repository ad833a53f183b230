// Package csrapproving is the CertificateSigningRequest approver
// (kube-controller-manager's "csrapproving"): it approves the
// certificates nodes ask for, so that a node joining with a bootstrap
// token, a node renewing its client certificate, and a node asking for
// its serving certificate get one without an administrator running
// `kubectl certificate approve`.
//
// A client certificate request is approved when it is for signer
// kubernetes.io/kube-apiserver-client-kubelet, is a node client
// certificate (subject "system:node:<name>" in organization exactly
// [system:nodes], no subject alternative names, usages digital signature
// and client auth, key encipherment optional), carries a valid
// signature, and was made either by a member of system:bootstrappers (a
// new node) or by that same node, user "system:node:<name>" (a renewal).
//
// A serving certificate request is approved when it is for signer
// kubernetes.io/kubelet-serving, meets that signer's rules (subject
// "system:node:<name>" in organization exactly [system:nodes], at least
// one DNS or IP subject alternative name and no email or URI ones,
// usages digital signature and server auth, key encipherment optional),
// carries a valid signature, was made by that same node, user
// "system:node:<name>", and names no DNS name but <name>. Nobody else's
// request for it is approved: not a bootstrap token's, not another
// node's. Kubernetes itself approves no kubelet serving certificates,
// leaving them to the administrator or an external approver; Gantry
// approves a node's own request so that a joined node serves logs, exec
// and port-forward without a manual step. Known limit: the IP addresses
// are approved as the node gives them, since nothing yet checks them
// against the Node's addresses (a node asking before it has registered
// has none to check against), so a node could obtain a serving
// certificate for an address that is not its own.
//
// Approval is the condition Approved (reason AutoApproved) written
// through the "approval" subresource. Every other request is left alone
// for someone else to approve or deny: this controller never denies.
//
// Kubernetes asks the authorizer (SubjectAccessReviews on
// certificatesigningrequests/nodeclient and /selfnodeclient) whether the
// requester may have a client certificate; Gantry has no such
// authorization resources, so the group and user stand in for it.
package csrapproving
