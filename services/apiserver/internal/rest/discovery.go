package rest

import (
	"encoding/json"
	"mime"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var allVerbs = metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// subresource describes a served subresource for discovery.
type subresource struct {
	kind  schema.GroupVersionKind // zero: the parent's kind
	verbs metav1.Verbs
}

var subresources = map[string]subresource{
	"status":      {verbs: metav1.Verbs{"get", "patch", "update"}},
	"finalize":    {verbs: metav1.Verbs{"update"}},
	"approval":    {verbs: metav1.Verbs{"get", "patch", "update"}},
	"scale":       {kind: schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, verbs: metav1.Verbs{"get", "patch", "update"}},
	"binding":     {kind: schema.GroupVersionKind{Version: "v1", Kind: "Binding"}, verbs: metav1.Verbs{"create"}},
	"eviction":    {kind: schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}, verbs: metav1.Verbs{"create"}},
	"log":         {kind: schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, verbs: metav1.Verbs{"get"}},
	"exec":        {kind: schema.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"}, verbs: metav1.Verbs{"create", "get"}},
	"attach":      {kind: schema.GroupVersionKind{Version: "v1", Kind: "PodAttachOptions"}, verbs: metav1.Verbs{"create", "get"}},
	"portforward": {kind: schema.GroupVersionKind{Version: "v1", Kind: "PodPortForwardOptions"}, verbs: metav1.Verbs{"create", "get"}},
}

func (s subresource) kindFor(res *api.Resource) schema.GroupVersionKind {
	if s.kind.Kind == "" {
		return res.GVK()
	}
	return s.kind
}

const aggregatedMedia = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// wantsAggregated reports whether the client accepts aggregated discovery
// in JSON (the only encoding served for it).
func wantsAggregated(r *http.Request) bool {
	for _, clause := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(clause))
		if err != nil {
			continue
		}
		if mt == mediaJSON && params["g"] == "apidiscovery.k8s.io" && params["v"] == "v2" && params["as"] == "APIGroupDiscoveryList" {
			return true
		}
	}
	return false
}

func (h *Handler) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, h.log, methodNotAllowed(r))
		return
	}
	parts := splitPath(r.URL.Path)
	switch {
	case len(parts) == 1 && parts[0] == "api":
		if wantsAggregated(r) {
			writeJSON(w, aggregatedMedia, aggregated(true))
			return
		}
		writeJSON(w, mediaJSON, &metav1.APIVersions{
			TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
			Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{
				{ClientCIDR: "0.0.0.0/0", ServerAddress: serverAddress(r)},
			},
		})
	case len(parts) == 1 && parts[0] == "apis":
		if wantsAggregated(r) {
			writeJSON(w, aggregatedMedia, aggregated(false))
			return
		}
		list := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
		for _, g := range groups() {
			list.Groups = append(list.Groups, g)
		}
		writeJSON(w, mediaJSON, list)
	case len(parts) == 2 && parts[0] == "api" && parts[1] == "v1":
		writeJSON(w, mediaJSON, resourceList(schema.GroupVersion{Version: "v1"}))
	case len(parts) == 2 && parts[0] == "apis":
		for _, g := range groups() {
			if g.Name == parts[1] {
				g.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
				writeJSON(w, mediaJSON, &g)
				return
			}
		}
		writeError(w, r, h.log, notFoundPath(r))
	case len(parts) == 3 && parts[0] == "apis":
		gv := schema.GroupVersion{Group: parts[1], Version: parts[2]}
		if len(api.InGroupVersion(gv)) == 0 {
			writeError(w, r, h.log, notFoundPath(r))
			return
		}
		writeJSON(w, mediaJSON, resourceList(gv))
	default:
		writeError(w, r, h.log, notFoundPath(r))
	}
}

func serverAddress(r *http.Request) string {
	host := r.Host
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "443")
	}
	return host
}

func writeJSON(w http.ResponseWriter, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// groups lists the named API groups with their versions.
func groups() []metav1.APIGroup {
	var out []metav1.APIGroup
	for _, gv := range api.GroupVersions() {
		if gv.Group == "" {
			continue
		}
		v := metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
		out = append(out, metav1.APIGroup{Name: gv.Group, Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v})
	}
	return out
}

func resourceList(gv schema.GroupVersion) *metav1.APIResourceList {
	list := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
	for _, res := range api.InGroupVersion(gv) {
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name: res.Resource, SingularName: res.Singular, Namespaced: res.Namespaced, Kind: res.Kind,
			Verbs: allVerbs, ShortNames: res.ShortNames, Categories: res.Categories,
		})
		for _, sub := range res.Subresources {
			sr := subresources[sub]
			k := sr.kindFor(res)
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: res.Resource + "/" + sub, Namespaced: res.Namespaced, Group: k.Group, Version: k.Version, Kind: k.Kind, Verbs: sr.verbs,
			})
		}
	}
	return list
}

// aggregated is the aggregated discovery document of the core group (core
// true) or of the named groups.
func aggregated(core bool) *apidiscoveryv2.APIGroupDiscoveryList {
	list := &apidiscoveryv2.APIGroupDiscoveryList{
		TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"},
	}
	byGroup := map[string]*apidiscoveryv2.APIGroupDiscovery{}
	var names []string
	for _, gv := range api.GroupVersions() {
		if (gv.Group == "") != core {
			continue
		}
		g, ok := byGroup[gv.Group]
		if !ok {
			g = &apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: gv.Group}}
			byGroup[gv.Group] = g
			names = append(names, gv.Group)
		}
		v := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		for _, res := range api.InGroupVersion(gv) {
			v.Resources = append(v.Resources, resourceDiscovery(res))
		}
		g.Versions = append(g.Versions, v)
	}
	sort.Strings(names)
	for _, n := range names {
		list.Items = append(list.Items, *byGroup[n])
	}
	return list
}

func resourceDiscovery(res *api.Resource) apidiscoveryv2.APIResourceDiscovery {
	scope := apidiscoveryv2.ScopeCluster
	if res.Namespaced {
		scope = apidiscoveryv2.ScopeNamespace
	}
	gvk := res.GVK()
	d := apidiscoveryv2.APIResourceDiscovery{
		Resource:         res.Resource,
		ResponseKind:     &metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
		Scope:            scope,
		SingularResource: res.Singular,
		Verbs:            allVerbs,
		ShortNames:       res.ShortNames,
		Categories:       res.Categories,
	}
	for _, sub := range res.Subresources {
		sr := subresources[sub]
		k := sr.kindFor(res)
		d.Subresources = append(d.Subresources, apidiscoveryv2.APISubresourceDiscovery{
			Subresource:  sub,
			ResponseKind: &metav1.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind},
			Verbs:        sr.verbs,
		})
	}
	return d
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
