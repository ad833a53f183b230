package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func validIngress() *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: objectMeta("web"),
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr("nginx"),
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{"*.example.com"}, SecretName: "web-tls"}},
			Rules: []networkingv1.IngressRule{{
				Host: "www.example.com",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: &prefix,
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: "web", Port: networkingv1.ServiceBackendPort{Name: "http"}}},
				}}}},
			}},
		},
	}
}

func TestValidateCreateIngress(t *testing.T) {
	path := func(i *networkingv1.Ingress) *networkingv1.HTTPIngressPath { return &i.Spec.Rules[0].HTTP.Paths[0] }
	tests := []struct {
		name   string
		mutate func(*networkingv1.Ingress)
		want   []want
	}{
		{name: "valid ingress passes", mutate: func(*networkingv1.Ingress) {}},
		{name: "default backend only passes", mutate: func(i *networkingv1.Ingress) {
			i.Spec.Rules = nil
			i.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
				Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}
		}},
		{name: "resource backend passes", mutate: func(i *networkingv1.Ingress) {
			path(i).Backend = networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{
				APIGroup: ptr("storage.example.com"), Kind: "Bucket", Name: "assets"}}
		}},
		{name: "neither rules nor default backend", mutate: func(i *networkingv1.Ingress) { i.Spec.Rules = nil },
			want: []want{invalid("spec", "either `defaultBackend` or `rules` must be specified")}},
		{name: "path type missing", mutate: func(i *networkingv1.Ingress) { path(i).PathType = nil },
			want: []want{required("spec.rules[0].http.paths[0].pathType", "pathType must be specified")}},
		{name: "unknown path type", mutate: func(i *networkingv1.Ingress) { path(i).PathType = ptr(networkingv1.PathType("Regex")) },
			want: []want{notSupported("spec.rules[0].http.paths[0].pathType", `supported values: "Exact", "ImplementationSpecific", "Prefix"`)}},
		{name: "relative and unclean paths", mutate: func(i *networkingv1.Ingress) { path(i).Path = "api//v1/.." },
			want: []want{
				invalid("spec.rules[0].http.paths[0].path", "must be an absolute path"),
				invalid("spec.rules[0].http.paths[0].path", "must not contain '//'"),
				invalid("spec.rules[0].http.paths[0].path", "cannot end with '/..'"),
			}},
		{name: "no paths", mutate: func(i *networkingv1.Ingress) { i.Spec.Rules[0].HTTP.Paths = nil },
			want: []want{required("spec.rules[0].http.paths", "")}},
		{name: "backend missing", mutate: func(i *networkingv1.Ingress) { path(i).Backend = networkingv1.IngressBackend{} },
			want: []want{invalid("spec.rules[0].http.paths[0].backend", "resource or service backend is required")}},
		{name: "both backends", mutate: func(i *networkingv1.Ingress) {
			path(i).Backend.Resource = &corev1.TypedLocalObjectReference{Kind: "Bucket", Name: "assets"}
		}, want: []want{invalid("spec.rules[0].http.paths[0].backend", "cannot set both resource and service backends")}},
		{name: "service backend without port or name", mutate: func(i *networkingv1.Ingress) {
			path(i).Backend.Service = &networkingv1.IngressServiceBackend{}
		}, want: []want{
			required("spec.rules[0].http.paths[0].backend.service.name", ""),
			required("spec.rules[0].http.paths[0].backend", "port name or number is required"),
		}},
		{name: "both port name and number", mutate: func(i *networkingv1.Ingress) { path(i).Backend.Service.Port.Number = 80 },
			want: []want{invalid("spec.rules[0].http.paths[0].backend", "cannot set both port name & port number")}},
		{name: "host is an IP", mutate: func(i *networkingv1.Ingress) { i.Spec.Rules[0].Host = "10.0.0.1" },
			want: []want{invalid("spec.rules[0].host", "must be a DNS name, not an IP address")}},
		{name: "bad wildcard host", mutate: func(i *networkingv1.Ingress) { i.Spec.Rules[0].Host = "*.*.example.com" },
			want: []want{invalid("spec.rules[0].host", "a wildcard DNS-1123 subdomain must start with '*.'")}},
		{name: "bad TLS secret name", mutate: func(i *networkingv1.Ingress) { i.Spec.TLS[0].SecretName = "Web_TLS" },
			want: []want{invalid("spec.tls[0].secretName", "a lowercase RFC 1123 subdomain")}},
		{name: "class annotation disagrees", mutate: func(i *networkingv1.Ingress) {
			i.Annotations = map[string]string{"kubernetes.io/ingress.class": "traefik"}
		}, want: []want{invalid("annotations.kubernetes.io/ingress.class", "must match `ingressClassName` when both are specified")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := validIngress()
			tc.mutate(i)
			expectErrors(t, ValidateCreate(i), tc.want...)
		})
	}

	old := validIngress()
	old.ObjectMeta = stored(old.ObjectMeta)
	t.Run("update re-validates the spec", func(t *testing.T) {
		i := old.DeepCopy()
		i.Spec.Rules[0].HTTP.Paths[0].PathType = nil
		expectErrors(t, ValidateUpdate(i, old), required("spec.rules[0].http.paths[0].pathType", "pathType must be specified"))
	})
	t.Run("status with bad addresses", func(t *testing.T) {
		i := old.DeepCopy()
		i.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "203.0.113.7"}, {IP: "x"}, {Hostname: "10.0.0.1"}}
		expectErrors(t, ValidateStatusUpdate(i, old),
			invalid("status.loadBalancer.ingress[1].ip", "must be a valid IP address"),
			invalid("status.loadBalancer.ingress[2].hostname", "must be a DNS name, not an IP address"))
	})
}

func TestValidateIngressClass(t *testing.T) {
	valid := func() *networkingv1.IngressClass {
		return &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{
			Controller: "k8s.io/ingress-nginx",
			Parameters: &networkingv1.IngressClassParametersReference{APIGroup: ptr("k8s.example.com"), Kind: "Params",
				Name: "external", Scope: ptr(networkingv1.IngressClassParametersReferenceScopeNamespace), Namespace: ptr("infra")},
		}}
	}
	tests := []struct {
		name   string
		mutate func(*networkingv1.IngressClass)
		want   []want
	}{
		{name: "valid ingress class passes", mutate: func(*networkingv1.IngressClass) {}},
		{name: "controller without a domain", mutate: func(c *networkingv1.IngressClass) { c.Spec.Controller = "nginx" },
			want: []want{invalid("spec.controller", "must be a domain-prefixed path (such as \"acme.io/foo\")")}},
		{name: "namespace scope without a namespace", mutate: func(c *networkingv1.IngressClass) { c.Spec.Parameters.Namespace = nil },
			want: []want{required("spec.parameters.namespace", "`parameters.scope` is set to 'Namespace'")}},
		{name: "unknown scope", mutate: func(c *networkingv1.IngressClass) { c.Spec.Parameters.Scope = ptr("Global") },
			want: []want{notSupported("spec.parameters.scope", `supported values: "Cluster", "Namespace"`)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(c)
			expectErrors(t, ValidateCreate(c), tc.want...)
		})
	}

	old := valid()
	old.ObjectMeta = stored(old.ObjectMeta)
	c := old.DeepCopy()
	c.Spec.Controller = "example.com/other"
	t.Run("controller is immutable", func(t *testing.T) {
		expectErrors(t, ValidateUpdate(c, old), invalid("spec.controller", "field is immutable"))
	})
}
