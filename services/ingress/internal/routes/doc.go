// Package routes turns the Ingresses an ingress controller serves into a
// route table and answers which backend a request goes to.
//
// The rules are those of networking.k8s.io/v1 Ingress:
//
//   - Hosts match exactly, or "*.example.com" matches one extra leading
//     label ("a.example.com", not "example.com" nor "a.b.example.com").
//     A rule without a host matches every host.
//   - Exact paths match the request path exactly; Prefix paths match it
//     element by element, split by "/" with a trailing "/" ignored ("/foo"
//     matches "/foo", "/foo/" and "/foo/bar", not "/foobar");
//     ImplementationSpecific paths are treated as Prefix.
//   - The longest matching path wins; on a tie Exact wins over Prefix.
//   - The most specific host is tried first: the exact host, then the
//     wildcard host, then the rules without a host; when none of their
//     paths match, the default backend (spec.defaultBackend of the oldest
//     Ingress that has one) serves the request, and without one there is
//     no route (404).
//   - When two Ingresses claim the same host, path and type, the older
//     one (creation time, then namespace/name) keeps it.
//
// Build is pure: it reads Services and EndpointSlices through a Snapshot
// and reports what it had to skip as Problems, which the controller turns
// into Events; bad input never fails the whole table.
package routes
