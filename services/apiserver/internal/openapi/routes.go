package openapi

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// route is one URL path of the API with the operations served on it. It
// is independent of the OpenAPI version; v2.go and v3.go render it.
type route struct {
	path   string
	params []param // shared by every operation of the path
	ops    []operation
}

// operation is one HTTP method on a route.
type operation struct {
	method      string // lower case, as OpenAPI path items name them
	id          string
	description string
	tag         string
	action      string                  // x-kubernetes-action; "" for none
	gvk         schema.GroupVersionKind // x-kubernetes-group-version-kind when action is set
	params      []param
	body        reflect.Type // request body; nil for none
	bodyTypes   []string     // media types accepted for the body
	response    reflect.Type
	produces    []string // media types of the response
	codes       []int    // success status codes
}

// Media types of requests and responses.
var (
	objectTypes = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	listTypes   = append(append([]string{}, objectTypes...),
		"application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch")
	anyType    = []string{"*/*"}
	patchTypes = []string{
		"application/apply-patch+yaml",
		"application/json-patch+json",
		"application/merge-patch+json",
		"application/strategic-merge-patch+json",
	}
	logTypes = []string{"text/plain", "application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
)

var (
	stringType        = reflect.TypeOf("")
	statusType        = reflect.TypeOf(metav1.Status{})
	deleteOptionsType = reflect.TypeOf(metav1.DeleteOptions{})
	patchType         = reflect.TypeOf(metav1.Patch{})
	resourceListType  = reflect.TypeOf(metav1.APIResourceList{})
)

// groupVersionRoutes lists the routes of one served group version: its
// discovery document and every operation of its resources.
func groupVersionRoutes(gv schema.GroupVersion, resources []*api.Resource) ([]route, error) {
	prefix := apiPrefix(gv)
	n := newNaming(gv)
	routes := []route{{
		path: prefix + "/",
		ops: []operation{{
			method: "get", id: "get" + n.ident + "APIResources", description: "get available resources",
			tag: n.tag, response: resourceListType, produces: objectTypes, codes: []int{http.StatusOK},
		}},
	}}
	for _, r := range resources {
		rr, err := resourceRoutes(r, n)
		if err != nil {
			return nil, err
		}
		routes = append(routes, rr...)
	}
	return routes, nil
}

func apiPrefix(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "/api/" + gv.Version
	}
	return "/apis/" + gv.Group + "/" + gv.Version
}

// naming derives operation ids and tags as kube-apiserver spells them:
// listAppsV1NamespacedDeployment, tag apps_v1.
type naming struct {
	ident string // "AppsV1", "CoreV1", "NetworkingV1"
	tag   string // "apps_v1", "core_v1", "networking_v1"
}

