package validation

import (
	"fmt"
	"net/netip"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	ingressClassAnnotation       = "kubernetes.io/ingress.class"
	maxLenIngressClassController = 250
)

var (
	supportedPathTypes = sets.New(networkingv1.PathTypeExact, networkingv1.PathTypePrefix,
		networkingv1.PathTypeImplementationSpecific)
	invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = []string{"/..", "/."}
	supportedParamScopes = sets.New(networkingv1.IngressClassParametersReferenceScopeNamespace,
		networkingv1.IngressClassParametersReferenceScopeCluster)
)

// Ingresses.

func validateIngressCreate(ing *networkingv1.Ingress) field.ErrorList {
	errs := validateIngress(ing)
	if v, ok := ing.Annotations[ingressClassAnnotation]; ok && ing.Spec.IngressClassName != nil && v != *ing.Spec.IngressClassName {
		// Kubernetes reports this one under "annotations", not metadata.
		errs = append(errs, field.Invalid(field.NewPath("annotations").Child(ingressClassAnnotation), v,
			"must match `ingressClassName` when both are specified"))
	}
	return errs
}

func validateIngressUpdate(ing, old *networkingv1.Ingress) field.ErrorList {
	return append(validateMetaUpdate(&ing.ObjectMeta, &old.ObjectMeta), validateIngress(ing)...)
}

func validateIngress(ing *networkingv1.Ingress) field.ErrorList {
	errs := validateMeta(&ing.ObjectMeta, true, nameIsDNSSubdomain)
	spec := &ing.Spec
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		errs = append(errs, field.Invalid(specPath, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		errs = append(errs, validateIngressBackend(spec.DefaultBackend, specPath.Child("defaultBackend"))...)
	}
	for i := range spec.Rules {
		errs = append(errs, validateIngressRule(&spec.Rules[i], specPath.Child("rules").Index(i))...)
	}
	for i, tls := range spec.TLS {
		p := specPath.Child("tls").Index(i)
		for j, host := range tls.Hosts {
			errs = append(errs, validateIngressHost(host, p.Child("hosts").Index(j))...)
		}
		if tls.SecretName != "" {
			errs = append(errs, validateName(nameIsDNSSubdomain, tls.SecretName, p.Child("secretName"))...)
		}
	}
	if spec.IngressClassName != nil {
		errs = append(errs, validateName(nameIsDNSSubdomain, *spec.IngressClassName, specPath.Child("ingressClassName"))...)
	}
	return errs
}

// validateIngressHost accepts a DNS name or a wildcard one ("*.example.com").
func validateIngressHost(host string, fldPath *field.Path) field.ErrorList {
	if strings.Contains(host, "*") {
		return invalidEach(fldPath, host, utilvalidation.IsWildcardDNS1123Subdomain(host))
	}
	return invalidEach(fldPath, host, utilvalidation.IsDNS1123Subdomain(host))
}

func validateIngressRule(rule *networkingv1.IngressRule, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if rule.Host != "" {
		if _, err := netip.ParseAddr(rule.Host); err == nil {
			errs = append(errs, field.Invalid(fldPath.Child("host"), rule.Host, "must be a DNS name, not an IP address"))
		}
		errs = append(errs, validateIngressHost(rule.Host, fldPath.Child("host"))...)
	}
	if rule.HTTP == nil {
		return errs
	}
	httpPath := fldPath.Child("http")
	if len(rule.HTTP.Paths) == 0 {
		errs = append(errs, field.Required(httpPath.Child("paths"), ""))
	}
	for i := range rule.HTTP.Paths {
		errs = append(errs, validateHTTPIngressPath(&rule.HTTP.Paths[i], httpPath.Child("paths").Index(i))...)
	}
	return errs
}

func validateHTTPIngressPath(p *networkingv1.HTTPIngressPath, fldPath *field.Path) field.ErrorList {
	if p.PathType == nil {
		return field.ErrorList{field.Required(fldPath.Child("pathType"), "pathType must be specified")}
	}
	var errs field.ErrorList
	pathPath := fldPath.Child("path")
	switch *p.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(pathPath, p.Path, "must be an absolute path"))
		}
		for _, seq := range invalidPathSequences {
			if strings.Contains(p.Path, seq) {
				errs = append(errs, field.Invalid(pathPath, p.Path, fmt.Sprintf("must not contain '%s'", seq)))
			}
		}
		for _, suffix := range invalidPathSuffixes {
			if strings.HasSuffix(p.Path, suffix) {
				errs = append(errs, field.Invalid(pathPath, p.Path, fmt.Sprintf("cannot end with '%s'", suffix)))
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(pathPath, p.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("pathType"), *p.PathType, sets.List(supportedPathTypes)))
	}
	return append(errs, validateIngressBackend(&p.Backend, fldPath.Child("backend"))...)
}

