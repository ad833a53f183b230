package authz

import (
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/services/apiserver/internal/authn"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

func TestAuthorize(t *testing.T) {
	boot := &authn.User{Name: "system:bootstrap:abcdef", Groups: []string{"system:bootstrappers", "system:authenticated"}}
	admin := &authn.User{Name: "admin", Groups: []string{"system:masters", "system:authenticated"}}
	res := func(verb, group, resource, sub, ns, name string) Attributes {
		return Attributes{ResourceRequest: true, Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}
	}
	path := func(verb, p string) Attributes { return Attributes{Verb: verb, Path: p} }
	clusterInfo := res("get", "", "configmaps", "", "kube-public", "cluster-info")
	certs := res("get", "", "secrets", "", "kube-system", "gantry-certs")
	const ok, unauthorized, forbidden = "ok", "401", "403"
	for _, tc := range []struct {
		name string
		user *authn.User
		a    Attributes
		want string
	}{
		{"anonymous cluster-info", nil, clusterInfo, ok},
		{"anonymous user object cluster-info", authn.Anonymous(), clusterInfo, ok},
		{"anonymous other configmap", nil, res("get", "", "configmaps", "", "kube-public", "other"), unauthorized},
		{"anonymous cluster-info in other namespace", nil, res("get", "", "configmaps", "", "default", "cluster-info"), unauthorized},
		{"anonymous list configmaps", nil, res("list", "", "configmaps", "", "kube-public", ""), unauthorized},
		{"anonymous update cluster-info", nil, res("update", "", "configmaps", "", "kube-public", "cluster-info"), unauthorized},
		{"anonymous discovery", nil, path("get", "/api"), unauthorized},
		{"anonymous pods", nil, res("list", "", "pods", "", "default", ""), unauthorized},

		{"bootstrap create csr", boot, res("create", "certificates.k8s.io", "certificatesigningrequests", "", "", ""), ok},
		{"bootstrap get csr", boot, res("get", "certificates.k8s.io", "certificatesigningrequests", "", "", "csr-1"), ok},
		{"bootstrap list csr", boot, res("list", "certificates.k8s.io", "certificatesigningrequests", "", "", ""), ok},
		{"bootstrap watch csr", boot, res("watch", "certificates.k8s.io", "certificatesigningrequests", "", "", ""), ok},
		{"bootstrap delete csr", boot, res("delete", "certificates.k8s.io", "certificatesigningrequests", "", "", "csr-1"), forbidden},
		{"bootstrap approve csr", boot, res("update", "certificates.k8s.io", "certificatesigningrequests", "approval", "", "csr-1"), forbidden},
		{"bootstrap csr status", boot, res("update", "certificates.k8s.io", "certificatesigningrequests", "status", "", "csr-1"), forbidden},
		{"bootstrap cluster-info", boot, clusterInfo, ok},
		{"bootstrap other configmap", boot, res("get", "", "configmaps", "", "kube-system", "kubeadm-config"), forbidden},
		{"bootstrap list pods", boot, res("list", "", "pods", "", "default", ""), forbidden},
		{"bootstrap secrets", boot, res("get", "", "secrets", "", "kube-system", "bootstrap-token-abcdef"), forbidden},
		{"bootstrap get gantry-certs", boot, certs, ok},
		{"bootstrap list secrets", boot, res("list", "", "secrets", "", "kube-system", ""), forbidden},
		{"bootstrap list gantry-certs by name", boot, res("list", "", "secrets", "", "kube-system", "gantry-certs"), forbidden},
		{"bootstrap watch gantry-certs", boot, res("watch", "", "secrets", "", "kube-system", "gantry-certs"), forbidden},
		{"bootstrap update gantry-certs", boot, res("update", "", "secrets", "", "kube-system", "gantry-certs"), forbidden},
		{"bootstrap patch gantry-certs", boot, res("patch", "", "secrets", "", "kube-system", "gantry-certs"), forbidden},
		{"bootstrap delete gantry-certs", boot, res("delete", "", "secrets", "", "kube-system", "gantry-certs"), forbidden},
		{"bootstrap other secret", boot, res("get", "", "secrets", "", "kube-system", "gantry-certs-2"), forbidden},
		{"bootstrap gantry-certs in other namespace", boot, res("get", "", "secrets", "", "default", "gantry-certs"), forbidden},
		{"bootstrap gantry-certs all namespaces", boot, res("get", "", "secrets", "", "", "gantry-certs"), forbidden},
		{"bootstrap gantry-certs configmap", boot, res("get", "", "configmaps", "", "kube-system", "gantry-certs"), forbidden},
		{"bootstrap gantry-certs other group", boot, res("get", "example.com", "secrets", "", "kube-system", "gantry-certs"), forbidden},
		{"bootstrap gantry-certs subresource", boot, res("get", "", "secrets", "status", "kube-system", "gantry-certs"), forbidden},
		{"anonymous gantry-certs", nil, certs, unauthorized},
		{"bootstrap discovery /api", boot, path("get", "/api"), ok},
		{"bootstrap discovery group", boot, path("get", "/apis/certificates.k8s.io/v1"), ok},
		{"bootstrap version", boot, path("get", "/version"), ok},
		{"bootstrap openapi", boot, path("get", "/openapi/v3"), ok},
		{"bootstrap metrics", boot, path("get", "/metrics"), forbidden},
		{"bootstrap post discovery", boot, path("post", "/api"), forbidden},

		{"admin anything", admin, res("delete", "", "pods", "", "default", "x"), ok},
		{"admin metrics", admin, path("get", "/metrics"), ok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Authorize(tc.user, tc.a)
			got := ok
			switch {
			case apierrors.IsUnauthorized(err):
				got = unauthorized
			case apierrors.IsForbidden(err):
				got = forbidden
			case err != nil:
				t.Fatalf("unexpected error %v", err)
			}
			if got != tc.want {
				t.Fatalf("got %s (%v), want %s", got, err, tc.want)
			}
		})
	}
}

func TestForbiddenMessage(t *testing.T) {
	boot := &authn.User{Name: "system:bootstrap:abcdef", Groups: []string{"system:bootstrappers"}}
	for _, tc := range []struct {
		a    Attributes
		want string
	}{
		{Attributes{ResourceRequest: true, Verb: "list", Resource: "pods", Namespace: "default"},
			`pods is forbidden: User "system:bootstrap:abcdef" cannot list resource "pods" in API group "" in the namespace "default"`},
		{Attributes{ResourceRequest: true, Verb: "get", Resource: "nodes", Name: "n1"},
			`nodes "n1" is forbidden: User "system:bootstrap:abcdef" cannot get resource "nodes" in API group "" at the cluster scope`},
		{Attributes{ResourceRequest: true, Verb: "update", APIGroup: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: "approval", Name: "c"},
			`certificatesigningrequests.certificates.k8s.io "c" is forbidden: User "system:bootstrap:abcdef" cannot update resource "certificatesigningrequests/approval" in API group "certificates.k8s.io" at the cluster scope`},
		{Attributes{Verb: "get", Path: "/metrics"}, `forbidden: User "system:bootstrap:abcdef" cannot get path "/metrics"`},
	} {
		err := Authorize(boot, tc.a)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %s", err, tc.want)
		}
	}
}