func newNaming(gv schema.GroupVersion) naming {
	group := "Core"
	if gv.Group != "" {
		group = ""
		for _, part := range strings.Split(strings.TrimSuffix(gv.Group, ".k8s.io"), ".") {
			group += upperFirst(part)
		}
	}
	return naming{
		ident: group + upperFirst(gv.Version),
		tag:   strings.ToLower(group[:1]) + group[1:] + "_" + gv.Version,
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// resourceInfo holds what the operations of one resource are built from.
type resourceInfo struct {
	*api.Resource
	naming
	kindType reflect.Type
	listType reflect.Type
	scope    string // "Namespaced" in operation ids of namespaced resources
}

func resourceRoutes(r *api.Resource, n naming) ([]route, error) {
	res := &resourceInfo{
		Resource: r,
		naming:   n,
		kindType: reflect.TypeOf(r.New()).Elem(),
		listType: reflect.TypeOf(r.NewList()).Elem(),
	}
	if r.Namespaced {
		res.scope = "Namespaced"
	}
	routes := res.collectionRoutes()
	routes = append(routes, res.itemRoute())
	for _, sub := range r.Subresources {
		ops, ok := subresources[sub]
		if !ok {
			return nil, fmt.Errorf("openapi: %s: no operations known for subresource %q", r, sub)
		}
		routes = append(routes, route{
			path:   res.itemPath() + "/" + sub,
			params: res.itemParams(),
			ops:    ops(res),
		})
	}
	return routes, nil
}

// collectionPath is /api/v1/namespaces/{namespace}/pods or /api/v1/nodes.
func (r *resourceInfo) collectionPath() string {
	if r.Namespaced {
		return apiPrefix(r.GroupVersion()) + "/namespaces/{namespace}/" + r.Resource.Resource
	}
	return apiPrefix(r.GroupVersion()) + "/" + r.Resource.Resource
}

func (r *resourceInfo) itemPath() string { return r.collectionPath() + "/{name}" }

func (r *resourceInfo) collectionParams() []param {
	if r.Namespaced {
		return []param{namespaceParam, prettyParam}
	}
	return []param{prettyParam}
}

func (r *resourceInfo) itemParams() []param {
	name := pathParam("name", "name of the "+r.Kind)
	return append([]param{name}, r.collectionParams()...)
}

// collectionRoutes: list and create; for namespaced resources also the
// list across all namespaces.
func (r *resourceInfo) collectionRoutes() []route {
	list := r.op("get", "list", "list", "", "list or watch objects of kind "+r.Kind)
	list.params, list.response, list.produces = listParams, r.listType, listTypes
	create := r.writeOp("post", "create", "post", "", "create "+article(r.Kind)+" "+r.Kind, createParams)
	create.codes = []int{http.StatusOK, http.StatusCreated, http.StatusAccepted}
	routes := []route{{path: r.collectionPath(), params: r.collectionParams(), ops: []operation{list, create}}}
	if r.Namespaced {
		all := list
		all.id = "list" + r.ident + r.Kind + "ForAllNamespaces"
		routes = append([]route{{
			path:   apiPrefix(r.GroupVersion()) + "/" + r.Resource.Resource,
			params: []param{prettyParam},
			ops:    []operation{all},
		}}, routes...)
	}
	return routes
}

// itemRoute: read, replace, patch and delete one object.
func (r *resourceInfo) itemRoute() route {
	read := r.op("get", "read", "get", "", "read the specified "+r.Kind)
	replace := r.writeOp("put", "replace", "put", "", "replace the specified "+r.Kind, updateParams)
	patch := r.patchOp("", "partially update the specified "+r.Kind)
	del := r.op("delete", "delete", "delete", "", "delete "+article(r.Kind)+" "+r.Kind)
	del.params, del.body, del.bodyTypes = deleteParams, deleteOptionsType, anyType
	del.response, del.codes = statusType, []int{http.StatusOK, http.StatusAccepted}
	return route{path: r.itemPath(), params: r.itemParams(), ops: []operation{read, replace, patch, del}}
}

// op is an operation on the resource's own kind, answering with an object
// of that kind; sub names a subresource in the operation id.
func (r *resourceInfo) op(method, verb, action, sub, description string) operation {
	return operation{
		method:      method,
		id:          verb + r.ident + r.scope + r.Kind + upperFirst(sub),
		description: description,
		tag:         r.tag,
		action:      action,
		gvk:         r.GVK(),
		response:    r.kindType,
		produces:    objectTypes,
		codes:       []int{http.StatusOK},
	}
}

// writeOp is a create or update taking the object as its body.
func (r *resourceInfo) writeOp(method, verb, action, sub, description string, params []param) operation {
	o := r.op(method, verb, action, sub, description)
	o.params, o.body, o.bodyTypes = params, r.kindType, anyType
	o.codes = []int{http.StatusOK, http.StatusCreated}
	return o
}

func (r *resourceInfo) patchOp(sub, description string) operation {
	o := r.op("patch", "patch", "patch", sub, description)
	o.params, o.body, o.bodyTypes = patchParams, patchType, patchTypes
	o.codes = []int{http.StatusOK, http.StatusCreated}
	return o
}

// withKind makes o about another kind than the resource's, as subresources
// such as scale and eviction are.
func withKind(o operation, gvk schema.GroupVersionKind, t reflect.Type) operation {
	o.gvk, o.response = gvk, t
	if o.body != nil && o.body != patchType {
		o.body = t
	}
	return o
}

// subresources knows the operations of each subresource the resource
// table may list.
var subresources = map[string]func(*resourceInfo) []operation{
	"status": func(r *resourceInfo) []operation {
		return []operation{
			r.op("get", "read", "get", "status", "read status of the specified "+r.Kind),
			r.writeOp("put", "replace", "put", "status", "replace status of the specified "+r.Kind, updateParams),
			r.patchOp("status", "partially update status of the specified "+r.Kind),
		}
	},
	"approval": func(r *resourceInfo) []operation {
		return []operation{
			r.op("get", "read", "get", "approval", "read approval of the specified "+r.Kind),
			r.writeOp("put", "replace", "put", "approval", "replace approval of the specified "+r.Kind, updateParams),
			r.patchOp("approval", "partially update approval of the specified "+r.Kind),
		}
	},
	"finalize": func(r *resourceInfo) []operation {
		return []operation{r.writeOp("put", "replace", "put", "finalize", "replace finalize of the specified "+r.Kind, updateParams)}
	},
	"scale": func(r *resourceInfo) []operation {
		gvk := autoscalingv1.SchemeGroupVersion.WithKind("Scale")
		t := reflect.TypeOf(autoscalingv1.Scale{})
		return []operation{
			withKind(r.op("get", "read", "get", "scale", "read scale of the specified "+r.Kind), gvk, t),
			withKind(r.writeOp("put", "replace", "put", "scale", "replace scale of the specified "+r.Kind, updateParams), gvk, t),
			withKind(r.patchOp("scale", "partially update scale of the specified "+r.Kind), gvk, t),
		}
	},
	"binding": func(r *resourceInfo) []operation {
		o := r.writeOp("post", "create", "post", "binding", "create binding of "+article(r.Kind)+" "+r.Kind, createParams)
		o.codes = []int{http.StatusOK, http.StatusCreated, http.StatusAccepted}
		return []operation{withKind(o, corev1.SchemeGroupVersion.WithKind("Binding"), reflect.TypeOf(corev1.Binding{}))}
	},
	"eviction": func(r *resourceInfo) []operation {
		o := r.writeOp("post", "create", "post", "eviction", "create eviction of "+article(r.Kind)+" "+r.Kind, createParams)
		o.codes = []int{http.StatusOK, http.StatusCreated, http.StatusAccepted}
		return []operation{withKind(o, policyv1.SchemeGroupVersion.WithKind("Eviction"), reflect.TypeOf(policyv1.Eviction{}))}
	},
	"log": func(r *resourceInfo) []operation {
		o := r.op("get", "read", "get", "log", "read log of the specified "+r.Kind)
		o.params, o.response, o.produces = logParams, stringType, logTypes
		return []operation{o}
	},
	"exec": func(r *resourceInfo) []operation {
		return r.connectOps("exec", "PodExecOptions", execParams)
	},
	"attach": func(r *resourceInfo) []operation {
		return r.connectOps("attach", "PodAttachOptions", attachParams)
	},
	"portforward": func(r *resourceInfo) []operation {
		return r.connectOps("portforward", "PodPortForwardOptions", portForwardParams)
	},
}

// connectOps are the GET and POST upgrades of exec-like subresources.
func (r *resourceInfo) connectOps(sub, optionsKind string, params []param) []operation {
	var ops []operation
	for _, method := range []string{"get", "post"} {
		o := r.op(method, "connect", "connect", sub, "connect "+strings.ToUpper(method)+" requests to "+sub+" of "+r.Kind)
		o.id = "connect" + r.ident + upperFirst(method) + r.scope + r.Kind + upperFirst(sub)
		o.gvk = corev1.SchemeGroupVersion.WithKind(optionsKind)
		o.params, o.response, o.produces = params, stringType, anyType
		ops = append(ops, o)
	}
	return ops
}

func article(word string) string {
	if strings.ContainsRune("AEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}
