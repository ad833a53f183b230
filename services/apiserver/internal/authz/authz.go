// Package authz decides whether an authenticated request may proceed.
// There is no RBAC yet: every authenticated user may do everything,
// except two kinds of caller that get a narrow, fixed set of rights, as a
// kubeadm cluster's RBAC gives them:
//
//   - members of system:bootstrappers (bootstrap tokens) may create, get,
//     list and watch certificatesigningrequests.certificates.k8s.io, get
//     the ConfigMap kube-public/cluster-info, get the Secret
//     kube-system/gantry-certs (and no other Secret, nor list or watch
//     Secrets), and GET the discovery and version paths; anything else
//     is 403 Forbidden;
//   - anonymous callers (no credentials) may only get the ConfigMap
//     kube-public/cluster-info; anything else is 401 Unauthorized, as it
//     was before anonymous requests were served at all.
//
// The REST and gRPC facades both ask Authorize.
package authz

import (
	"fmt"
	"strings"

	"github.com/gantry-dev/gantry/services/apiserver/internal/authn"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Attributes describe one request, as Kubernetes' authorizers see it.
type Attributes struct {
	// Verb is get, list, watch, create, update, patch, delete or
	// deletecollection for resource requests, the lower-case HTTP method
	// for others.
	Verb string
	// ResourceRequest is false for paths that name no resource
	// (discovery, /version, /metrics).
	ResourceRequest bool
	APIGroup        string
	Resource        string
	Subresource     string
	Namespace       string
	Name            string
	// Path is the URL path of a non-resource request.
	Path string
}

// ClusterInfo is the ConfigMap anyone may read: kube-public/cluster-info.
const (
	ClusterInfoNamespace = "kube-public"
	ClusterInfoName      = "cluster-info"
)

// CertsSecret is the Secret a bootstrap token may read:
// kube-system/gantry-certs, kubeadm's kubeadm-certs. It holds the
// cluster CA and the credentials control-plane hosts share, encrypted
// with a key only the administrator holds and hands to a host joining
// the control plane; without that key its contents are of no use.
const (
	CertsSecretNamespace = "kube-system"
	CertsSecretName      = "gantry-certs"
)

// Authorize returns nil when u may do what a describes; otherwise a 401
// (anonymous) or 403 (others) API error naming the user, verb and
// resource. u nil is anonymous.
func Authorize(u *authn.User, a Attributes) error {
	switch {
	case authn.IsAnonymous(u):
		if isClusterInfoGet(a) {
			return nil
		}
		return apierrors.NewUnauthorized("Unauthorized")
	case u.InGroup(authn.BootstrapDefaultGroup):
		if bootstrapAllowed(a) {
			return nil
		}
		return forbidden(u, a)
	}
	return nil
}

func isClusterInfoGet(a Attributes) bool {
	return isCoreGet(a, "configmaps", ClusterInfoNamespace, ClusterInfoName)
}

func isCertsSecretGet(a Attributes) bool {
	return isCoreGet(a, "secrets", CertsSecretNamespace, CertsSecretName)
}

// isCoreGet reports whether a is a get of the core-group object
// resource namespace/name itself (no subresource).
func isCoreGet(a Attributes, resource, namespace, name string) bool {
	return a.ResourceRequest && a.Verb == "get" && a.APIGroup == "" && a.Resource == resource &&
		a.Subresource == "" && a.Namespace == namespace && a.Name == name
}

// bootstrapAllowed lists what system:bootstrappers may do (kubeadm's
// system:node-bootstrapper and system:discovery roles, the cluster-info
// reader, and the kubeadm:kubeadm-certs role).
func bootstrapAllowed(a Attributes) bool {
	if !a.ResourceRequest {
		return (a.Verb == "get" || a.Verb == "head") && isDiscoveryPath(a.Path)
	}
	if isClusterInfoGet(a) || isCertsSecretGet(a) {
		return true
	}
	if a.APIGroup == "certificates.k8s.io" && a.Resource == "certificatesigningrequests" && a.Subresource == "" {
		switch a.Verb {
		case "create", "get", "list", "watch":
			return true
		}
	}
	return false
}

// isDiscoveryPath is what Kubernetes' system:discovery role allows.
func isDiscoveryPath(p string) bool {
	switch p {
	case "/api", "/apis", "/version", "/version/", "/healthz", "/livez", "/readyz", "/openapi":
		return true
	}
	return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/apis/") || strings.HasPrefix(p, "/openapi/")
}

// forbidden is Kubernetes' 403 for a request a denies u.
func forbidden(u *authn.User, a Attributes) error {
	if !a.ResourceRequest {
		return apierrors.NewForbidden(schema.GroupResource{}, "",
			fmt.Errorf("User %q cannot %s path %q", u.Name, a.Verb, a.Path))
	}
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	scope := "at the cluster scope"
	if a.Namespace != "" {
		scope = fmt.Sprintf("in the namespace %q", a.Namespace)
	}
	return apierrors.NewForbidden(schema.GroupResource{Group: a.APIGroup, Resource: a.Resource}, a.Name,
		fmt.Errorf("User %q cannot %s resource %q in API group %q %s", u.Name, a.Verb, res, a.APIGroup, scope))
}
