package rest

import (
	"net/http"
	"strings"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	"github.com/gantry-dev/gantry/services/apiserver/internal/authz"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// request is what a resource URL names.
type request struct {
	gv          schema.GroupVersion
	res         *api.Resource
	namespace   string
	name        string
	subresource string
	// verb is Kubernetes' verb: get, list, watch, create, update, patch,
	// delete, deletecollection.
	verb string
}

// parseResourcePath reads /api/v1/... and /apis/<group>/<version>/...
// paths. ok is false for paths that are not resource paths (discovery).
func parseResourcePath(r *http.Request) (req request, ok bool, err error) {
	parts := splitPath(r.URL.Path)
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		req.gv = schema.GroupVersion{Version: parts[1]}
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		req.gv = schema.GroupVersion{Group: parts[1], Version: parts[2]}
		parts = parts[3:]
	default:
		return req, false, nil
	}
	// /namespaces/<ns>/<resource>/... unless it is the namespace itself
	// or one of its subresources.
	if len(parts) >= 3 && parts[0] == "namespaces" && !(req.gv.Group == "" && len(parts) == 3 && isNamespaceSub(parts[2])) {
		req.namespace = parts[1]
		parts = parts[2:]
	}
	if len(parts) > 3 {
		return req, true, apierrors.NewNotFound(schema.GroupResource{}, "")
	}
	res, found := api.Lookup(req.gv.WithResource(parts[0]))
	if !found {
		return req, true, notFoundPath(r)
	}
	req.res = res
	if len(parts) >= 2 {
		req.name = parts[1]
	}
	if len(parts) == 3 {
		req.subresource = parts[2]
		if !res.HasSubresource(req.subresource) {
			return req, true, notFoundPath(r)
		}
	}
	if req.namespace != "" && !res.Namespaced {
		return req, true, notFoundPath(r)
	}
	req.verb = verbOf(r, req)
	return req, true, nil
}

func isNamespaceSub(s string) bool { return s == "status" || s == "finalize" }

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func verbOf(r *http.Request, req request) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if req.name == "" {
			if isWatch(r) {
				return "watch"
			}
			return "list"
		}
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if req.name == "" {
			return "deletecollection"
		}
		return "delete"
	}
	return strings.ToLower(r.Method)
}

func isWatch(r *http.Request) bool {
	w := r.URL.Query().Get("watch")
	return w == "true" || w == "1"
}

func notFoundPath(r *http.Request) error {
	return apierrors.NewGenericServerResponse(http.StatusNotFound, r.Method, schema.GroupResource{}, "",
		"the server could not find the requested resource", 0, false)
}

// AuthzAttributes describes r for the authorizer: a resource request, or
// a non-resource one (discovery, /version, /metrics) named by its path.
func AuthzAttributes(r *http.Request) authz.Attributes {
	req, ok, _ := parseResourcePath(r)
	if !ok {
		return authz.Attributes{Verb: strings.ToLower(r.Method), Path: r.URL.Path}
	}
	a := authz.Attributes{
		ResourceRequest: true, Verb: req.verb, APIGroup: req.gv.Group,
		Namespace: req.namespace, Name: req.name, Subresource: req.subresource, Path: r.URL.Path,
	}
	if req.res != nil {
		a.Resource = req.res.Resource
	}
	if a.Verb == "" {
		a.Verb = verbOf(r, req)
	}
	return a
}
