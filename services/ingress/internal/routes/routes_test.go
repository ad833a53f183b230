package routes

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeSnap is a Snapshot of maps.
type fakeSnap struct {
	services map[string]*corev1.Service
	slices   map[string][]*discoveryv1.EndpointSlice
}

func (f *fakeSnap) Service(ns, name string) *corev1.Service { return f.services[ns+"/"+name] }
func (f *fakeSnap) EndpointSlices(ns, svc string) []*discoveryv1.EndpointSlice {
	return f.slices[ns+"/"+svc]
}

// snapWith has services "ns/<name>" for every name, each with port 80
// named "http" whose endpoints are <ip>:8080.
func snapWith(names map[string][]string) *fakeSnap {
	f := &fakeSnap{services: map[string]*corev1.Service{}, slices: map[string][]*discoveryv1.EndpointSlice{}}
	for name, ips := range names {
		f.services["ns/"+name] = &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
		}
		sl := &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4,
			Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080))}}}
		for _, ip := range ips {
			ready := !strings.HasPrefix(ip, "!")
			sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{strings.TrimPrefix(ip, "!")},
				Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
		}
		f.slices["ns/"+name] = []*discoveryv1.EndpointSlice{sl}
	}
	return f
}

func ptr[T any](v T) *T { return &v }

type path struct {
	path, typ, svc string
}

// ing builds an Ingress created at minute age with one rule per host.
func ing(name string, age int, rules map[string][]path) *networkingv1.Ingress {
	i := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name,
		CreationTimestamp: metav1.NewTime(time.Unix(0, 0).Add(time.Duration(age) * time.Minute))}}
	hosts := make([]string, 0, len(rules))
	for h := range rules {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	for _, h := range hosts {
		r := networkingv1.IngressRule{Host: h, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}}
		for _, p := range rules[h] {
			hp := networkingv1.HTTPIngressPath{Path: p.path, Backend: backend(p.svc)}
			if p.typ != "" {
				hp.PathType = ptr(networkingv1.PathType(p.typ))
			}
			r.HTTP.Paths = append(r.HTTP.Paths, hp)
		}
		i.Spec.Rules = append(i.Spec.Rules, r)
	}
	return i
}

func backend(svc string) networkingv1.IngressBackend {
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc,
		Port: networkingv1.ServiceBackendPort{Name: "http"}}}
}

const (
	exact  = "Exact"
	prefix = "Prefix"
	impl   = "ImplementationSpecific"
)

func TestMatch(t *testing.T) {
	snap := snapWith(map[string][]string{"a": {"10.0.0.1"}, "b": {"10.0.0.2"}, "c": {"10.0.0.3"},
		"d": {"10.0.0.4"}, "e": {"10.0.0.5"}, "def": {"10.0.0.9"}})
	withDefault := ing("default", 9, nil)
	withDefault.Spec.DefaultBackend = ptr(backend("def"))
	ings := []*networkingv1.Ingress{
		ing("one", 1, map[string][]path{
			"foo.example.com": {{"/", prefix, "a"}, {"/api", prefix, "b"}, {"/api", exact, "c"}, {"/api/v2/", prefix, "d"}},
			"*.example.com":   {{"/", prefix, "e"}},
		}),
		ing("two", 2, map[string][]path{
			"":                {{"/static", impl, "c"}, {"/exact", exact, "d"}},
			"bar.example.com": {{"/only", exact, "b"}},
		}),
		withDefault,
	}
	table, problems := Build(ings, snap)
	if len(problems) != 0 {
		t.Fatalf("problems: %+v", problems)
	}
	for _, tc := range []struct {
		host, path, want string
	}{
		{"foo.example.com", "/", "a"},
		{"FOO.example.com:8443", "/x/y", "a"},
		{"foo.example.com.", "/x", "a"},
		{"foo.example.com", "/api", "c"},      // Exact beats Prefix of the same length
		{"foo.example.com", "/api/", "b"},     // Exact /api does not match /api/
		{"foo.example.com", "/api/x", "b"},    // element-wise prefix
		{"foo.example.com", "/apix", "a"},     // not an element match of /api
		{"foo.example.com", "/api/v2", "d"},   // trailing / of a Prefix ignored
		{"foo.example.com", "/api/v2/x", "d"}, // longest prefix wins
		{"foo.example.com", "/api/v2x", "b"},
		{"foo.example.com", "/api//v2/../v2/x", "d"}, // cleaned before matching
		{"foo.example.com", "/static/x", "a"},        // the host's own "/" wins before rules without host
		{"baz.example.com", "/anything", "e"},        // wildcard
		{"a.baz.example.com", "/static/x", "c"},      // wildcard covers one label only; falls to any host
		{"example.com", "/exact", "d"},
		{"example.com", "/exact/", "def"},
		{"bar.example.com", "/only", "b"},
		{"bar.example.com", "/other", "e"}, // exact host without a match falls to the wildcard
		{"bar.example.com", "/static", "e"},
		{"other.test", "/static", "c"},
		{"other.test", "/staticx", "def"},
		{"[::1]:80", "/static/a", "c"},
		{"other.test", "", "def"},
	} {
		r := table.Match(tc.host, tc.path)
		got := "<nil>"
		if r != nil {
			got = r.Upstream.Service
		}
		if got != tc.want {
			t.Errorf("Match(%q, %q) = %s, want %s", tc.host, tc.path, got, tc.want)
		}
	}
}

