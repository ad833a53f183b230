package routes

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

// FuzzMatch builds tables from arbitrary hosts and paths and matches
// arbitrary requests: no input may panic, and a route found must match.
func FuzzMatch(f *testing.F) {
	f.Add("foo.test", "/api/", "Prefix", "foo.test", "/api/x")
	f.Add("*.wild.test", "/", "Exact", "a.wild.test", "/")
	f.Add("", "", "ImplementationSpecific", "", "")
	f.Add("Bad_Host", "/a/../b", "Weird", "x", "//..//")
	snap := snapWith(map[string][]string{"a": {"10.0.0.1"}})
	f.Fuzz(func(t *testing.T, host, p, typ, reqHost, reqPath string) {
		ingress := ing("fuzz", 1, map[string][]path{host: {{p, typ, "a"}, {"/", "Prefix", "a"}}})
		table, _ := Build([]*networkingv1.Ingress{ingress}, snap)
		r := table.Match(reqHost, reqPath)
		if r == nil || r.PathType != networkingv1.PathTypeExact {
			return
		}
		if r.Path != CleanPath(reqPath) {
			t.Errorf("Exact %q matched request path %q (cleaned %q)", r.Path, reqPath, CleanPath(reqPath))
		}
		if !strings.HasPrefix(CleanPath(reqPath), "/") {
			t.Errorf("CleanPath(%q) = %q", reqPath, CleanPath(reqPath))
		}
	})
}
