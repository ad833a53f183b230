// Package bootstrap is the client side of joining a host to a cluster,
// the way kubeadm does it with bootstrap tokens:
//
//   - CreateToken writes a bootstrap token, the Secret
//     kube-system/bootstrap-token-<id> exactly as kubeadm token create
//     writes it, with an administrator's client.
//   - Discover fetches kube-public/cluster-info anonymously, without
//     trusting the server's certificate, and accepts the cluster CA it
//     holds only if the hash of the CA's public key matches a pin the
//     administrator gave (--discovery-token-ca-cert-hash). It then
//     fetches cluster-info again over TLS verified with that CA and
//     checks it is the same. Unlike kubeadm it does not check a JWS
//     signature of cluster-info made with the token (the API server does
//     not publish one), so the CA pin is what authenticates the cluster:
//     at least one pin is required.
//   - RequestNodeCredentials authenticates with the token and asks for a
//     node client certificate (CN system:node:<name>, O system:nodes)
//     through a CertificateSigningRequest, which gantry-controllers
//     approve and sign, and waits for it.
//
// It speaks the API server's Kubernetes REST API with JSON over HTTPS,
// so that the gantry command stays small.
package bootstrap
