package routes

import (
	"net"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// Upstream is a Service port an Ingress sends traffic to, resolved to
// the ready endpoints of the Service.
type Upstream struct {
	Namespace string
	Service   string
	// Port is the Ingress' service port: a number or a name.
	Port string
	// Endpoints are the ready endpoints, "ip:port", sorted.
	Endpoints []string
	// Problem, when set, says why there are no endpoints to send to
	// (the Service or its port is missing); the 503 page shows it.
	Problem string
}

// Key identifies the upstream (namespace/service:port), for round-robin
// state that outlives a rebuilt table.
func (u *Upstream) Key() string { return u.Namespace + "/" + u.Service + ":" + u.Port }

// Route is one path of one Ingress rule (or its default backend).
type Route struct {
	Namespace string
	Ingress   string
	Host      string // "" for every host
	Path      string // as written in the Ingress
	PathType  networkingv1.PathType
	Upstream  *Upstream

	prefix string // normalized Prefix path: no trailing "/", "" for "/"
}

// vhost holds the paths of one host.
type vhost struct {
	exact    map[string]*Route
	prefixes []*Route // longest normalized prefix first
}

func (v *vhost) match(path string) *Route {
	if r, ok := v.exact[path]; ok {
		return r
	}
	for _, r := range v.prefixes {
		if prefixMatches(r.prefix, path) {
			return r
		}
	}
	return nil
}

// Table is an immutable route table; Match is safe for concurrent use.
type Table struct {
	exact    map[string]*vhost // by host
	wildcard map[string]*vhost // by the host without its "*."
	anyHost  *vhost
	// Default serves requests no rule matches; nil for none.
	Default *Route
	// Upstreams are every upstream of the table, by Key.
	Upstreams map[string]*Upstream
}

// Match returns the route of a request for host (as in the Host header,
// a port allowed) and path (the URL path), or nil when no rule and no
// default backend matches.
func (t *Table) Match(host, path string) *Route {
	if t == nil {
		return nil
	}
	host = NormalizeHost(host)
	path = CleanPath(path)
	if v := t.exact[host]; v != nil {
		if r := v.match(path); r != nil {
			return r
		}
	}
	if i := strings.IndexByte(host, '.'); i > 0 {
		if v := t.wildcard[host[i+1:]]; v != nil {
			if r := v.match(path); r != nil {
				return r
			}
		}
	}
	if t.anyHost != nil {
		if r := t.anyHost.match(path); r != nil {
			return r
		}
	}
	return t.Default
}

// NormalizeHost lowercases host and drops its port and a trailing dot.
func NormalizeHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// CleanPath normalizes a request path for matching as nginx does before
// choosing a location: a leading "/", repeated slashes merged, "." and
// ".." segments resolved; a trailing "/" is kept.
func CleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return p
	}
	trailing := strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")
	var out []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	s := "/" + strings.Join(out, "/")
	if trailing && s != "/" {
		s += "/"
	}
	return s
}

// normalizePrefix is the form of a Prefix path used for matching.
func normalizePrefix(p string) string { return strings.TrimRight(p, "/") }

// prefixMatches reports whether the normalized prefix matches path
// element-wise.
func prefixMatches(prefix, path string) bool {
	if prefix == "" {
		return true
	}
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return len(path) == len(prefix) || path[len(prefix)] == '/'
}