// validateIngressBackend requires a service (by name, with a port name or
// number) or a resource, not both.
func validateIngressBackend(b *networkingv1.IngressBackend, fldPath *field.Path) field.ErrorList {
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(fldPath, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		return validateTypedLocalObjectReference(b.Resource.APIGroup, b.Resource.Kind, b.Resource.Name, fldPath.Child("resource"))
	case b.Service == nil:
		return field.ErrorList{field.Invalid(fldPath, "", "resource or service backend is required")}
	}
	var errs field.ErrorList
	svc := b.Service
	if svc.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("service", "name"), ""))
	} else {
		errs = append(errs, validateName(serviceNameFunc, svc.Name, fldPath.Child("service", "name"))...)
	}
	hasName, hasNumber := svc.Port.Name != "", svc.Port.Number != 0
	switch {
	case hasName && hasNumber:
		errs = append(errs, field.Invalid(fldPath, "", "cannot set both port name & port number"))
	case hasName:
		errs = append(errs, invalidEach(fldPath.Child("service", "port", "name"), svc.Port.Name, utilvalidation.IsValidPortName(svc.Port.Name))...)
	case hasNumber:
		errs = append(errs, invalidEach(fldPath.Child("service", "port", "number"), svc.Port.Number, utilvalidation.IsValidPortNum(int(svc.Port.Number)))...)
	default:
		errs = append(errs, field.Required(fldPath, "port name or number is required"))
	}
	return errs
}

func validateTypedLocalObjectReference(apiGroup *string, kind, name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if apiGroup != nil {
		errs = append(errs, validateDNS1123Subdomain(*apiGroup, fldPath.Child("apiGroup"))...)
	}
	for _, f := range []struct{ name, value string }{{"kind", kind}, {"name", name}} {
		if f.value == "" {
			errs = append(errs, field.Required(fldPath.Child(f.name), ""))
		} else {
			errs = append(errs, invalidEach(fldPath.Child(f.name), f.value, content.IsPathSegmentName(f.value))...)
		}
	}
	return errs
}

func validateIngressStatusUpdate(ing, old *networkingv1.Ingress) field.ErrorList {
	errs := validateMetaUpdate(&ing.ObjectMeta, &old.ObjectMeta)
	oldIPs := sets.New[string]()
	for _, i := range old.Status.LoadBalancer.Ingress {
		oldIPs.Insert(i.IP)
	}
	for i, lb := range ing.Status.LoadBalancer.Ingress {
		p := field.NewPath("status", "loadBalancer", "ingress").Index(i)
		if lb.IP != "" {
			errs = append(errs, utilvalidation.IsValidIPForLegacyField(p.Child("ip"), lb.IP, true, sets.List(oldIPs))...)
		}
		errs = append(errs, validateLoadBalancerHostname(lb.Hostname, p.Child("hostname"))...)
	}
	return errs
}

// Ingress classes.

func validateIngressClass(ic *networkingv1.IngressClass) field.ErrorList {
	errs := validateMeta(&ic.ObjectMeta, false, nameIsDNSSubdomain)
	controllerPath := specPath.Child("controller")
	if len(ic.Spec.Controller) > maxLenIngressClassController {
		errs = append(errs, field.TooLong(controllerPath, "", maxLenIngressClassController))
	}
	errs = append(errs, utilvalidation.IsDomainPrefixedPath(controllerPath, ic.Spec.Controller)...)
	return append(errs, validateIngressClassParameters(ic.Spec.Parameters, specPath.Child("parameters"))...)
}

func validateIngressClassUpdate(ic, old *networkingv1.IngressClass) field.ErrorList {
	errs := validateMetaUpdate(&ic.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateImmutable(ic.Spec.Controller, old.Spec.Controller, specPath.Child("controller"))...)
	return append(errs, validateIngressClass(ic)...)
}

func validateIngressClassParameters(p *networkingv1.IngressClassParametersReference, fldPath *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	errs := validateTypedLocalObjectReference(p.APIGroup, p.Kind, p.Name, fldPath)
	if p.Scope == nil {
		return append(errs, field.Required(fldPath.Child("scope"), ""))
	}
	switch *p.Scope {
	case networkingv1.IngressClassParametersReferenceScopeNamespace:
		if p.Namespace == nil {
			errs = append(errs, field.Required(fldPath.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
		} else {
			errs = append(errs, validateName(namespaceNameFunc, *p.Namespace, fldPath.Child("namespace"))...)
		}
	case networkingv1.IngressClassParametersReferenceScopeCluster:
		if p.Namespace != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("scope"), *p.Scope, sets.List(supportedParamScopes)))
	}
	return errs
}