func TestMatchNoDefault(t *testing.T) {
	table, _ := Build([]*networkingv1.Ingress{ing("one", 1, map[string][]path{"foo.test": {{"/a", prefix, "a"}}})},
		snapWith(map[string][]string{"a": {"10.0.0.1"}}))
	if r := table.Match("foo.test", "/b"); r != nil {
		t.Errorf("got %+v, want no route", r)
	}
	if r := table.Match("bar.test", "/a"); r != nil {
		t.Errorf("got %+v, want no route", r)
	}
	var nilTable *Table
	if nilTable.Match("x", "/") != nil {
		t.Error("nil table matched")
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"":             "/",
		"/":            "/",
		"a/b":          "a/b",
		"/a//b":        "/a/b",
		"/a/./b/":      "/a/b/",
		"/a/../../b":   "/b",
		"/a/b/..":      "/a/",
		"/a/.":         "/a/",
		"/.hidden/x":   "/.hidden/x",
		"/a/b/../c/./": "/a/c/",
	} {
		if in == "a/b" {
			want = "/a/b"
		}
		if got := CleanPath(in); got != want {
			t.Errorf("CleanPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEndpointsAndProblems(t *testing.T) {
	snap := snapWith(map[string][]string{"a": {"10.0.0.2", "!10.0.0.3", "10.0.0.1", "10.0.0.1"}})
	// Service "np" has a port without a name, numbered 81.
	snap.services["ns/np"] = &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "np"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 81, Protocol: corev1.ProtocolTCP}}}}
	snap.slices["ns/np"] = []*discoveryv1.EndpointSlice{{AddressType: discoveryv1.AddressTypeIPv4,
		Ports:     []discoveryv1.EndpointPort{{Port: ptr(int32(9000))}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.1.0.1"}}}}}
	snap.services["ns/ext"] = &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ext"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.org"}}

	bad := ing("bad", 1, map[string][]path{
		"ok.test":   {{"/", prefix, "a"}, {"/missing", prefix, "nosuch"}, {"/a/../b", impl, "a"}, {"/x", "Regex", "a"}, {"rel", impl, "a"}},
		"Bad_Host!": {{"/", prefix, "a"}},
	})
	num := ing("num", 2, map[string][]path{"num.test": {{"/", prefix, "np"}}})
	num.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port = networkingv1.ServiceBackendPort{Number: 81}
	wrongPort := ing("wrongport", 3, map[string][]path{"wp.test": {{"/", prefix, "np"}}})
	wrongPort.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port = networkingv1.ServiceBackendPort{Number: 82}
	ext := ing("ext", 4, map[string][]path{"ext.test": {{"/", prefix, "ext"}}})
	ext.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port = networkingv1.ServiceBackendPort{Number: 443}
	res := ing("res", 5, map[string][]path{"res.test": {{"/", prefix, "a"}}})
	res.Spec.Rules[0].HTTP.Paths[0].Backend = networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{Kind: "Bucket", Name: "b"}}
	dup := ing("dup", 6, map[string][]path{"ok.test": {{"/", prefix, "a"}, {"/new", exact, "a"}}})
	noType := ing("notype", 7, map[string][]path{"nt.test": {{"", "", "a"}}})

	table, problems := Build([]*networkingv1.Ingress{dup, bad, num, wrongPort, ext, res, noType}, snap)

	check := func(host, path string, wantEndpoints []string, wantProblem string) {
		t.Helper()
		r := table.Match(host, path)
		if r == nil {
			t.Fatalf("Match(%s, %s) = nil", host, path)
		}
		if !slices.Equal(r.Upstream.Endpoints, wantEndpoints) || r.Upstream.Problem != wantProblem {
			t.Errorf("Match(%s, %s): endpoints %v problem %q; want %v %q", host, path, r.Upstream.Endpoints, r.Upstream.Problem, wantEndpoints, wantProblem)
		}
	}
	check("ok.test", "/", []string{"10.0.0.1:8080", "10.0.0.2:8080"}, "")
	check("ok.test", "/missing/x", nil, "service ns/nosuch not found")
	check("num.test", "/", []string{"10.1.0.1:9000"}, "")
	check("wp.test", "/", nil, "service ns/np has no TCP port 82")
	check("ext.test", "/", []string{"example.org:443"}, "")
	check("nt.test", "/anything", []string{"10.0.0.1:8080", "10.0.0.2:8080"}, "")
	check("ok.test", "/new", []string{"10.0.0.1:8080", "10.0.0.2:8080"}, "")
	if r := table.Match("ok.test", "/"); r.Ingress != "bad" {
		t.Errorf("ok.test / served by %s, want the older Ingress bad", r.Ingress)
	}
	if r := table.Match("res.test", "/"); r != nil {
		t.Errorf("resource backend routed: %+v", r)
	}

	want := []Problem{
		{"ns", "bad", ReasonRejected, `spec.rules[0].host "Bad_Host!": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'); rule skipped`},
		{"ns", "bad", ReasonMissingService, "spec.rules[1].http.paths[1].backend: service ns/nosuch not found"},
		{"ns", "bad", ReasonRejected, `spec.rules[1].http.paths[2].path "/a/../b": must not contain "/../"; path skipped`},
		{"ns", "bad", ReasonRejected, `spec.rules[1].http.paths[3]: unsupported pathType "Regex"; path skipped`},
		{"ns", "bad", ReasonRejected, `spec.rules[1].http.paths[4].path "rel": must be an absolute path; path skipped`},
		{"ns", "wrongport", ReasonMissingService, "spec.rules[0].http.paths[0].backend: service ns/np has no TCP port 82"},
		{"ns", "res", ReasonRejected, "spec.rules[0].http.paths[0].backend: resource backends (Bucket b) are not supported; skipped"},
		{"ns", "dup", ReasonConflict, `spec.rules[0].http.paths[0]: host "ok.test" path "/" (Prefix) is already served by Ingress ns/bad; path skipped`},
	}
	if !slices.Equal(problems, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", fmtProblems(problems), fmtProblems(want))
	}
}

func fmtProblems(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.Ingress + " " + p.Reason + ": " + p.Message + "\n")
	}
	return b.String()
}

func TestDefaultBackendConflict(t *testing.T) {
	snap := snapWith(map[string][]string{"a": {"10.0.0.1"}, "b": {"10.0.0.2"}})
	older, newer := ing("older", 1, nil), ing("newer", 2, nil)
	older.Spec.DefaultBackend, newer.Spec.DefaultBackend = ptr(backend("a")), ptr(backend("b"))
	table, problems := Build([]*networkingv1.Ingress{newer, older}, snap)
	if r := table.Match("x", "/"); r == nil || r.Upstream.Service != "a" {
		t.Errorf("default backend = %+v, want service a", r)
	}
	if len(problems) != 1 || problems[0].Ingress != "newer" || problems[0].Reason != ReasonConflict {
		t.Errorf("problems = %+v", problems)
	}
}
