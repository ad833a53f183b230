package routes

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Reasons of Problems, used as Event reasons.
const (
	// ReasonRejected: a rule or path is malformed and was skipped.
	ReasonRejected = "Rejected"
	// ReasonMissingService: a backend names a Service that does not
	// exist, or a port it does not have; requests get a 503.
	ReasonMissingService = "MissingService"
	// ReasonConflict: an older Ingress already claims the host and path
	// (or the default backend).
	ReasonConflict = "Conflict"
)

// Problem is something Build skipped or could not resolve in an Ingress.
type Problem struct {
	Namespace, Ingress string
	Reason, Message    string
}

// Snapshot is what Build reads besides the Ingresses.
type Snapshot interface {
	// Service returns a Service, or nil when there is none.
	Service(namespace, name string) *corev1.Service
	// EndpointSlices returns the slices of a Service
	// (kubernetes.io/service-name=name).
	EndpointSlices(namespace, service string) []*discoveryv1.EndpointSlice
}

// SortIngresses orders Ingresses oldest first (then by namespace and
// name), the order in which they claim hosts and paths.
func SortIngresses(ings []*networkingv1.Ingress) {
	slices.SortStableFunc(ings, func(a, b *networkingv1.Ingress) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
}

// builder carries the state of one Build.
type builder struct {
	snap      Snapshot
	t         *Table
	problems  []Problem
	prefixSet map[*vhost]map[string]*Route
	owner     map[*Route]bool
}

// Build returns the route table of ings (the Ingresses this controller
// serves, in any order) and what it had to skip.
func Build(ings []*networkingv1.Ingress, snap Snapshot) (*Table, []Problem) {
	ings = slices.Clone(ings)
	SortIngresses(ings)
	b := &builder{
		snap: snap,
		t: &Table{exact: map[string]*vhost{}, wildcard: map[string]*vhost{},
			Upstreams: map[string]*Upstream{}},
		prefixSet: map[*vhost]map[string]*Route{},
	}
	for _, ing := range ings {
		b.addIngress(ing)
	}
	for _, v := range b.allHosts() {
		slices.SortStableFunc(v.prefixes, func(x, y *Route) int { return cmp.Compare(len(y.prefix), len(x.prefix)) })
	}
	return b.t, b.problems
}

func (b *builder) allHosts() []*vhost {
	var out []*vhost
	for _, v := range b.t.exact {
		out = append(out, v)
	}
	for _, v := range b.t.wildcard {
		out = append(out, v)
	}
	if b.t.anyHost != nil {
		out = append(out, b.t.anyHost)
	}
	return out
}

func (b *builder) problem(ing *networkingv1.Ingress, reason, format string, args ...any) {
	b.problems = append(b.problems, Problem{Namespace: ing.Namespace, Ingress: ing.Name, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (b *builder) addIngress(ing *networkingv1.Ingress) {
	if db := ing.Spec.DefaultBackend; db != nil {
		if up := b.upstream(ing, db, "spec.defaultBackend"); up != nil {
			if b.t.Default == nil {
				b.t.Default = &Route{Namespace: ing.Namespace, Ingress: ing.Name, Upstream: up}
			} else {
				b.problem(ing, ReasonConflict, "spec.defaultBackend ignored: Ingress %s/%s already sets the default backend",
					b.t.Default.Namespace, b.t.Default.Ingress)
			}
		}
	}
	for i := range ing.Spec.Rules {
		rule := &ing.Spec.Rules[i]
		field := fmt.Sprintf("spec.rules[%d]", i)
		host := strings.ToLower(rule.Host)
		if msg := validateHost(host); msg != "" {
			b.problem(ing, ReasonRejected, "%s.host %q: %s; rule skipped", field, rule.Host, msg)
			continue
		}
		if rule.HTTP == nil {
			continue
		}
		for j := range rule.HTTP.Paths {
			b.addPath(ing, host, &rule.HTTP.Paths[j], fmt.Sprintf("%s.http.paths[%d]", field, j))
		}
	}
}

func (b *builder) addPath(ing *networkingv1.Ingress, host string, p *networkingv1.HTTPIngressPath, field string) {
	pt := networkingv1.PathTypeImplementationSpecific
	if p.PathType != nil {
		pt = *p.PathType
	}
	path := p.Path
	if path == "" && pt == networkingv1.PathTypeImplementationSpecific {
		path = "/"
	}
	switch pt {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix, networkingv1.PathTypeImplementationSpecific:
	default:
		b.problem(ing, ReasonRejected, "%s: unsupported pathType %q; path skipped", field, pt)
		return
	}
	if msg := validatePath(path); msg != "" {
		b.problem(ing, ReasonRejected, "%s.path %q: %s; path skipped", field, p.Path, msg)
		return
	}
	up := b.upstream(ing, &p.Backend, field+".backend")
	if up == nil {
		return
	}
	r := &Route{Namespace: ing.Namespace, Ingress: ing.Name, Host: host, Path: p.Path, PathType: pt, Upstream: up}
	v := b.host(host)
	var prev *Route
	if pt == networkingv1.PathTypeExact {
		if prev = v.exact[path]; prev == nil {
			v.exact[path] = r
		}
	} else {
		r.prefix = normalizePrefix(path)
		set := b.prefixSet[v]
		if prev = set[r.prefix]; prev == nil {
			set[r.prefix] = r
			v.prefixes = append(v.prefixes, r)
		}
	}
	if prev != nil && (prev.Namespace != ing.Namespace || prev.Ingress != ing.Name) {
		b.problem(ing, ReasonConflict, "%s: host %q path %q (%s) is already served by Ingress %s/%s; path skipped",
			field, displayHost(host), p.Path, pt, prev.Namespace, prev.Ingress)
	}
}

func displayHost(h string) string {
	if h == "" {
		return "*"
	}
	return h
}

// host returns the vhost of host, creating it.
func (b *builder) host(host string) *vhost {
	var v *vhost
	switch {
	case host == "":
		if b.t.anyHost == nil {
			b.t.anyHost = newVhost()
		}
		v = b.t.anyHost
	case strings.HasPrefix(host, "*."):
		if v = b.t.wildcard[host[2:]]; v == nil {
			v = newVhost()
			b.t.wildcard[host[2:]] = v
		}
	default:
		if v = b.t.exact[host]; v == nil {
			v = newVhost()
			b.t.exact[host] = v
		}
	}
	if b.prefixSet[v] == nil {
		b.prefixSet[v] = map[string]*Route{}
	}
	return v
}

func newVhost() *vhost { return &vhost{exact: map[string]*Route{}} }

// validateHost returns why host cannot be served, or "".
func validateHost(host string) string {
	if host == "" {
		return ""
	}
	var errs []string
	if strings.HasPrefix(host, "*.") {
		errs = validation.IsWildcardDNS1123Subdomain(host)
	} else {
		errs = validation.IsDNS1123Subdomain(host)
	}
	if len(errs) > 0 {
		return strings.Join(errs, "; ")
	}
	return ""
}

// validatePath returns why an Ingress path cannot be served, or "": the
// checks the API server makes of Exact and Prefix paths, for every type.
func validatePath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "must be an absolute path"
	}
	for _, seq := range []string{"//", "/./", "/../", "%2f", "%2F"} {
		if strings.Contains(p, seq) {
			return fmt.Sprintf("must not contain %q", seq)
		}
	}
	for _, suffix := range []string{"/..", "/."} {
		if strings.HasSuffix(p, suffix) {
			return fmt.Sprintf("must not end with %q", suffix)
		}
	}
	for _, c := range p {
		if c <= ' ' || c == 0x7f {
			return "must not contain spaces or control characters"
		}
	}
	return ""
}

// upstream resolves a backend; nil (with a Problem) when it cannot be
// used at all.
func (b *builder) upstream(ing *networkingv1.Ingress, be *networkingv1.IngressBackend, field string) *Upstream {
	if be.Service == nil {
		if be.Resource != nil {
			b.problem(ing, ReasonRejected, "%s: resource backends (%s %s) are not supported; skipped", field, be.Resource.Kind, be.Resource.Name)
		} else {
			b.problem(ing, ReasonRejected, "%s: no service; skipped", field)
		}
		return nil
	}
	s := be.Service
	port := s.Port.Name
	if port == "" {
		port = strconv.Itoa(int(s.Port.Number))
	}
	if s.Name == "" || port == "" || port == "0" {
		b.problem(ing, ReasonRejected, "%s: service name and port are required; skipped", field)
		return nil
	}
	up := &Upstream{Namespace: ing.Namespace, Service: s.Name, Port: port}
	if prev, ok := b.t.Upstreams[up.Key()]; ok {
		if prev.Problem != "" {
			b.problem(ing, ReasonMissingService, "%s: %s", field, prev.Problem)
		}
		return prev
	}
	b.t.Upstreams[up.Key()] = up
	up.Endpoints, up.Problem = resolve(b.snap, ing.Namespace, s)
	if up.Problem != "" {
		b.problem(ing, ReasonMissingService, "%s: %s", field, up.Problem)
	}
	return up
}

// resolve finds the ready endpoints of a Service port.
func resolve(snap Snapshot, ns string, be *networkingv1.IngressServiceBackend) ([]string, string) {
	svc := snap.Service(ns, be.Name)
	if svc == nil {
		return nil, fmt.Sprintf("service %s/%s not found", ns, be.Name)
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		if be.Port.Number == 0 {
			return nil, fmt.Sprintf("service %s/%s is of type ExternalName: the backend needs a port number", ns, be.Name)
		}
		return []string{net.JoinHostPort(svc.Spec.ExternalName, strconv.Itoa(int(be.Port.Number)))}, ""
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
			continue
		}
		if (be.Port.Name != "" && p.Name == be.Port.Name) || (be.Port.Name == "" && p.Port == be.Port.Number) {
			sp = p
			break
		}
	}
	if sp == nil {
		want := be.Port.Name
		if want == "" {
			want = strconv.Itoa(int(be.Port.Number))
		}
		return nil, fmt.Sprintf("service %s/%s has no TCP port %s", ns, be.Name, want)
	}
	seen := map[string]bool{}
	var out []string
	for _, sl := range snap.EndpointSlices(ns, be.Name) {
		if sl.AddressType != discoveryv1.AddressTypeIPv4 && sl.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		port := slicePort(sl, sp.Name)
		if port == 0 {
			continue
		}
		for _, ep := range sl.Endpoints {
			if len(ep.Addresses) == 0 || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) {
				continue
			}
			if net.ParseIP(ep.Addresses[0]) == nil {
				continue
			}
			addr := net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(port)))
			if !seen[addr] {
				seen[addr] = true
				out = append(out, addr)
			}
		}
	}
	slices.Sort(out)
	return out, ""
}

// slicePort is the TCP port named name in a slice, 0 if none.
func slicePort(sl *discoveryv1.EndpointSlice, name string) int32 {
	for _, p := range sl.Ports {
		if p.Port == nil || (p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP) {
			continue
		}
		n := ""
		if p.Name != nil {
			n = *p.Name
		}
		if n == name && *p.Port > 0 && *p.Port < 65536 {
			return *p.Port
		}
	}
	return 0
}
